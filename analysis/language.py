"""Language of a comment: ``"en"``, ``"zh"`` or ``"und"``, offline and fast.

How :func:`detect` decides, cheapest test first:

1. Script. Letters are counted by script. No letters at all (empty, emoji, digits,
   punctuation) → ``"und"``. Mostly letters of another script (Cyrillic, Arabic, Thai, kana,
   Hangul…) → ``"und"``; two or more kana mark Japanese, which also writes Han characters.
2. Han against Latin. Han characters (simplified or traditional) → ``"zh"`` unless the Latin
   words outnumber them: a Chinese word is about two characters, so the text is Chinese when
   ``han / 2 >= latin words`` ("APP很难用" is Chinese, "the 办事大厅 was crowded" English).
3. Latin text, common English words. When at least half of the words are in a short list of
   English function words and everyday comment words, the text is English without asking
   the model (most English comments end here: this is what keeps detection fast).
4. Latin text, lingua. Otherwise lingua-language-detector decides between English, French,
   German and Spanish (anything but English → ``"und"``; Italian, Portuguese or Dutch texts
   fall on one of the three and so also give ``"und"``). A short text (two words or fewer)
   whose best non-English guess is weak (confidence under 0.45) is English: lingua cannot
   tell languages apart on one or two words ("superb" comes out German, "bravo" French), and
   the bot's residents write English or Chinese, so a short Latin comment is most likely
   English, and scoring it as English costs little when it is not (the English analysers
   give an unknown word a neutral score).

Cost of lingua (measured on this machine, lingua 2.1.1): the detector is built lazily, once,
on the first text that reaches step 4 (never at import). It is restricted to four languages
in high-accuracy mode (low-accuracy mode mislabels short English texts such as "long queue"
or "the clerk was rude"). Its n-gram models load on demand: about 45 MB and 0.2 s for the
first text, about 150 MB once all four languages' models are in use; about 4,000 texts/s
on 20-word texts. Texts are cut to their first 1,000 characters for lingua.

Measured (``/tmp/issue5/chinese/bench_language.py``, one core): about 400,000 texts/s on
short Chinese comments and 120,000/s on short English ones (steps 1–3); 40,000/s on the
ChnSentiCorp hotel reviews and 10,000/s on the English development sets (tweets and movie
snippets, more of which reach lingua). Labels: 99.85% of those 14,805 English texts give
"en" (the rest are mostly in other languages or names), 99.9% of the 7,765 Chinese reviews
"zh" (the rest are mojibake or English written without spaces); on hand-written short
comments, 81 of 81 English ones give "en" and 36 of 45 French, German, Spanish, Italian,
Portuguese or Dutch ones "und" (those missed are two-word phrases such as "alles gut").

:func:`script_parts` splits a mixed text into runs of Chinese and Latin script, so that each
part can be scored by the analyser of its language.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lingua import LanguageDetector

EN = "en"
ZH = "zh"
UND = "und"

# CJK unified ideographs (basic, extension A, compatibility, extensions B–F on plane 2) and the
# ideographic number zero; traditional and simplified characters alike.
_HAN_CLASS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
_HAN = re.compile(f"[{_HAN_CLASS}]")
# Basic Latin letters and the Latin-1 supplement / extended-A / extended-B letters.
_LATIN_CLASS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_LATIN_LETTER = re.compile(f"[{_LATIN_CLASS}]")
_LATIN_WORD = re.compile(f"[{_LATIN_CLASS}]+(?:['’][{_LATIN_CLASS}]+)*")
_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff]")
# Any letter of any script (Unicode word characters minus digits and underscore).
_LETTER = re.compile(r"[^\W\d_]")

# Runs for script_parts: a run of Han characters, or of Latin letters.
_RUN = re.compile(f"(?P<zh>[{_HAN_CLASS}]+)|(?P<en>[{_LATIN_CLASS}]+)|(?P<und>[^\\W\\d_]+)")

_LINGUA_MAX_CHARS = 1000
_UNSURE_RATIO = 2.0
_SHORT_WORDS = 2
_SHORT_MIN_CONFIDENCE = 0.45

# Common English words that are rarely words of French, German or Spanish: function words,
# and words that residents' comments are often made of. Deliberately left out: words that are
# also common in those languages ("a", "in", "die", "was", "will", "also", "so", "on", "me",
# "son", "as", "bald", "war", "man", "fast", "gift", "rat", "see", "hat", "taste").
_ENGLISH_WORDS = frozenset(
    """
     about after again against all am and any are aren't at be because been before being
     below between both but by can can't cannot could couldn't did didn't do does doesn't
     doing don't down during each few for from further had hadn't has hasn't have haven't
     having he he'd he'll he's her here here's hers herself him himself his how how's i i'd
     i'll i'm i've if into isn't it it's its itself let's more most mustn't my myself nor not
     of off once only other ought our ours ourselves out over own same shan't she she'd
     she'll she's should shouldn't some such than that that's the their theirs them
     themselves then there there's these they they'd they'll they're they've this those
     through to too under until up very wasn't we we'd we'll we're we've were weren't what
     what's when when's where where's which while who who's whom why why's with won't would
     wouldn't you you'd you'll you're you've your yours yourself yourselves just really never
     always nothing everything something anything nobody everyone yes no ok okay thanks thank
     thx please well done job good bad great better best worse worst nice fine awful terrible
     horrible excellent amazing poor slow quick quickly rude kind friendly helpful unhelpful
     polite lazy happy unhappy satisfied dissatisfied unsatisfied love hate like hated loved
     waste wasted long queue line wait waited waiting hours hour minutes day days week office
     staff clerk officer service services road roads street streets water fee fees money help
     helped people still even lol meh wow omg cool awesome sucks useless easy hard difficult
     problem problems issue issues solved fixed broken dirty clean sent told asked got get go
     went come came keep making make
     movie story funny little smart time life new old work year years thing things way made
     look looks looking want wanted need needed feel feels felt think thought know knew seen
     watch watched watching show shows character characters plot script comedy minutes
     ending world woman men women kids family friend friends home house school city town
     lot lots enough much many every another own right left yet ever already almost quite
     rather pretty fun boring interesting beautiful ugly stupid clever dull sweet sad silly
     weird strange true truly sure probably maybe actually literally seriously totally
     especially definitely simply entirely completely nearly hardly barely haha yeah yay
     hey hi hello guys today tonight tomorrow morning night gonna wanna im dont cant
     weekend birthday miss sorry tired sick
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

