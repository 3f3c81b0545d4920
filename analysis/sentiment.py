"""Sentiment of residents' comments, cadres' notes and inspectors' remarks (pure: no I/O).

:func:`score` and :func:`score_batch` give each text its language (``"en"``, ``"zh"`` or
``"und"``), a polarity in [-1, 1] and a label. The language comes from
:func:`analysis.language.detect`; English goes to :class:`analysis.sentiment_en.EnglishAnalyser`
(TextBlob, VADER and a public-service lexicon as the signals of a small linear regression
of the human mean rating), Chinese to :class:`analysis.sentiment_zh.ChineseAnalyser` (a hand
lexicon with rules as features of a linear model over character n-grams and words).

Labels: ``positive`` when polarity > 0.05, ``negative`` when < -0.05, else ``neutral``
(:data:`LABEL_THRESHOLD`). Each analyser calibrates its polarity so that this one rule holds
for it (the English analyser derives its polarity from its predicted mean rating, -4 … +4,
so that the rule gives the labels' own definition: above 0.5 positive, below -0.5 negative).

Neutral, and mixed comments. A comment that only says there is nothing to say is neutral
(polarity 0) whatever its words: "无", "没有", "没有意见", "暂无", "n/a", "None", "Nothing to
add", "No comment" (:func:`says_nothing`; "没有问题" and "no complaints" say something, and
are left to the analysers). Otherwise neutral is what the analysers find neutral: the English
model's predicted rating within ±0.5 (as human raters' means within ±0.5 are), the Chinese
model's band of doubt (its training labels are positive or negative only). A mixed comment,
praise and complaint in one, takes the sign of the balance, the part after a contrast ("but",
"但是") weighing more; it is neutral only when the two balance.

Routing, and the edge cases:

- Empty or whitespace-only text (after removing control and format characters such as
  zero-width spaces and direction marks): ``und``, polarity 0, neutral.
- HTML entities are unescaped first (``&amp;`` → ``&``, ``&#128545;`` → 😡), and HTML tags
  (``<b>``, ``<br/>``) removed.
- Text without letters (emoji, emoticons, digits, punctuation): language ``und``, scored by the
  English analyser, whose VADER part knows emoji and emoticons (``😡😡😡`` negative, ``👍``
  positive, ``:(`` negative); anything it does not know scores 0.
- Letters of another language (``und`` from detection, e.g. French or Cyrillic text): polarity
  0, neutral. The English lexicons would misread foreign words (German "die" is -2.9 in VADER).
- Mixed Chinese and English text: the language is the majority one (``detect``), and the
  polarity is the average of each script's part scored by its own analyser
  (:func:`analysis.language.script_parts`), weighted by the part's length in words (a Latin
  word counts 1, two Han characters count 1, as in ``detect``). Parts that carry no sentiment
  (polarity 0: a brand name "APP" in a Chinese complaint) are left out of the average rather
  than diluting it; a Chinese name in an English comment may carry a little (the Chinese
  model's n-grams give "办事大厅" -0.09), weighted by its few words. Averaging rather than
  taking the majority script alone keeps "服务很好 but the queue was two hours" from losing
  either half.
- Long text (10,000 characters): the English analyser works chunk by chunk (linear time).

:func:`contradicts` marks a comment whose text clearly disagrees with its rating.
:func:`run_cli` is ``civicpulse sentiment score``: one text per input line, one JSON object per
output line, in bounded batches.

:data:`ANALYSER_VERSION` names the whole combination: the routing scheme, the English
analyser's version (which changes with its parameters, lexicon or library versions) and the
Chinese analyser's. Scores are stored with it, so a change re-scores texts. The English
analyser (importing TextBlob takes about 0.25 s) is built on first use; the Chinese one is
cheap to construct (its segmenter loads on first use), so it is built at import to know its
version.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TextIO

from analysis import language, sentiment_en
from analysis.sentiment_zh import ChineseAnalyser

if TYPE_CHECKING:
    from analysis.sentiment_en import EnglishAnalyser

Label = Literal["positive", "neutral", "negative"]

LABEL_THRESHOLD = 0.05
# A comment contradicts its rating when the rating is high (>= 75 on 0-100: four or five
# stars) and the text clearly negative (polarity <= -CONTRADICTION_POLARITY), or the rating
# low (<= 25: one or two stars) and the text clearly positive. A merely "negative" label is
# not enough: "good, but the queue was long" on four stars is a fair comment, not a
# contradiction, and auditors should only be shown the clear cases.
HIGH_RATING = 75.0
LOW_RATING = 25.0
CONTRADICTION_POLARITY = 0.25

_SCHEME = "s1"


@dataclass(frozen=True)
class Sentiment:
    language: str
    polarity: float
    label: Label


def label_for(polarity: float) -> Label:
    """``positive`` above LABEL_THRESHOLD, ``negative`` below -LABEL_THRESHOLD."""
    if polarity > LABEL_THRESHOLD:
        return "positive"
    if polarity < -LABEL_THRESHOLD:
        return "negative"
    return "neutral"


# --- analysers, built once per process --------------------------------------------------------

_lock = threading.Lock()
_english: EnglishAnalyser | None = None
_chinese = ChineseAnalyser()

ANALYSER_VERSION = f"{_SCHEME}+{sentiment_en.VERSION}+{_chinese.version}"


def english_analyser() -> EnglishAnalyser:
    """The process's English analyser, built on first use (thread-safe)."""
    global _english
    if _english is None:
        with _lock:
            if _english is None:
                _english = sentiment_en.EnglishAnalyser()
    return _english


