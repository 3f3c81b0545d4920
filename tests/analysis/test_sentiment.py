"""The sentiment façade (analysis.sentiment) and the English analyser (analysis.sentiment_en)."""

from __future__ import annotations

import gzip
import io
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis import sentiment, sentiment_en
from analysis.sentiment import (
    ANALYSER_VERSION,
    Sentiment,
    contradicts,
    label_for,
    run_cli,
    score,
    score_batch,
)


def test_empty_and_whitespace_are_neutral_und() -> None:
    for text in ("", " ", "   \t  ", "\n", "\u200b\u200f\u202e", "\x00\x07"):
        assert score(text) == Sentiment("und", 0.0, "neutral"), repr(text)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Waited three hours and nobody helped", "negative"),
        ("Staff were kind and solved my problem quickly", "positive"),
        ("I came to renew my ID card", "neutral"),
        ("The clerk was rude and sent me from one office to another", "negative"),
        ("Very helpful and polite staff, thank you!", "positive"),
        ("Still no answer after two weeks on hold", "negative"),
        ("The office opens at nine on Mondays", "neutral"),
        ("The road was fixed promptly, great job", "positive"),
        ("Could be better", "negative"),
        ("They gave me the runaround", "negative"),
        # a suggestion, an awaited fix, the runaround in visits, no response, a response
        ("It would be good to have longer opening hours", "neutral"),
        ("When will the streetlight be fixed?", "negative"),
        ("I had to come back three times", "negative"),
        ("Still waiting for a reply", "negative"),
        ("Staff were on their phones the whole time", "negative"),
        ("The bus is always late", "negative"),
        ("The new online booking saves a lot of time", "positive"),
        ("The lunch at the community canteen is tasty and cheap", "positive"),
        ("I was sent to three different desks", "negative"),
        ("Bins were not collected again this week", "negative"),
        ("The helpline hung up on me", "negative"),
    ],
)
def test_clear_english_examples(text: str, label: str) -> None:
    result = score(text)
    assert result.language == "en"
    assert result.label == label, result


@pytest.mark.parametrize("text", [
    "Is the office open on Saturday?", "Where do I report a broken streetlight?",
    "How do I apply for a disabled parking badge?", "Could you add more benches in the park?",
])
def test_an_inquiry_is_neutral_whatever_its_topic_words(text: str) -> None:
    assert score(text) == Sentiment("en", 0.0, "neutral")


@pytest.mark.parametrize("text", [
    "How can you be so rude?", "Why is nobody answering?",
    "When will the streetlight be fixed?", "How pathetic is it that the lift is broken again?",
    "Is the office open? The queue was awful.",
])
def test_a_question_that_reproaches_is_no_inquiry(text: str) -> None:
    assert score(text).label == "negative"


def test_emoji_only() -> None:
    angry = score("😡😡😡")
    assert angry.label == "negative"
    assert angry.language == "und"
    assert score("👍").label == "positive"
    assert score(":(").label == "negative"
    assert score("🙂🙂").label == "positive"
    # Emoji it knows nothing about, digits, punctuation: neutral, no crash.
    assert score("🏢 12/3 ...").label == "neutral"


def test_emoji_with_text() -> None:
    assert score("The queue again 😡").label == "negative"
    assert score("Thank you 👍").label == "positive"


def test_chinese_goes_to_the_chinese_analyser() -> None:
    good = score("办事效率很高，工作人员很热情")
    assert (good.language, good.label) == ("zh", "positive")
    bad = score("APP很难用")  # a Latin brand name inside a Chinese complaint
    assert (bad.language, bad.label) == ("zh", "negative")


def test_mixed_english_and_chinese() -> None:
    # Majority English, with a Chinese place name that carries (almost) no sentiment.
    plain = score("The staff were rude and unhelpful")
    mixed = score("The staff at the 办事大厅 were rude and unhelpful")
    assert mixed.language == "en"
    assert mixed.label == "negative"
    # The place name weighs little: the comment stays clearly negative (as the façade means it
    # for contradictions), as it is without the name.
    assert mixed.polarity <= -sentiment.CONTRADICTION_POLARITY
    assert plain.polarity <= -sentiment.CONTRADICTION_POLARITY
    # Both halves carry sentiment in the same direction.
    both = score("服务态度很差 and the staff were rude")
    assert both.label == "negative"
    assert score("工作人员很热情 very helpful staff").label == "positive"
    # Opposite halves pull towards each other: between the two parts' polarities.
    zh_part = score("服务很好").polarity
    en_part = score("but we waited three hours in the queue").polarity
    mixed_both = score("服务很好 but we waited three hours in the queue").polarity
    assert min(zh_part, en_part) <= mixed_both <= max(zh_part, en_part)


