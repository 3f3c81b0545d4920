"""Anomaly detectors: each kind, its threshold's edge, its reason, and the combined pass."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.anomalies import (
    AnomalyRules,
    Flag,
    Scan,
    detect_all,
    detect_bursts,
    detect_cadre_respondents,
    detect_duplicate_comments,
    detect_straight_lining,
    detect_too_fast,
    enabled_kinds,
    normalize_comment,
)
from analysis.facts import ResponseRow

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
RULES = AnomalyRules()


def row(
    rid: int,
    *,
    at: datetime = T0,
    seconds: float = 60.0,
    answers: int = 5,
    ratings: tuple[float, ...] = (4.0, 3.0, 5.0),
    comment: str | None = None,
    unit: int = 1,
    campaign: int = 1,
    entry: str | None = "poster",
    key: str | None = None,
) -> ResponseRow:
    return ResponseRow(
        response_id=rid, campaign_id=campaign, unit_id=unit, entry_point=entry,
        respondent_key=key or f"resident-{rid}", duration_s=round(seconds),
        completed_at=at, answers=answers, rating_count=len(ratings),
        rating_min=min(ratings, default=None), rating_max=max(ratings, default=None),
        comment=comment,
    )


def ids(flags: list[Flag]) -> list[int]:
    return [flag.response_id for flag in flags]


def test_too_fast() -> None:
    rows = [
        row(1, seconds=3, answers=5),  # 0.6 s per answer
        row(2, seconds=5, answers=5),  # exactly 1 s per answer: not under
        row(3, seconds=30, answers=5),
        row(4, seconds=0, answers=0),  # nothing answered: nothing to judge
        row(5, seconds=-2, answers=3),  # clock skew counts as no time at all
    ]
    flags = detect_too_fast(rows, RULES)
    assert ids(flags) == [1, 5]
    assert flags[0].kind == "too_fast"
    assert flags[0].reason == "completed 5 answers in 3 s (under 1 s per answer)"
    assert flags[1].reason == "completed 3 answers in 0 s (under 1 s per answer)"
    assert ids(detect_too_fast(rows, AnomalyRules(too_fast_seconds_per_answer=1.5))) == [1, 2, 5]


def test_straight_lining_needs_enough_items() -> None:
    rows = [
        row(1, ratings=(5.0, 5.0, 5.0, 5.0)),
        row(2, ratings=(5.0, 5.0, 5.0)),  # three identical ratings: a satisfied resident
        row(3, ratings=(1.0, 1.0, 1.0, 1.0, 1.0)),
        row(4, ratings=(5.0, 5.0, 4.0, 5.0)),
        row(5, ratings=()),
    ]
    flags = detect_straight_lining(rows, RULES)
    assert ids(flags) == [1, 3]
    assert flags[0].reason == "gave the same rating (5) to all 4 rating questions (flagged from 4)"
    assert ids(detect_straight_lining(rows, AnomalyRules(straight_lining_min_items=3))) == [1, 2, 3]


def test_comment_normalisation() -> None:
    assert normalize_comment("Great  service, THANK you!!! 👍") == "greatservicethankyou"
    # Full-width letters and punctuation are the same as half-width ones.
    assert normalize_comment("ＧＲＥＡＴ　ｓｅｒｖｉｃｅ！") == normalize_comment("great service!")
    assert normalize_comment("办事效率很高，态度也好！") == "办事效率很高态度也好"
    assert normalize_comment("🙂🙂🙂 !!!") == ""


def test_duplicate_comments_flag_every_copy_within_a_unit() -> None:
    rows = [
        row(1, comment="The staff were patient and helpful."),
        row(2, comment="the staff were PATIENT and helpful"),
        row(3, comment="Ｔｈｅ ｓｔａｆｆ were patient and helpful!!"),
        row(4, comment="The staff were patient and helpful.", unit=2),  # another unit
        row(5, comment="Very good!"),  # short and common: innocent
        row(6, comment="very good"),
        row(7, comment="🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂"),
        row(8, comment="🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂"),
        row(9, comment=None),
        row(10, comment=""),
    ]
    flags = detect_duplicate_comments(rows, RULES)
    assert ids(flags) == [1, 2, 3]
    assert flags[0].reason.startswith("same comment as 2 other responses in this unit")


def test_duplicate_chinese_comments() -> None:
    text = "窗口工作人员态度很好，办事效率也很高。"
    rows = [row(1, comment=text), row(2, comment=text.replace("，", ",")), row(3, comment="很好")]
    assert ids(detect_duplicate_comments(rows, RULES)) == [1, 2]
    # Short repeated Chinese praise is not flagged at the default length.
    praise = [row(4, comment="很好很好"), row(5, comment="很好很好")]
    assert detect_duplicate_comments(praise, RULES) == []


def sparse(start_id: int, count: int, every_h: float = 5.0) -> list[ResponseRow]:
    """A quietly used entry point: one completion every few hours."""
    return [row(start_id + i, at=T0 + timedelta(hours=every_h * i)) for i in range(count)]


def test_burst_through_a_quiet_entry_point() -> None:
    genuine = sparse(1, 40)
    stuffed = [
        row(1000 + i, at=T0 + timedelta(days=3, minutes=10 * i / 29)) for i in range(30)
    ]
    flags = detect_bursts(genuine + stuffed, RULES)
    assert set(ids(flags)) == {1000 + i for i in range(30)}
    reason = flags[0].reason
    assert reason.startswith("one of 30 completions through entry point 'poster' of campaign 1")
    assert "2026-10-08 08:00 and 08:10" in reason


def test_a_small_group_is_not_a_burst() -> None:
    rows = sparse(1, 40) + [row(1000 + i, at=T0 + timedelta(days=3, minutes=i)) for i in range(7)]
    assert detect_bursts(rows, RULES) == []
    assert len(detect_bursts(rows, AnomalyRules(burst_min_count=7))) == 7


def test_a_busy_counter_is_not_flagged_for_being_busy() -> None:
    rng = random.Random(5)
    rows: list[ResponseRow] = []
    # Ten office days, 9:00-17:00, about 6 completions per 10 minutes (Poisson).
    for day in range(10):
        t = T0.replace(hour=9) + timedelta(days=day)
        close = t.replace(hour=17)
        while True:
            t += timedelta(minutes=rng.expovariate(0.6))
            if t >= close:
                break
            rows.append(row(len(rows) + 1, at=t, entry="counter"))
    assert len(rows) > 2500
    assert detect_bursts(rows, RULES) == []
    # But 40 extra completions in ten minutes at that counter stand out.
    burst_at = T0.replace(hour=12) + timedelta(days=4)
    stuffed = [row(10_000 + i, at=burst_at + timedelta(seconds=15 * i), entry="counter")
               for i in range(40)]
    flagged = set(ids(detect_bursts(rows + stuffed, RULES)))
    assert {r.response_id for r in stuffed} <= flagged
    assert len(flagged) < 60  # the genuine ones caught up in the same ten minutes


def test_bursts_are_per_entry_point_and_campaign() -> None:
    # 12 completions in 5 minutes, but spread over four entry points and two campaigns.
    rows = [
        row(i, at=T0 + timedelta(seconds=25 * i), entry=f"ep{i % 2}", campaign=1 + i % 4 // 2)
        for i in range(12)
    ]
    assert detect_bursts(rows, RULES) == []
    # Without an entry point (direct invitations after a broadcast) nothing is checked.
    rows = [row(i, at=T0 + timedelta(seconds=10 * i), entry=None) for i in range(50)]
    assert detect_bursts(rows, RULES) == []


def test_burst_through_an_entry_point_used_by_nobody_else() -> None:
    rows = [row(i, at=T0 + timedelta(minutes=i), entry="fresh-qr") for i in range(8)]
    assert len(detect_bursts(rows, RULES)) == 8


def test_cadre_respondents() -> None:
    rows = [row(1, key="cadre-a"), row(2, key="cadre-a", unit=2), row(3, key="resident")]
    flags = detect_cadre_respondents(rows, {1: {"cadre-a"}})
    assert ids(flags) == [1]
    assert flags[0].reason == "answered by a cadre of the unit being rated"


def test_detect_all_one_pass_over_a_generator() -> None:
    def rows() -> Iterator[ResponseRow]:
        yield row(1, seconds=2, answers=4, ratings=(5.0, 5.0, 5.0, 5.0), key="cadre")
        yield row(2, comment="Waited two hours at the window")
        yield row(3, comment="waited two hours at the window!")
        yield row(4)
        yield from (row(100 + i, at=T0 + timedelta(days=1, seconds=30 * i)) for i in range(9))

    flags = detect_all(rows(), RULES, {1: {"cadre"}})
    kinds = [(flag.response_id, flag.kind) for flag in flags]
    assert kinds[:5] == [
        (1, "too_fast"), (1, "straight_lining"), (1, "cadre_respondent"),
        (2, "duplicate_comment"), (3, "duplicate_comment"),
    ]
    assert [k for k in kinds[5:] if k[1] != "entry_burst"] == []
    assert {rid for rid, _ in kinds[5:]} == set(range(100, 109))
    assert len(kinds) == len(set(kinds))
    quiet = detect_all(rows(), AnomalyRules(flag_cadre_respondents=False), {1: {"cadre"}})
    assert "cadre_respondent" not in {flag.kind for flag in quiet}
    assert detect_all([], RULES) == []


def test_rules_are_checked() -> None:
    with pytest.raises(ValueError, match="burst_window_minutes"):
        AnomalyRules(burst_window_minutes=0)
    with pytest.raises(ValueError, match="straight_lining_min_items"):
        AnomalyRules(straight_lining_min_items=1)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 30 * 86400), max_size=60), st.integers(2, 12))
def test_a_flagged_burst_always_has_enough(times: list[float], min_count: int) -> None:
    rules = AnomalyRules(burst_min_count=min_count)
    rows = [row(i, at=T0 + timedelta(seconds=t)) for i, t in enumerate(times)]
    flagged = set(ids(detect_bursts(rows, rules)))
    ordered = sorted(times)
    window = rules.burst_window_minutes * 60
    # A flagged completion always lies in some window holding at least min_count.
    for i, t in enumerate(times):
        if i in flagged:
            assert any(
                sum(1 for u in ordered if s <= u <= s + window) >= min_count
                for s in ordered if s <= t <= s + window
            )


def test_awkward_comments() -> None:
    long = "排队太久了 the queue was far too long " * 310  # over 10,000 characters
    mixed = "服务很好 but the forms were confusing!!"
    rows = [
        row(1, comment=long), row(2, comment=long.upper()),
        row(3, comment=mixed), row(4, comment="服务很好，but the forms were CONFUSING"),
        row(5, comment="😀" * 15), row(6, comment="😀" * 15),
        row(7, comment="   "), row(8, comment="   "),
    ]
    assert len(long) > 10_000
    assert ids(detect_duplicate_comments(rows, RULES)) == [1, 2, 3, 4]


def test_scan_fed_in_chunks_matches_one_pass() -> None:
    rng = random.Random(7)
    rows = [row(i, at=T0 + timedelta(seconds=rng.randrange(3600)), seconds=rng.choice((2, 60)),
                ratings=rng.choice(((5.0,) * 4, (4.0, 3.0, 5.0, 2.0))),
                comment=rng.choice((None, "The queue was far too long today")),
                entry=rng.choice((None, "poster", "window")))
            for i in range(1, 400)]
    rows.sort(key=lambda r: (r.campaign_id, r.entry_point or "", r.completed_at))
    scan = Scan(RULES, enabled_kinds(RULES))
    for start in range(0, len(rows), 37):
        scan.feed(rows[start:start + 37])
    assert scan.flags() == detect_all(rows, RULES)
    assert {f.kind for f in scan.flags()} >= {"too_fast", "straight_lining", "duplicate_comment"}