_detector: LanguageDetector | None = None
_detector_lock = threading.Lock()


def _lingua() -> LanguageDetector:
    """The lingua detector, built on first use (its models then load lazily)."""
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                from lingua import Language, LanguageDetectorBuilder

                _detector = LanguageDetectorBuilder.from_languages(
                    Language.ENGLISH, Language.FRENCH, Language.GERMAN, Language.SPANISH
                ).build()
    return _detector


def _latin_language(text: str, words: list[str]) -> str:
    """English or not, for a text written in Latin script (``words`` are its words)."""
    lowered = [word.lower().replace("’", "'") for word in words]
    known = sum(1 for word in lowered if word in _ENGLISH_WORDS)
    if known * 3 >= len(lowered):
        return EN
    from lingua import Language

    confidences = _lingua().compute_language_confidence_values(text[:_LINGUA_MAX_CHARS])
    best = confidences[0]
    if best.language == Language.ENGLISH:
        return EN
    english = next(c.value for c in confidences if c.language == Language.ENGLISH)
    if best.value < _UNSURE_RATIO * english:
        return EN
    if len(words) <= _SHORT_WORDS and best.value < _SHORT_MIN_CONFIDENCE:
        return EN
    return UND


def detect(text: str) -> str:
    """``"en"``, ``"zh"`` or ``"und"`` (empty, emoji/digits only, or another language)."""
    if not text:
        return UND
    letters = len(_LETTER.findall(text))
    if letters == 0:
        return UND
    han = len(_HAN.findall(text))
    words = _LATIN_WORD.findall(text)
    latin = len(_LATIN_LETTER.findall(text))
    other = letters - han - latin
    if other * 10 >= letters * 3 or len(_KANA.findall(text)) >= 2:
        return UND
    if han and han / 2 >= len(words):
        return ZH
    if not words:
        return UND
    return _latin_language(text, words)


def script_parts(text: str) -> list[tuple[str, str]]:
    """Split ``text`` into ``(language, part)`` runs: ``"zh"`` for Han, ``"en"`` for Latin.

    Letters of other scripts give ``"und"`` runs. Characters that are not letters (spaces,
    digits, punctuation, emoji) stay with the run before them (or, at the very start, with
    the first run), so the parts joined give back ``text`` exactly. A Latin run is labelled
    ``"en"`` without further checks: inside a Chinese comment it is nearly always an English
    word or a name ("APP", "WiFi"). Empty text gives ``[]``; text without letters gives one
    ``"und"`` part.
    """
    if not text:
        return []
    parts: list[list[str]] = []  # [language, part] pairs, merged as they come
    start = 0
    for match in _RUN.finditer(text):
        language = match.lastgroup or UND
        if parts and parts[-1][0] == language:
            parts[-1][1] += text[start : match.end()]
        elif parts:
            parts[-1][1] += text[start : match.start()]
            parts.append([language, match.group()])
        else:
            parts.append([language, text[: match.end()]])
        start = match.end()
    if not parts:
        return [(UND, text)]
    parts[-1][1] += text[start:]
    return [(language, part) for language, part in parts]
