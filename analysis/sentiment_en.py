"""English sentiment: TextBlob's pattern lexicon combined with VADER, offline.

What it computes. Two lexicon analysers score the text: TextBlob 0.20's pattern analyser
(polarity = mean of its assessments; no NLTK corpora needed) and VADER 3.3.2 (summed word
valences with its negation, booster, "but", capitals and punctuation rules, normalised to
x / sqrt(x² + 15) as VADER's compound). The combination is

    s = 0.5 · TextBlob + 0.5 · VADER            (TEXTBLOB_WEIGHT = 0.5)

and s is neutral inside the band [0, 0.15] (LOWER, UPPER): any net negative evidence (s < 0)
is negative, while a mildly positive s is not yet positive. That asymmetry is the positivity
bias of evaluative language (positive words are used more often, also in neutral and in
negative texts: "a worthy idea, but the script never rises above..."), which both
lexicons inherit. :func:`calibrate` then maps the band onto [-0.05, 0.05] (0 stays 0, ±1
stay ±1, monotonic), so the returned polarity follows the project's one labelling rule
(> 0.05 positive, < -0.05 negative) and its 0–100 form ((p + 1) × 50) is 50 for no evidence.

Additions to VADER, each small and principled rather than fitted: a public-service lexicon
(:data:`DOMAIN_LEXICON`: waiting, queues, delays, runaround, red tape, rudeness, potholes...
and prompt, polite, knowledgeable, fixed..., 64 words absent from VADER, valences set by hand
against VADER's own anchors), six multi-word expressions ("on hold", "red tape", "took
forever", "from one office to another", "back and forth", "could be better", the last a
complaint that VADER and TextBlob read as praise), "nobody" read as "no one" (which VADER
negates; its negation list lacks "nobody", so "nobody helped" scored positive), and emoji whose
VADER description scores nothing ("👍", "😡", "🤬"...) described by a word of the intended
valence. Text is cleaned first (HTML entities, control and zero-width/format
characters) and scored in chunks of about 400 characters (sentences kept whole), the chunks'
TextBlob assessments and VADER valences pooled: identical to plain TextBlob and VADER for a
text of one chunk (without those rewrites), and linear in the length of long texts (VADER's
rules are quadratic in the number of words it is given: a 10,000-character comment takes
0.15 s in one piece, 0.025 s in chunks).

How the parameters were chosen (``python bench/sentiment.py --fit``). Three numbers only
(the weight and the two band edges), searched on a grid with the components of every text of
the two English development sets (tweets, 4,200; movie snippets, 10,605; three classes from
the human mean, macro-F1). Fitted on one set and checked on the other, the band does not
transfer, because the sets' class mixes differ (20 % neutral tweets, 5 % neutral snippets):

    fitted on     weight  band              tweets           movies
    tweets        0.4     [-0.075, 0.300]   0.743 (+0.053)   0.413 (-0.010)
    movies        0.7     [ 0.150, 0.200]   0.559 (-0.131)   0.463 (+0.040)
    both (*)      0.5     [ 0.000, 0.150]   0.710 (+0.019)   0.446 (+0.023)

(*) the setting with the largest smaller gain over the two sets. Gains are over the better of
TextBlob and VADER with their defaults (0.690 tweets, 0.423 movies).

The chosen setting is the one that does best on the worse of the two sets, and it is also the
simplest (equal weights, negative below zero): no weights were learned from the texts, and no
data is shipped.

Measured (``python bench/sentiment.py``, one core, CPU time): tweets macro-F1 0.710, movie
snippets 0.446 for this analyser (0.709 and 0.445 through the façade with language
detection); about 7,800 tweets/s and 6,400 snippets/s (about 4,600 and 3,600 through the
façade, whose language detection costs the difference).

The issue's target of +0.05 over the better baseline on each set is NOT met (+0.019 and
+0.023). What was tried and measured, and why it is not in: a class-weighted multinomial
logistic regression on eight aggregate features (both polarities, their magnitudes, TextBlob's
subjectivity, VADER's positive/negative shares, length) reaches only 0.735 / 0.450 even on
the set it is fitted to, and 0.392 (movies) / 0.628 (tweets) on the other; the pattern
lexicon merged into VADER's, extra negators ("lack", "fails", "hardly"), question and modal
("would", "if") damping, "but" handling for TextBlob and a 1.5 weight on negative words
(SO-CAL's) each change either set by less than 0.01 at the joint setting. More lexical
knowledge is what helps: SO-CAL's review dictionaries lift the movie snippets' pos/neg AUC
from 0.75 to 0.78 (0.460 at the joint setting), but they are GPL-3, so not used.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

RULES_VERSION = "1"

# --- The fitted parameters (see the module docstring for how they were chosen) -------------
# Weight of TextBlob in the combination; VADER gets the rest.
TEXTBLOB_WEIGHT = 0.5
# The combined score s (in [-1, 1]) is neutral when LOWER <= s <= UPPER.
LOWER = 0.0
UPPER = 0.15
# The calibrated polarity puts that band on [-MARGIN, MARGIN], so that "polarity > 0.05 is
# positive, < -0.05 negative" holds for the returned value (sentiment.LABEL_THRESHOLD).
MARGIN = 0.05

# VADER's normalisation of a summed valence x to x / sqrt(x^2 + alpha), as VADER does it.
_VADER_ALPHA = 15.0
# Texts are scored in chunks of about this many characters (sentences kept whole when they
# fit): VADER's rules are quadratic in the number of words of what it is given, and a
# sentence-sized window is what its negation and "but" rules are made for.
_CHUNK_CHARS = 400

# --- Public-service domain lexicon --------------------------------------------------------
# Words that residents use about public services and that neither VADER's nor TextBlob's
# lexicon scores (checked: each is absent from VADER 3.3.2's lexicon). Valences are on
# VADER's scale (-4 … +4) and were set by hand against VADER's own anchors for comparable
# words ("rude" -2.0, "delay" -1.3, "ignored" -1.3, "helpful" +1.8, "efficient" +1.8,
# "solved" +1.1), not fitted to any data. Kept deliberately mild (|v| <= 2.0): a word like
# "queue" or "waited" is only weakly negative on its own.
DOMAIN_LEXICON: dict[str, float] = {
    # waiting and delays
    "waited": -0.6,
    "waiting": -0.4,
    "queue": -0.6,
    "queues": -0.7,
    "queued": -0.7,
    "queuing": -0.7,
    "queueing": -0.7,
    "delays": -1.3,
    "overdue": -1.2,
    "backlog": -1.0,
    "unanswered": -1.4,
    "unresolved": -1.4,
    "unreachable": -1.2,
    "understaffed": -1.4,
    "overcrowded": -1.4,
    "crowded": -0.6,
    "slow": -1.0,
    "slowly": -0.6,
    # being passed around, red tape, bad conduct
    "runaround": -2.0,
    "bureaucracy": -1.2,
    "bureaucratic": -1.4,
    "unhelpful": -1.8,
    "disrespectful": -2.0,
    "impolite": -1.8,
    "dismissive": -1.6,
    "corruption": -2.0,
    "bribes": -1.8,
    "overcharged": -1.8,
    "cancelled": -1.0,
    "canceled": -1.0,
    # conditions reported to services
    "pothole": -1.0,
    "potholes": -1.2,
    "leaking": -1.0,
    "outage": -1.4,
    "outages": -1.4,
    "flooded": -1.4,
    "flooding": -1.4,
    "smelly": -1.4,
    "filthy": -2.0,
    "unsafe": -1.8,
    "garbage": -1.0,
    "rubbish": -1.2,
    "litter": -0.8,
    "noise": -0.6,
    # good service
    "fixed": 1.0,
    "sorted": 0.8,
    "prompt": 1.2,
    "promptly": 1.4,
    "quick": 1.0,
    "quickly": 1.0,
    "fast": 0.8,
    "polite": 1.8,
    "attentive": 1.6,
    "knowledgeable": 1.6,
    "professional": 1.2,
    "organised": 1.0,
    "organized": 1.0,
    "smooth": 1.0,
    "smoothly": 1.2,
    "thorough": 1.2,
    "patient": 1.2,
    "patiently": 1.2,
    "helped": 1.2,
    "hassle-free": 1.8,
}

# Multi-word expressions rewritten into one token that the lexicon above scores.
_PHRASES: tuple[tuple[re.Pattern[str], str, float], ...] = (
    (re.compile(r"\bon hold\b", re.IGNORECASE), "onhold", -1.2),
    (re.compile(r"\bred tape\b", re.IGNORECASE), "redtape", -1.4),
    (re.compile(r"\btook forever\b", re.IGNORECASE), "tookforever", -1.6),
    (re.compile(r"\bfrom one (?:office|desk|window|department) to another\b", re.IGNORECASE),
     "passedaround", -1.8),
    (re.compile(r"\bback and forth\b", re.IGNORECASE), "backandforth", -1.0),
    # VADER scores "better" and ignores the irrealis: "could be better" is a complaint.
    (re.compile(r"\b(?:could|should|might) (?:have been|be) better\b", re.IGNORECASE),
     "couldbebetter", -1.2),
)

# "nobody helped" reads as "no one helped", which VADER negates (it negates a word one or two
# words after "no"); VADER's own negation list lacks "nobody".
_NOBODY = re.compile(r"\b(?:nobody|noone|no-one)\b", re.IGNORECASE)

# Emoji whose VADER description ("thumbs up", "pouting face") scores nothing: described by a
# lexicon word of the intended valence instead.
_EMOJI_WORDS = {
    "👍": "good",
    "👎": "bad",
    "😡": "angry",
    "🤬": "furious",
    "😤": "annoyed",
    "😒": "annoyed",
    "🙄": "annoyed",
    "🤮": "disgusting",
    "💩": "crap",
    "💔": "heartbroken",
    "🙏": "thanks",
    "👏": "great",
}

# Control and format characters (zero-width spaces and joiners, direction marks, BOM) are
# dropped; newlines and tabs become spaces.
_WHITESPACE_CONTROLS = {"\n", "\r", "\t", "\v", "\f"}

_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+|\s*\n+\s*")


def clean(text: str) -> str:
    """Text as the analysers see it: entities unescaped, control/format characters removed."""
    text = html.unescape(text)
    out = []
    for ch in text:
        if ch in _WHITESPACE_CONTROLS:
            out.append(" " if ch != "\n" else "\n")
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs", "Co"):
            continue
        out.append(ch)
    return "".join(out).strip()


def chunks(text: str, size: int = _CHUNK_CHARS) -> list[str]:
    """``text`` cut into pieces of at most about ``size`` characters, at sentence ends first,
    then at spaces (a piece with no space at all is cut hard)."""
    if len(text) <= size:
        return [text] if text else []
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        if not sentence:
            continue
        while len(sentence) > size:
            cut = sentence.rfind(" ", 0, size)
            if cut <= 0:
                cut = size
            head, sentence = sentence[:cut], sentence[cut:].lstrip()
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head)
        if current and len(current) + 1 + len(sentence) > size:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        pieces.append(current)
    return pieces


def _version() -> str:
    """``en-<rules>+<digest>``: the digest covers every parameter, the lexicon additions and the
    installed TextBlob and VADER versions, so any change to the combination changes it."""
    from importlib import metadata

    state = (
        TEXTBLOB_WEIGHT, LOWER, UPPER, MARGIN, _VADER_ALPHA, _CHUNK_CHARS,
        sorted(DOMAIN_LEXICON.items()), [(p.pattern, t, v) for p, t, v in _PHRASES],
        sorted(_EMOJI_WORDS.items()), _NOBODY.pattern,
        metadata.version("textblob"), metadata.version("vaderSentiment"),
    )
    digest = hashlib.sha256(repr(state).encode()).hexdigest()[:10]
    return f"en-textblob-vader-{RULES_VERSION}+{digest}"


VERSION = _version()


def calibrate(score: float, lower: float = LOWER, upper: float = UPPER) -> float:
    """Map the combined score so that the neutral band [lower, upper] lands on
    [-MARGIN, MARGIN], piecewise linearly and monotonically.

    -1 and 1 stay put and 0 (no evidence either way) stays 0; below the band the result is
    under -MARGIN, above it over MARGIN. Needs lower <= 0 <= upper.
    """
    score = max(-1.0, min(1.0, score))
    if score < lower:
        return -MARGIN + (score - lower) / (1.0 + lower) * (1.0 - MARGIN)
    if score > upper:
        return MARGIN + (score - upper) / (1.0 - upper) * (1.0 - MARGIN)
    if score >= 0.0:
        return MARGIN * score / upper if upper > 0.0 else 0.0
    return -MARGIN * score / lower


def _vader_class() -> type:
    """VADER's analyser, made to return its summed valence instead of the rounded dict."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    class _SummingVader(SentimentIntensityAnalyzer):
        def score_valence(self, sentiments: list[float], text: str) -> float:
            total = float(sum(sentiments))
            if total:
                emphasis = self._punctuation_emphasis(text)
                total += emphasis if total > 0 else -emphasis
            return total

    return _SummingVader