def chinese_analyser() -> ChineseAnalyser:
    """The process's Chinese analyser."""
    return _chinese


# --- routing ----------------------------------------------------------------------------------

_NEUTRAL_UND = Sentiment(language.UND, 0.0, "neutral")


@dataclass
class _Plan:
    """How one text is scored: which texts go to which analyser, with what weights."""

    language: str
    english: list[tuple[int, float]]  # (index into the English batch, weight)
    chinese: list[tuple[int, float]]


_HAN = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_LATIN = re.compile("[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]+")
_LETTER = re.compile(r"[^\W\d_]")


def _words(lang: str, part: str) -> float:
    """A part's length in words: Latin words, or Han characters / 2 (as language.detect)."""
    if lang == language.ZH:
        return len(_HAN.findall(part)) / 2 or 1.0
    return float(len(_LATIN.findall(part))) or 1.0


# A comment that only says there is nothing to say. Matched on the whole comment, lower-cased,
# without punctuation, spaces and final particles; Chinese after traditional characters are
# simplified. "没有问题" and "no complaints" are not here: they say something (mildly good).
_NOTHING_EN = re.compile(
    r"(?:n ?a|na|none|nothing|nil|no|nope|not applicable|no idea|dont know|not sure|nothing"
    r" (?:to (?:add|say|report|comment)|else|more|further|in particular|much|special)|"
    r"(?:i have )?no (?:further |other |more |additional )?(?:comments?|remarks?|"
    r"suggestions?|opinions?|feedback|input)(?: (?:at the moment|for now|thanks?|thank you))?|"
    r"nothing (?:else )?to (?:add|say|report)(?: (?:thanks?|thank you))?|same as above)")
_NOTHING_ZH = re.compile(
    r"(?:我|本人)?(?:暂时|目前|暂|现在|还|也)?(?:无|没有|没|木有|莫得|没得)"
    r"(?:什么|啥|任何|其他|其它|别的|更多)*"
    r"(?:意见|建议|想法|看法|要求|评论|评价|(?:要|可|好|可以)?(?:说|补充|写|反映)的?)?"
    r"|暂无(?:意见|建议|评价)?|不清楚|不知道|说不清|说不好|不好说|无可奉告|同上|略")
_NOT_A_WORD = re.compile(r"[\W_]+")
_PARTICLES = "了的啊呀吧啦哦嘛呢哈"


def says_nothing(text: str) -> bool:
    """Whether ``text`` (cleaned) only says there is nothing to say: "无", "没有意见",
    "暂无", "n/a", "Nothing to add", "No comment"."""
    if len(text) > 40:
        return False
    key = _NOT_A_WORD.sub(" ", text.lower()).strip()
    if _NOTHING_EN.fullmatch(key.replace("'", "")):
        return True
    key = key.replace(" ", "").rstrip(_PARTICLES)
    key = key.translate(chinese_analyser().traditional)
    return bool(key) and _NOTHING_ZH.fullmatch(key) is not None


