"""Responses that look careless or gamed, each flagged with the reason in plain words.

Flagged responses stay in the database; they are excluded from scores and listed for
auditors. Five kinds (a response may carry several, but at most one flag of each kind):

- ``too_fast``: completed in less than ``too_fast_seconds_per_answer`` per answer, too fast
  to have read the questions.
- ``straight_lining``: the same value on every rating question, when there are at least
  ``straight_lining_min_items`` of them. With fewer items identical answers are what a
  satisfied (or angry) resident normally gives (the shipped resident survey has three
  rating questions, so it is never flagged for this): flagging them would quietly drop the
  happiest and angriest residents and pull the best and worst units toward the middle.
- ``duplicate_comment``: a comment that other responses of the same unit repeat word for
  word, after normalising (NFKC, so full- and half-width forms match; case-folded; spaces,
  punctuation, symbols and emoji removed) and only when the normalised text has at least
  ``duplicate_comment_min_chars`` characters ("very good", "很好" are common and innocent).
  Every copy is flagged, the first included: a stuffer writes the first one too, and the
  order in which copies arrived proves nothing. The reason says how many others share it.
- ``entry_burst``: one of a burst of completions through one entry point of one campaign:
  at least ``burst_min_count`` within ``burst_window_minutes``, and more than
  ``burst_factor`` times what that entry point usually produces in such a window. Its usual
  rate is its other completions (those outside the window) over the time it was in use,
  less the window; "in use" is within three windows (30 minutes) of any of its
  completions. So a service counter busy all office hours is judged against its office
  hours, not against its nights, and is not flagged for being busy; a poster scanned a few
  times a day has a usual rate well under one per window; and an entry point used by
  nobody but a stuffer has a usual rate of zero. Responses without an entry point (direct
  invitations) are not checked: a burst after a broadcast is normal. A genuine group
  (residents scanning a poster together at a meeting) looks the same as stuffing by timing
  alone; auditors see the flag and its reason.
- ``cadre_respondent``: answered by a cadre of the unit being rated.

Cost, for n rows: one pass over the rows (O(n) time; the rows themselves are not kept), then
a sort per entry point (O(k log k) for its k completions, numpy). Memory: 16 bytes per row
that has an entry point, the normalised comments of at least the minimum length, and the
flags. A million rows take a few seconds.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from analysis.facts import ResponseRow

#: The anomaly kinds, in the order flags are listed for one response.
KINDS = ("too_fast", "straight_lining", "duplicate_comment", "entry_burst", "cadre_respondent")
CADRE_RESPONDENT = "cadre_respondent"

_NOT_WORD = re.compile(r"[\W_]+")
# An entry point is "in use" within this many burst windows of any of its completions.
_IN_USE_WINDOWS = 3


@dataclass(frozen=True, slots=True)
class Flag:
    """One anomaly on one response, with a short sentence giving the figures."""

    response_id: int
    kind: str
    reason: str


@dataclass(frozen=True)
class AnomalyRules:
    """Thresholds (config.yaml ``anomalies:``); see the module docstring for each kind."""

    too_fast_seconds_per_answer: float = 1.0
    straight_lining_min_items: int = 4
    duplicate_comment_min_chars: int = 12
    burst_window_minutes: float = 10.0
    burst_min_count: int = 8
    burst_factor: float = 5.0
    flag_cadre_respondents: bool = True

    def __post_init__(self) -> None:
        if self.too_fast_seconds_per_answer < 0:
            raise ValueError("too_fast_seconds_per_answer must not be negative")
        if self.straight_lining_min_items < 2:
            raise ValueError("straight_lining_min_items must be at least 2")
        if self.duplicate_comment_min_chars < 1:
            raise ValueError("duplicate_comment_min_chars must be at least 1")
        if self.burst_window_minutes <= 0:
            raise ValueError("burst_window_minutes must be positive")
        if self.burst_min_count < 2:
            raise ValueError("burst_min_count must be at least 2")
        if self.burst_factor < 0:
            raise ValueError("burst_factor must not be negative")


def normalize_comment(text: str) -> str:
    """The form two comments are compared in: NFKC (full/half width), case-folded, with
    spaces, punctuation, symbols and emoji removed."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


def detect_too_fast(rows: Iterable[ResponseRow], rules: AnomalyRules) -> list[Flag]:
    return _scan(rows, rules, {"too_fast"}, {})