class EnglishAnalyser:
    """Polarity in [-1, 1] of English text. Build it once (about 0.3 s: TextBlob's import and
    the two lexicons) and share it: scoring only reads the lexicons, so threads may share it."""

    version = VERSION

    def __init__(self) -> None:
        from textblob.en import sentiment as pattern_sentiment

        vader: Any = _vader_class()()
        for word, valence in DOMAIN_LEXICON.items():
            vader.lexicon.setdefault(word, valence)
        for _pattern, token, valence in _PHRASES:
            vader.lexicon[token] = valence
        vader.emojis = {**vader.emojis, **_EMOJI_WORDS}
        self._vader = vader
        self._pattern: Any = pattern_sentiment
        # The pattern lexicon loads lazily on first use, without a lock: load it now, while
        # the analyser is being built (once, under the façade's lock), not in a worker thread.
        self._pattern("good")

    def components(self, text: str) -> tuple[float, float]:
        """(TextBlob polarity, VADER compound) of ``text``, each in [-1, 1].

        TextBlob's polarity is the mean of its assessments over the whole text; VADER's
        compound is its normalised summed valence. Long texts are scored chunk by chunk and
        the chunks' assessments and valences pooled. For a text of one chunk without the
        expressions of _PHRASES and without "nobody", this is exactly what TextBlob and VADER
        give.
        """
        text = clean(text)
        if not text:
            return 0.0, 0.0
        assessed = 0.0
        count = 0
        valence = 0.0
        for piece in chunks(text):
            for pattern, token, _valence in _PHRASES:
                piece = pattern.sub(token, piece)
            for _words, polarity, _subjectivity, _label in self._pattern(piece).assessments:
                assessed += polarity
                count += 1
            valence += self._vader.polarity_scores(_NOBODY.sub("no one", piece))
        textblob = max(-1.0, min(1.0, assessed / count)) if count else 0.0
        vader = valence / math.sqrt(valence * valence + _VADER_ALPHA) if valence else 0.0
        return textblob, vader

    def combined(self, text: str) -> float:
        """The uncalibrated combination TEXTBLOB_WEIGHT * TextBlob + rest * VADER."""
        textblob, vader = self.components(text)
        return TEXTBLOB_WEIGHT * textblob + (1.0 - TEXTBLOB_WEIGHT) * vader

    def polarity(self, text: str) -> float:
        """Calibrated polarity in [-1, 1]: above MARGIN positive, below -MARGIN negative."""
        return calibrate(self.combined(text))

    def polarities(self, texts: Sequence[str]) -> list[float]:
        return [self.polarity(text) for text in texts]