def _plan(text: str, english: list[str], chinese: list[str]) -> _Plan | None:
    """Route ``text``; queue its parts on ``english``/``chinese``. None: neutral ``und``."""
    cleaned = sentiment_en.clean(text)
    if not cleaned:
        return None
    lang = language.detect(cleaned)
    plan = _Plan(lang, [], [])
    if says_nothing(cleaned):
        return plan  # no part to score: polarity 0, neutral
    if lang == language.UND:
        if _LETTER.search(cleaned):
            return None
        plan.english.append((len(english), 1.0))
        english.append(cleaned)
        return plan
    if not (_HAN.search(cleaned) and _LATIN.search(cleaned)):
        if lang == language.ZH:
            plan.chinese.append((len(chinese), 1.0))
            chinese.append(cleaned)
        else:
            plan.english.append((len(english), 1.0))
            english.append(cleaned)
        return plan
    for part_lang, part in language.script_parts(cleaned):
        if part_lang == language.ZH:
            plan.chinese.append((len(chinese), _words(part_lang, part)))
            chinese.append(part)
        elif part_lang == language.EN:
            plan.english.append((len(english), _words(part_lang, part)))
            english.append(part)
    return plan


def _combine(parts: list[tuple[float, float]]) -> float:
    """Weighted mean of the parts' polarities, leaving out parts with none."""
    scored = [(p, w) for p, w in parts if p != 0.0]
    total = sum(w for _p, w in scored)
    if not total:
        return 0.0
    return max(-1.0, min(1.0, sum(p * w for p, w in scored) / total))


def score_batch(texts: Sequence[str]) -> list[Sentiment]:
    """Sentiments of ``texts``, in order. CPU-bound: run it in a worker thread or process."""
    english: list[str] = []
    chinese: list[str] = []
    plans = [_plan(text, english, chinese) for text in texts]
    en_scores = english_analyser().polarities(english) if english else []
    zh_scores = chinese_analyser().polarities(chinese) if chinese else []
    out: list[Sentiment] = []
    for plan in plans:
        if plan is None:
            out.append(_NEUTRAL_UND)
            continue
        parts = [(en_scores[i], w) for i, w in plan.english]
        parts += [(zh_scores[i], w) for i, w in plan.chinese]
        polarity = parts[0][0] if len(parts) == 1 else _combine(parts)
        out.append(Sentiment(plan.language, polarity, label_for(polarity)))
    return out


def score(text: str) -> Sentiment:
    """Sentiment of one text."""
    return score_batch([text])[0]


def contradicts(rating_score_0_100: float | None, sentiment: Sentiment) -> bool:
    """Whether the text clearly disagrees with its rating (see HIGH_RATING and LOW_RATING)."""
    if rating_score_0_100 is None:
        return False
    if rating_score_0_100 >= HIGH_RATING:
        return sentiment.label == "negative" and sentiment.polarity <= -CONTRADICTION_POLARITY
    if rating_score_0_100 <= LOW_RATING:
        return sentiment.label == "positive" and sentiment.polarity >= CONTRADICTION_POLARITY
    return False


# --- command line -----------------------------------------------------------------------------


def _lines(stdin: TextIO) -> Iterator[str]:
    for line in stdin:
        if line.endswith("\n"):
            line = line[:-2] if line.endswith("\r\n") else line[:-1]
        yield line


def run_cli(stdin: TextIO, stdout: TextIO, batch_size: int = 500) -> int:
    """Score one text per line of ``stdin``; write one JSON object per line to ``stdout``.

    Reads and writes ``batch_size`` lines at a time, so any input size runs in bounded memory.
    An empty line gives ``{"language": "und", "polarity": 0.0, "label": "neutral"}``.
    """
    batch: list[str] = []

    def flush() -> None:
        for s in score_batch(batch):
            record = {"language": s.language, "polarity": round(s.polarity, 4), "label": s.label}
            stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        stdout.flush()
        batch.clear()

    for line in _lines(stdin):
        batch.append(line)
        if len(batch) >= max(1, batch_size):
            flush()
    if batch:
        flush()
    return 0
