"""Survey YAML loading: messages name the file and the question, and say what is wrong."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from surveys.questionnaire.loader import (
    MAX_FILE_BYTES,
    SurveyError,
    SurveyIssue,
    canonical_json,
    load_survey,
    load_template,
    parse_survey,
    survey_checksum,
    template_names,
    template_path,
    validate_paths,
)

GOOD = textwrap.dedent(
    """\
    id: street-lights
    title: {en: Street lights, zh: 路灯}
    intro: {en: Tell us about the street lights., zh: 请评价路灯情况。}
    audience: residents
    questions:
      - id: q1
        type: rating
        text: {en: "Are the street lights working?", zh: 路灯好用吗？}
      - id: q2
        type: single
        show_if: {question: q1, lte: 2}
        text: {en: "What is wrong?", zh: 有什么问题？}
        options:
          - {value: dark, label: {en: Too dark, zh: 太暗}}
          - {value: broken, label: {en: Broken, zh: 坏了}}
      - id: q3
        type: text
        required: false
        text: {en: "Anything else?", zh: 还有别的吗？}
    """
)


def issues_of(text: str, source: str = "lights.yaml") -> list[SurveyIssue]:
    with pytest.raises(SurveyError) as info:
        parse_survey(text, source)
    return info.value.issues


def one_issue(text: str, source: str = "lights.yaml") -> SurveyIssue:
    issues = issues_of(text, source)
    assert len(issues) == 1, issues
    return issues[0]


def test_a_valid_file_parses() -> None:
    survey = parse_survey(GOOD)
    assert survey.id == "street-lights"
    assert [q.id for q in survey.questions] == ["q1", "q2", "q3"]
    assert survey.questions[2].max_length == 500


def test_issue_formatting() -> None:
    assert str(SurveyIssue("a.yaml", "q3", "bad")) == "a.yaml: question q3: bad"
    assert str(SurveyIssue("a.yaml", "#4", "bad")) == "a.yaml: question #4: bad"
    assert str(SurveyIssue("a.yaml", None, "bad")) == "a.yaml: bad"
    error = SurveyError([SurveyIssue("a.yaml", None, "x"), SurveyIssue("a.yaml", "q1", "y")])
    assert str(error) == "a.yaml: x\na.yaml: question q1: y"


def test_malformed_yaml_reports_line_and_column() -> None:
    issue = one_issue("id: x\ntitle: [unclosed\nintro: y\n")
    assert issue.question_id is None
    assert re.search(r"invalid YAML at line \d+, column \d+", issue.reason)
    assert str(issue).startswith("lights.yaml: invalid YAML at line")


def test_tabs_are_a_yaml_error_with_position() -> None:
    issue = one_issue("id: x\n\ttitle: y\n")
    assert "line 2, column 1" in issue.reason


def test_duplicate_keys_are_rejected() -> None:
    text = GOOD.replace("    type: rating\n", "    type: rating\n    type: nps\n")
    issue = one_issue(text)
    assert "duplicate key 'type'" in issue.reason
    assert "line 8" in issue.reason and "first defined on line 7" in issue.reason


def test_duplicate_top_level_keys_are_rejected() -> None:
    assert "duplicate key 'id'" in one_issue("id: a\nid: b\n").reason


def test_merge_keys_are_not_duplicates() -> None:
    text = GOOD.replace(
        "title: {en: Street lights, zh: 路灯}",
        "title: &t {en: Street lights, zh: 路灯}\nintro_base: &i {<<: *t, en: Override}",
    )
    # The merge itself is fine; the extra top-level key is what gets reported.
    assert one_issue(text).reason == "unknown key 'intro_base' (did you mean 'intro'?)"


def test_unknown_top_level_key_suggests_the_right_one() -> None:
    issue = one_issue(GOOD.replace("title:", "titel:"))
    assert issue.question_id is None
    assert "unknown key 'titel' (did you mean 'title'?)" in str(issue)
    assert str(issue).startswith("lights.yaml: ")


def test_unknown_question_key_names_the_question() -> None:
    issue = one_issue(GOOD.replace("    options:", "    optons:"))
    assert str(issue) == "lights.yaml: question q2: unknown key 'optons' (did you mean 'options'?)"


def test_unknown_key_inside_show_if() -> None:
    issue = one_issue(GOOD.replace("{question: q1, lte: 2}", "{question: q1, lt: 2}"))
    assert issue.question_id == "q2"
    assert issue.reason.startswith("show_if: unknown key 'lt'")


def test_unknown_key_inside_a_label() -> None:
    issue = one_issue(GOOD.replace("{en: Too dark, zh: 太暗}", "{en: Too dark, zh: 太暗, fr: x}"))
    assert issue.question_id == "q2"
    assert issue.reason == "options #1.label: unknown key 'fr'"


def test_too_few_options() -> None:
    text = GOOD.replace("      - {value: broken, label: {en: Broken, zh: 坏了}}\n", "")
    issue = one_issue(text)
    assert str(issue) == "lights.yaml: question q2: options: at least 2 required"


def test_missing_keys() -> None:
    text = GOOD.replace('    text: {en: "Anything else?", zh: 还有别的吗？}\n', "")
    assert str(one_issue(text)) == "lights.yaml: question q3: missing key 'text'"
    assert one_issue(GOOD.replace("{en: Too dark, zh: 太暗}", "{en: Too dark}")).reason == (
        "options #1.label: missing key 'zh'"
    )


def test_question_without_an_id_is_named_by_position() -> None:
    text = GOOD.replace("  - id: q3\n    type: text", "  - type: text")
    issue = one_issue(text)
    assert str(issue) == "lights.yaml: question #3: missing key 'id'"


def test_bad_show_if_reference() -> None:
    text = GOOD.replace("{question: q1, lte: 2}", "{question: q9, lte: 2}")
    issue = one_issue(text)
    assert str(issue) == (
        "lights.yaml: question q2: show_if refers to 'q9', which is not an earlier question"
    )


def test_show_if_operator_that_does_not_fit() -> None:
    text = GOOD.replace("{question: q1, lte: 2}", "{question: q1, contains: dark}")
    issue = one_issue(text)
    assert issue.question_id == "q2"
    assert "operator 'contains' does not fit question 'q1' (rating)" in issue.reason


def test_show_if_with_two_operators() -> None:
    issue = one_issue(GOOD.replace("{question: q1, lte: 2}", "{question: q1, lte: 2, gte: 1}"))
    assert issue.question_id == "q2"
    assert "exactly one of" in issue.reason and "found: gte, lte" in issue.reason


def test_show_if_value_of_the_wrong_kind() -> None:
    issue = one_issue(GOOD.replace("{question: q1, lte: 2}", "{question: q1, equals: [1, 2]}"))
    assert issue.question_id == "q2"
    assert issue.reason.startswith("show_if.equals: [1, 2] is not allowed here")


def test_too_many_questions_for_residents() -> None:
    extra = "".join(
        f"  - {{id: x{i}, type: yesno, text: {{en: Q{i}, zh: 问题{i}}}}}\n" for i in range(4)
    )
    issue = one_issue(GOOD + extra)
    assert str(issue) == (
        "lights.yaml: a resident survey may have at most 6 questions (this one has 7)"
    )


def test_too_many_questions_for_anyone() -> None:
    extra = "".join(
        f"  - {{id: x{i}, type: yesno, text: {{en: Q{i}, zh: 问题{i}}}}}\n" for i in range(18)
    )
    issue = one_issue(GOOD.replace("audience: residents", "audience: cadres") + extra)
    assert issue.reason == "questions: at most 20 allowed (found 21)"


def test_several_problems_are_reported_together() -> None:
    text = (
        GOOD.replace("titel", "title")
        .replace("audience: residents", "audience: everyone")
        .replace("    type: rating", "    type: stars")
        .replace("  - id: q3\n", "  - id: Q3\n")
    )
    reasons = [str(i) for i in issues_of(text)]
    assert any("audience: 'everyone' is not one of 'residents' or 'cadres'" in r for r in reasons)
    assert any("question q1: type: 'stars' is not one of" in r for r in reasons)
    assert any("question Q3: id: 'Q3' is not a valid id" in r for r in reasons)


def test_yes_no_as_option_values_get_a_quoting_hint() -> None:
    text = GOOD.replace("value: dark", "value: yes")
    issue = one_issue(text)
    assert issue.question_id == "q2"
    assert issue.reason.startswith("options #1.value: must be text, got True")
    assert "put it in quotes" in issue.reason


def test_text_instead_of_translations() -> None:
    issue = one_issue(GOOD.replace('{en: "Anything else?", zh: 还有别的吗？}', "Anything else"))
    assert issue.reason == "text: must be a mapping with 'en' and 'zh' texts, got 'Anything else'"


def test_invalid_option_value_explains_the_pattern() -> None:
    issue = one_issue(GOOD.replace("value: dark", "value: Too Dark"))
    assert "options #1.value: 'Too Dark' is not a valid value (use lowercase" in issue.reason


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "file is empty"),
        ("# only a comment\n", "file is empty"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("just text\n", "top level must be a mapping"),
        ("1: x\n", "unknown key 1"),
    ],
)
def test_not_a_mapping(text: str, fragment: str) -> None:
    assert fragment in one_issue(text).reason


def test_size_limit(tmp_path: Path) -> None:
    big = GOOD + "#" + "x" * MAX_FILE_BYTES + "\n"
    assert one_issue(big).reason == "file is larger than 256 KB"
    path = tmp_path / "big.yaml"
    path.write_text(big, encoding="utf-8")
    with pytest.raises(SurveyError) as info:
        load_survey(path)
    assert str(info.value) == f"{path}: file is larger than 256 KB"


def test_load_survey_from_files(tmp_path: Path) -> None:
    path = tmp_path / "lights.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_survey(path) == parse_survey(GOOD)
    assert load_survey(str(path)) == parse_survey(GOOD)
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    assert load_survey(bom).id == "street-lights"


def test_load_survey_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SurveyError) as info:
        load_survey(tmp_path / "missing.yaml")
    assert "no such file" in str(info.value)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("id: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SurveyError) as info:
        load_survey(latin)
    assert "not UTF-8 text" in str(info.value)


def test_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace("options:", "optons:"), encoding="utf-8")
    with pytest.raises(SurveyError) as info:
        load_survey(path)
    assert str(info.value).startswith(f"{path}: question q2: unknown key 'optons'")


def test_validate_paths(tmp_path: Path) -> None:
    folder = tmp_path / "surveys"
    folder.mkdir()
    (folder / "good.yaml").write_text(GOOD, encoding="utf-8")
    (folder / "also_good.yml").write_text(GOOD, encoding="utf-8")
    (folder / "bad.yaml").write_text(GOOD.replace("title:", "titel:"), encoding="utf-8")
    (folder / "notes.txt").write_text("not a survey", encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    single = tmp_path / "single.yaml"
    single.write_text(GOOD, encoding="utf-8")

    assert validate_paths([single]) == []
    issues = validate_paths([folder, str(tmp_path / "missing.yaml"), empty, single])
    assert [str(i) for i in issues] == [
        f"{folder / 'bad.yaml'}: unknown key 'titel' (did you mean 'title'?)",
        f"{tmp_path / 'missing.yaml'}: no such file or directory",
        f"{empty}: no *.yaml or *.yml files found",
    ]


def test_validate_paths_accepts_the_shipped_templates() -> None:
    assert validate_paths([template_path("resident_satisfaction").parent]) == []


def test_checksum_identifies_content_not_formatting() -> None:
    survey = parse_survey(GOOD)
    checksum = survey_checksum(survey)
    assert re.fullmatch(r"[0-9a-f]{64}", checksum)
    reordered = GOOD.replace(
        "id: street-lights\ntitle: {en: Street lights, zh: 路灯}\n",
        "title:\n  zh: 路灯\n  en: Street lights   # comment\nid: street-lights\n",
    )
    assert survey_checksum(parse_survey(reordered)) == checksum
    # Writing a default explicitly is the same definition.
    explicit = GOOD.replace("    required: false\n", "    required: false\n"
                                                      "    max_length: 500\n")
    assert survey_checksum(parse_survey(explicit)) == checksum
    changed = GOOD.replace("Too dark", "Too dim")
    assert survey_checksum(parse_survey(changed)) != checksum


def test_canonical_json_uses_yaml_key_names() -> None:
    survey = parse_survey(GOOD.replace("{question: q1, lte: 2}", "{question: q1, in: [1, 2]}"))
    text = canonical_json(survey)
    assert '"in":[1,2]' in text and '"in_"' not in text
    assert "路灯" in text  # not escaped, so the stored form stays readable


def test_templates() -> None:
    assert template_names() == ["cadre_self_assessment", "public_facilities",
                                "resident_satisfaction"]
    assert template_path("resident_satisfaction.yaml") == template_path("resident_satisfaction")
    assert load_template("cadre_self_assessment").audience == "cadres"


@pytest.mark.parametrize("name", ["nope", "../loader", "/etc/passwd", "", "Resident"])
def test_unknown_templates(name: str) -> None:
    with pytest.raises(FileNotFoundError, match="available: cadre_self_assessment"):
        template_path(name)


def alias_bomb(levels: int = 9) -> str:
    """A "billion laughs" document: a few hundred bytes that expand to 9**levels strings."""
    lines = ['l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text", [alias_bomb(), "title: &t [*t]\n"])
def test_yaml_alias_bombs_and_cycles_are_refused(text: str) -> None:
    assert one_issue(text).reason == "too much data once YAML aliases (*name) are expanded"


def test_long_values_are_shortened_in_messages() -> None:
    text = GOOD.replace("{en: Street lights, zh: 路灯}", "{en: [1, 2, 3, 4, 5, 6], zh: x}")
    issue = one_issue(text)
    assert issue.reason == "title.en: must be text, got [1, 2, 3, 4, ...]"