def detect_straight_lining(rows: Iterable[ResponseRow], rules: AnomalyRules) -> list[Flag]:
    return _scan(rows, rules, {"straight_lining"}, {})


def detect_duplicate_comments(rows: Iterable[ResponseRow], rules: AnomalyRules) -> list[Flag]:
    return _scan(rows, rules, {"duplicate_comment"}, {})


def detect_bursts(rows: Iterable[ResponseRow], rules: AnomalyRules) -> list[Flag]:
    return _scan(rows, rules, {"entry_burst"}, {})


def detect_cadre_respondents(
    rows: Iterable[ResponseRow], cadre_keys: Mapping[int, Set[str]]
) -> list[Flag]:
    """``cadre_keys``: unit id → respondent keys of that unit's cadres."""
    return _scan(rows, AnomalyRules(), {"cadre_respondent"}, cadre_keys)


def detect_all(
    rows: Iterable[ResponseRow],
    rules: AnomalyRules,
    cadre_keys: Mapping[int, Set[str]] | None = None,
) -> list[Flag]:
    """Every detector in one pass over ``rows`` (which may be a generator): one flag per
    response and kind, sorted by response id then kind. Cadre respondents are flagged only
    when ``rules.flag_cadre_respondents``."""
    return _scan(rows, rules, enabled_kinds(rules), cadre_keys or {})


def enabled_kinds(rules: AnomalyRules) -> set[str]:
    kinds = set(KINDS)
    if not rules.flag_cadre_respondents:
        kinds.discard("cadre_respondent")
    return kinds


class _Entry:
    """Completion times (seconds from the scan's epoch) and ids through one entry point."""

    __slots__ = ("ids", "times")

    def __init__(self) -> None:
        self.times = array("d")
        self.ids = array("q")


class Scan:
    """All detectors in one pass, fed in chunks: ``feed`` each batch of rows as it arrives,
    then ``flags()``. Rows are not kept, so a caller streaming a million responses from the
    database never holds them all."""

    def __init__(self, rules: AnomalyRules, kinds: Set[str],
                 cadre_keys: Mapping[int, Set[str]] | None = None) -> None:
        self.rules = rules
        self.cadre_keys = cadre_keys or {}
        self.fast = "too_fast" in kinds
        self.straight = "straight_lining" in kinds
        self.duplicates = "duplicate_comment" in kinds
        self.bursts = "entry_burst" in kinds
        self.cadres = "cadre_respondent" in kinds and bool(self.cadre_keys)
        self._flags: list[Flag] = []
        self._comments: dict[tuple[int, str], list[int]] = {}
        self._entries: dict[tuple[int, str], _Entry] = {}
        self._epoch: datetime | None = None

    def feed(self, rows: Iterable[ResponseRow]) -> None:
        fast, straight, duplicates, bursts, cadres = (
            self.fast, self.straight, self.duplicates, self.bursts, self.cadres)
        per_answer = self.rules.too_fast_seconds_per_answer
        min_items = self.rules.straight_lining_min_items
        min_chars = self.rules.duplicate_comment_min_chars
        flags, comments, entries = self._flags, self._comments, self._entries
        for row in rows:
            rid = row.response_id
            if fast and row.answers > 0 and row.duration_s is not None:
                seconds = float(row.duration_s)
                if seconds < per_answer * row.answers:
                    flags.append(Flag(rid, "too_fast", (
                        f"completed {_plural(row.answers, 'answer')} in"
                        f" {_num(max(0.0, seconds))} s (under {_num(per_answer)} s per answer)"
                    )))
            if (straight and row.rating_count >= min_items
                    and row.rating_min == row.rating_max and row.rating_min is not None):
                flags.append(Flag(rid, "straight_lining", (
                    f"gave the same rating ({_num(row.rating_min)}) to all"
                    f" {row.rating_count} rating questions (flagged from {min_items})"
                )))
            if duplicates and row.comment:
                text = normalize_comment(row.comment)
                if len(text) >= min_chars:
                    comments.setdefault((row.unit_id, text), []).append(rid)
            if bursts and row.entry_point is not None:
                if self._epoch is None:
                    self._epoch = row.completed_at
                key = (row.campaign_id, row.entry_point)
                entry = entries.get(key)
                if entry is None:
                    entry = entries[key] = _Entry()
                entry.times.append((row.completed_at - self._epoch).total_seconds())
                entry.ids.append(rid)
            if cadres:
                keys = self.cadre_keys.get(row.unit_id)
                if keys and row.respondent_key in keys:
                    flags.append(Flag(rid, "cadre_respondent",
                                      "answered by a cadre of the unit being rated"))

    def flags(self) -> list[Flag]:
        """One flag per response and kind, sorted by response id then kind."""
        flags = list(self._flags)
        for ids in self._comments.values():
            if len(ids) > 1:
                others = len(ids) - 1
                reason = (f"same comment as {_plural(others, 'other response')} in this unit"
                          " (ignoring case, spaces and punctuation)")
                flags.extend(Flag(rid, "duplicate_comment", reason) for rid in ids)
        if self._epoch is not None:
            for (campaign, entry_point), entry in self._entries.items():
                flags.extend(_bursts(entry, campaign, entry_point, self._epoch, self.rules))
        order = {kind: i for i, kind in enumerate(KINDS)}
        unique = {(flag.response_id, flag.kind): flag for flag in flags}
        return sorted(unique.values(), key=lambda f: (f.response_id, order.get(f.kind, 99)))