@pytest.mark.parametrize(
    "text",
    ["无", "没有", "没有意见", "暂无", "无意见。", "没什么要说的", "暂时没有建议", "沒有意見",
     "n/a", "N/A", "None", "Nothing to add", "nothing to add, thanks!", "No comment",
     "No further comments."],
)
def test_nothing_to_say_is_neutral(text: str) -> None:
    assert sentiment.says_nothing(text)
    result = score(text)
    assert (result.polarity, result.label) == (0.0, "neutral")
    assert result.language in ("en", "zh", "und")


def test_saying_there_is_no_problem_is_not_nothing() -> None:
    for text in ("没有问题", "没有排队", "no complaints", "Nothing works", "无法办理，太麻烦"):
        assert not sentiment.says_nothing(text), text
    assert score("无法办理，太麻烦").label == "negative"


def test_chinese_public_service_sentences() -> None:
    # Hand-written short feedback (late delivery, rude staff, queues, cold food, "无"),
    # fitted on nothing: three classes through the façade.
    path = sentiment_en.MODEL_PATH.parent / "sentiment_zh_public_service.tsv"
    rows = [line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    assert len(rows) >= 75
    labels = [s.label for s in score_batch([text for _label, text in rows])]
    errors = [(g, p, t) for (g, t), p in zip(rows, labels, strict=True) if g != p]
    assert len(errors) <= 2, errors


def test_other_languages_are_neutral_und() -> None:
    # German "die" is a strongly negative word to VADER: never score foreign text as English.
    result = score("Die Mitarbeiter waren sehr freundlich und die Wartezeit war kurz")
    assert result == Sentiment("und", 0.0, "neutral")
    assert score("Очень плохое обслуживание").label == "neutral"


def test_long_text_is_fast() -> None:
    text = ("The clerk was rude and the queue was long. " * 300)[:10_000]
    start = time.perf_counter()
    result = score(text)
    assert time.perf_counter() - start < 2.0
    assert result.label == "negative"
    for odd in ("a" * 10_000, "good" * 2_500, "好" * 10_000, "!" * 10_000, "😡" * 10_000):
        start = time.perf_counter()
        assert -1.0 <= score(odd).polarity <= 1.0
        assert time.perf_counter() - start < 3.0, odd[:10]


def test_html_entities() -> None:
    assert score("Great service &amp; friendly staff").label == "positive"
    assert score("&#128545;&#128545;").label == "negative"
    assert score("&lt;b&gt;terrible&lt;/b&gt; queue").label == "negative"


def test_odd_unicode() -> None:
    # Zero-width space inside a word, direction marks and controls around it.
    assert score("go\u200bod service").label == "positive"
    assert score("\u202bthe staff were very helpful\u202c").label == "positive"
    assert score("\x07the clerk was rude\x00").label == "negative"
    assert score("\ud800 great staff").label == "positive"  # a lone surrogate
    assert score("\ufeffexcellent").label == "positive"  # a byte order mark


def test_batch_matches_single_and_keeps_order() -> None:
    texts = ["", "Great help", "办事效率很高", "Rude staff", "😡", "Bonjour", "ok"]
    assert score_batch(texts) == [score(t) for t in texts]
    assert score_batch([]) == []


def test_polarity_range_and_labels_agree() -> None:
    for text in ("great", "awful", "meh", "not bad at all", "不满意", "ok 👍"):
        s = score(text)
        assert -1.0 <= s.polarity <= 1.0
        assert s.label == label_for(s.polarity)


def test_label_threshold() -> None:
    assert label_for(0.05) == "neutral"
    assert label_for(0.0501) == "positive"
    assert label_for(-0.05) == "neutral"
    assert label_for(-0.0501) == "negative"
    assert sentiment.LABEL_THRESHOLD == sentiment_en.MARGIN


def test_calibrate_is_monotonic_and_maps_the_band() -> None:
    lower, upper = sentiment_en.LOWER, sentiment_en.UPPER
    points = [i / 1000 for i in range(-1000, 1001)]
    values = [sentiment_en.calibrate(p) for p in points]
    assert values == sorted(values)
    assert sentiment_en.calibrate(-1.0) == -1.0
    assert sentiment_en.calibrate(1.0) == 1.0
    assert sentiment_en.calibrate(0.0) == 0.0
    assert label_for(sentiment_en.calibrate(lower - 0.001)) == "negative"
    assert label_for(sentiment_en.calibrate(upper + 0.001)) == "positive"
    assert label_for(sentiment_en.calibrate((lower + upper) / 2)) == "neutral"


def test_chunks_cover_the_text() -> None:
    text = "One sentence here. " * 100 + "x" * 1000
    pieces = sentiment_en.chunks(text, size=120)
    assert all(len(p) <= 120 for p in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
    assert sentiment_en.chunks("short") == ["short"]
    assert sentiment_en.chunks("") == []


def test_components_of_a_short_text_are_textblob_and_vader() -> None:
    from textblob import TextBlob
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    text = "The movie was surprisingly good, but the ending was awful!"
    textblob, vader = sentiment.english_analyser().components(text)
    assert textblob == pytest.approx(TextBlob(text).sentiment.polarity)
    assert vader == pytest.approx(SentimentIntensityAnalyzer().polarity_scores(text)["compound"],
                                  abs=1e-4)


def test_contradicts() -> None:
    angry = score("Terrible, rude staff and a useless office. Never again!")
    glowing = score("Wonderful, friendly staff, excellent service!")
    mild = Sentiment("en", -0.1, "negative")
    assert angry.label == "negative" and glowing.label == "positive"
    assert contradicts(100, angry)
    assert contradicts(75, angry)
    assert contradicts(0, glowing)
    assert contradicts(25, glowing)
    assert not contradicts(100, glowing)
    assert not contradicts(0, angry)
    assert not contradicts(50, angry)
    assert not contradicts(50, glowing)
    assert not contradicts(None, angry)
    assert not contradicts(100, mild)  # "good, but the queue was long" on four stars
    assert not contradicts(100, Sentiment("und", 0.0, "neutral"))


def test_run_cli_streams_json_lines() -> None:
    lines = ["Great help, thank you", "", "办事效率很高", "Rude staff 😡", "   ", "ok"]
    stdin = io.StringIO("\n".join(lines) + "\n")
    stdout = io.StringIO()
    assert run_cli(stdin, stdout, batch_size=2) == 0
    out = stdout.getvalue().splitlines()
    assert len(out) == len(lines)
    records = [json.loads(line) for line in out]
    assert all(set(r) == {"language", "polarity", "label"} for r in records)
    assert records[1] == {"language": "und", "polarity": 0.0, "label": "neutral"}
    assert records[0]["label"] == "positive"
    assert records[2]["language"] == "zh"
    assert records[3]["label"] == "negative"
    expected = score_batch(lines)
    for record, s in zip(records, expected, strict=True):
        assert record["polarity"] == round(s.polarity, 4)
        assert record["language"] == s.language and record["label"] == s.label


def test_run_cli_line_ends() -> None:
    # CRLF line ends, no final newline, a blank last line kept as a text of its own.
    stdout = io.StringIO()
    assert run_cli(io.StringIO("good\r\nbad\r\n\nawful"), stdout) == 0
    labels = [json.loads(line)["label"] for line in stdout.getvalue().splitlines()]
    assert labels == ["positive", "negative", "neutral", "negative"]
    stdout = io.StringIO()
    assert run_cli(io.StringIO(""), stdout) == 0
    assert stdout.getvalue() == ""


def test_run_cli_output_is_not_ascii_escaped() -> None:
    stdout = io.StringIO()
    run_cli(io.StringIO("好\n"), stdout)
    assert "\\u" not in stdout.getvalue()


def test_version_names_both_analysers() -> None:
    assert sentiment_en.VERSION in ANALYSER_VERSION
    assert sentiment.chinese_analyser().version in ANALYSER_VERSION
    assert sentiment.english_analyser() is sentiment.english_analyser()


def test_import_is_light() -> None:
    code = ("import sys, analysis.sentiment; "
            "print(sorted(m for m in ('textblob', 'nltk', 'vaderSentiment', 'rjieba', 'lingua') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_model_file_loads_and_the_version_follows_the_weights(tmp_path: Path) -> None:
    model = sentiment_en.EnglishModel.load()
    assert len(model.weights) == len(sentiment_en.MODEL_FEATURES)
    assert sentiment_en.MODEL_PATH.stat().st_size < 1_000_000
    assert sentiment.english_analyser().model.intercept == model.intercept
    # The version covers the model file's digest: same bytes, same version; changed weights,
    # another version (so stored scores are recomputed).
    same = tmp_path / "same.json.gz"
    same.write_bytes(sentiment_en.MODEL_PATH.read_bytes())
    assert sentiment_en.version_for(same) == sentiment_en.VERSION
    raw = model.to_dict()
    raw["intercept"] += 0.001
    changed = tmp_path / "changed.json.gz"
    with gzip.open(changed, "wt", encoding="utf-8") as f:
        json.dump(raw, f)
    assert sentiment_en.version_for(changed) != sentiment_en.VERSION
    assert sentiment_en.EnglishModel.load(changed).intercept != model.intercept
    again = sentiment_en.EnglishModel.from_dict(model.to_dict())
    assert again.weights == model.weights


def test_model_rejects_other_features() -> None:
    raw = sentiment_en.EnglishModel.load().to_dict()
    raw["features"] = raw["features"][:-1]
    with pytest.raises(ValueError):
        sentiment_en.EnglishModel.from_dict(raw)


def test_polarity_follows_the_rating_labels() -> None:
    # The labels are defined on the human mean rating m (-4 ... +4): positive above 0.5,
    # negative below -0.5; the polarity of a predicted rating gives the same label.
    rng = random.Random(5)
    for _ in range(5000):
        rating = rng.uniform(-6.0, 6.0)
        polarity = sentiment_en.polarity_of(rating)
        assert -1.0 <= polarity <= 1.0
        expected = "positive" if rating > 0.5 else "negative" if rating < -0.5 else "neutral"
        assert label_for(polarity) == expected
    assert label_for(sentiment_en.polarity_of(0.5)) == "neutral"
    assert label_for(sentiment_en.polarity_of(0.5 + 1e-9)) == "positive"
    assert sentiment_en.polarity_of(0.0) == 0.0
    assert sentiment_en.polarity_of(4.0) == 1.0
    assert sentiment_en.polarity_of(-9.0) == -1.0
    assert sentiment_en.polarity_of(1.0) < sentiment_en.polarity_of(2.0)


def test_public_service_sentences_not_worse_than_the_lexicons_alone() -> None:
    path = sentiment_en.MODEL_PATH.parent / "sentiment_en_public_service.tsv"
    rows = [line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    assert len(rows) >= 60
    analyser = sentiment.english_analyser()
    ours = [s.label for s in score_batch([text for _label, text in rows])]
    lexicon = [label_for(analyser.lexicon_polarity(text)) for _label, text in rows]

    def macro_f1(predicted: list[str]) -> float:
        total = 0.0
        for c in ("positive", "neutral", "negative"):
            tp = sum(1 for (g, _t), p in zip(rows, predicted, strict=True) if g == c == p)
            fp = sum(1 for (g, _t), p in zip(rows, predicted, strict=True) if g != c == p)
            fn = sum(1 for (g, _t), p in zip(rows, predicted, strict=True) if g == c != p)
            total += 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        return total / 3

    # Not worse than the lexicons alone (0.001: the same number of errors, spread otherwise).
    assert macro_f1(ours) >= macro_f1(lexicon) - 0.001
    assert macro_f1(lexicon) >= 0.8


def test_scoring_needs_no_scikit_learn() -> None:
    # NLTK (under TextBlob) imports scikit-learn when it happens to be installed, as it is in
    # development; the analyser itself must work without it (and without SciPy).
    code = ("import sys; sys.modules['sklearn'] = None; sys.modules['scipy'] = None; "
            "import analysis.sentiment as s; print(s.score('great help, thank you').label)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "positive"