def _scan(
    rows: Iterable[ResponseRow],
    rules: AnomalyRules,
    kinds: Set[str],
    cadre_keys: Mapping[int, Set[str]],
) -> list[Flag]:
    scan = Scan(rules, kinds, cadre_keys)
    scan.feed(rows)
    return scan.flags()


def _bursts(
    entry: _Entry, campaign: int, entry_point: str, epoch: datetime, rules: AnomalyRules
) -> list[Flag]:
    """Flag the completions inside any window of the entry point that is a burst.

    Each completion starts a window [t, t + W] holding c of the entry point's N completions.
    It is a burst when c ≥ min_count and c > factor × expected, where expected =
    (N − c) × W / max(active − W, W) and ``active`` is the time the entry point was in use:
    the union of [t − 3W, t + 3W] over its completions. Overlapping burst windows merge into
    one burst in the reason. O(N log N) for the sort, the rest vectorised.
    """
    total = len(entry.times)
    if total < rules.burst_min_count:
        return []
    window = rules.burst_window_minutes * 60.0
    times = np.frombuffer(entry.times, dtype=np.float64)
    ids = np.frombuffer(entry.ids, dtype=np.int64)
    order = np.argsort(times, kind="stable")
    times, ids = times[order], ids[order]
    ends = np.searchsorted(times, times + window, side="right")
    counts = ends - np.arange(total)
    reach = _IN_USE_WINDOWS * window
    active = 2 * reach + float(np.minimum(np.diff(times), 2 * reach).sum())
    per_window = window / max(active - window, window)
    expected = (total - counts) * per_window
    burst = (counts >= rules.burst_min_count) & (counts > rules.burst_factor * expected)
    starts = np.nonzero(burst)[0]
    if len(starts) == 0:
        return []
    cover = np.zeros(total + 1, dtype=np.int64)
    np.add.at(cover, starts, 1)
    np.add.at(cover, ends[starts], -1)
    inside = np.cumsum(cover[:-1]) > 0
    flags: list[Flag] = []
    # Runs of covered completions (in time order) are the bursts.
    edges = np.diff(np.concatenate(([0], inside.astype(np.int8), [0])))
    for first, stop in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0], strict=True):
        count = int(stop - first)
        usual = (total - count) * per_window
        begin = epoch + timedelta(seconds=float(times[first]))
        end = epoch + timedelta(seconds=float(times[stop - 1]))
        until = f"{end:%H:%M}" if end.date() == begin.date() else f"{end:%Y-%m-%d %H:%M}"
        minutes = _num(rules.burst_window_minutes)
        reason = (
            f"one of {count} completions through entry point {entry_point!r} of campaign"
            f" {campaign} between {begin:%Y-%m-%d %H:%M} and {until}; while in use it usually"
            f" sees about {_approx(usual)} per {minutes} min (a burst is at least"
            f" {rules.burst_min_count} in {minutes} min and over {_num(rules.burst_factor)}"
            " times the usual)"
        )
        flags.extend(Flag(int(rid), "entry_burst", reason) for rid in ids[first:stop])
    return flags


def _num(value: float) -> str:
    """1 decimal at most, without a trailing .0 (3 -> "3", 2.25 -> "2.2")."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _approx(value: float) -> str:
    """Two significant figures for small numbers (0.04, 4.2), whole numbers from 10."""
    return f"{value:.2g}" if value < 10 else f"{value:.0f}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
