"""Themes: the most frequent topics in a unit's comments, with counts, small cells suppressed.

Two kinds of theme:

- Topics from a configurable dictionary, topic id → keywords per language (``DEFAULT_TOPICS``
  below; config.yaml may give its own as a ``Mapping[str, Mapping[str, Sequence[str]]]``).
  English keywords match lower-cased words after a simple plural strip ("queues" → "queue";
  a keyword of several words matches those words in a row). Chinese keywords of two or more
  characters match as substrings of the comment (after traditional characters are mapped to
  simplified), so no segmentation is needed for topics; a one-character Chinese keyword
  matches a whole word of jieba's segmentation. Keywords of both languages are looked for in
  every comment, so a mixed-language comment counts for what it says in either. A comment
  counts once per topic, however many of its keywords it has.
- Keywords: frequent words that belong to no topic, so unexpected themes surface ("停车",
  "elevator"). English words of three letters or more; Chinese words of two characters or
  more from jieba's segmentation. Stopwords are left out (``data/stopwords_en.txt``,
  ``data/stopwords_zh.txt``), and so are the Chinese sentiment lexicon's words, the
  sentiment rules' words (negators, degree adverbs) and words that are part of a topic's
  keyword: a theme is a subject, not an evaluation. Keywords are taken only from comments
  in English or Chinese (``language`` "en" or "zh"), not from "und" ones.

Privacy: a unit with fewer than ``min_cell`` (5) responses shows no themes at all, and any
theme mentioned by fewer than ``min_cell`` comments is left out, because cadres see themes
and a cell under 5 could point to a resident.

Cost (one core, short comments, 60% Chinese): topics alone need no segmentation, about
90,000 comments/s; with keywords, which segment Chinese comments with jieba, about 30,000/s
(100,000 comments over 2,000 units: 1.1 s and 3.5 s). ``keywords=False`` skips them.
The compiled form of a topic mapping is kept per mapping object: pass the same (unchanged)
mapping each time rather than a new copy per call.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from analysis import sentiment_zh, sentiment_zh_words
from analysis.language import script_parts

Topics = Mapping[str, Mapping[str, Sequence[str]]]

# About a dozen public-service topics in English and Chinese (simplified; traditional input is
# mapped to simplified before matching). Chinese keywords are two characters or more so that
# topics match without segmentation.
DEFAULT_TOPICS: Topics = {
    "waiting": {
        "en": ["queue", "wait", "waiting", "waited", "line", "long line", "waiting time",
               "ticket number", "hour"],
        "zh": ["排队", "排长队", "等待", "等候", "久等", "等了", "等半天", "队伍", "叫号",
               "取号", "太久", "好久"],
    },
    "attitude": {
        "en": ["attitude", "rude", "polite", "impolite", "friendly", "unfriendly", "arrogant",
               "patient", "impatient", "courteous", "respectful", "disrespectful", "shouted",
               "smile", "helpful", "unhelpful"],
        "zh": ["态度", "热情", "冷漠", "冷淡", "耐心", "不耐烦", "礼貌", "傲慢", "脸色",
               "爱理不理", "微笑", "凶巴巴", "蛮横", "客气", "亲切"],
    },
    "efficiency": {
        "en": ["efficient", "efficiency", "inefficient", "quick", "quickly", "slow", "slowly",
               "speed", "delay", "delayed", "prompt", "promptly", "took forever"],
        "zh": ["效率", "速度", "快捷", "迅速", "及时", "拖延", "拖拉", "拖沓", "缓慢", "很慢",
               "太慢", "很快", "高效", "低效", "延误", "磨蹭", "当场办"],
    },
    "runaround": {
        "en": ["runaround", "sent back", "back and forth", "passed around", "another office",
               "another department", "several trips", "many trips", "again and again",
               "not our department", "not my job"],
        "zh": ["推诿", "踢皮球", "推来推去", "扯皮", "来回跑", "跑了好几趟", "跑好几趟",
               "跑了几趟", "多次跑", "白跑", "跑断腿", "不归", "推脱", "多跑", "折腾"],
    },
    "requirements": {
        "en": ["document", "paperwork", "form", "requirement", "certificate", "proof",
               "procedure", "unclear", "confusing", "what to bring", "stamp"],
        "zh": ["材料", "手续", "证明", "表格", "说不清", "讲不清", "不明确", "一次性告知",
               "流程", "程序", "繁琐", "盖章", "证件", "复印件", "要求不"],
    },
    "resolved": {
        "en": ["solved", "resolved", "fixed", "sorted out", "dealt with", "handled",
               "taken care of"],
        "zh": ["解决", "处理好", "办好", "办成", "办结", "落实", "办妥", "已处理", "搞定"],
    },
    "no_response": {
        "en": ["no response", "no reply", "no answer", "ignored", "never heard back",
               "nobody answered", "nobody came", "unanswered"],
        "zh": ["没人管", "没人理", "无人管", "没回复", "没有回复", "没答复", "石沉大海",
               "不了了之", "没下文", "没有下文", "无人问津", "打不通", "没人接"],
    },
    "fees": {
        "en": ["fee", "charge", "charged", "cost", "expensive", "price", "money", "payment",
               "fine", "overcharged"],
        "zh": ["收费", "费用", "乱收费", "价格", "缴费", "交费", "罚款", "多收", "太贵",
               "花钱", "交钱", "要钱", "多少钱"],
    },
    "integrity": {
        "en": ["bribe", "bribery", "corrupt", "corruption", "favouritism", "favoritism",
               "connections", "kickback"],
        "zh": ["红包", "腐败", "吃拿卡要", "走后门", "关系户", "索要", "受贿", "好处费",
               "送礼", "贪污"],
    },
    "facilities": {
        "en": ["facility", "toilet", "restroom", "seat", "seating", "parking",
               "air conditioning", "building", "hall", "crowded", "sign", "signage",
               "elevator", "lift", "wheelchair"],
        "zh": ["环境", "设施", "大厅", "座位", "座椅", "厕所", "卫生间", "停车", "空调",
               "饮水", "拥挤", "指示牌", "标识", "电梯", "无障碍"],
    },
    "online": {
        "en": ["online", "website", "app", "system", "portal", "login", "log in", "internet",
               "hotline", "phone", "crash", "crashed"],
        "zh": ["网上", "线上", "网站", "系统", "小程序", "公众号", "登录", "登陆", "掌上",
               "热线", "电话", "闪退", "在线", "网络"],
    },
    "roads": {
        "en": ["road", "street", "pothole", "pavement", "sidewalk", "traffic", "streetlight",
               "street light", "bridge", "crossing", "flooding"],
        "zh": ["道路", "马路", "路面", "路灯", "坑洼", "修路", "交通", "红绿灯", "人行道",
               "桥梁", "积水", "堵车", "拥堵", "路口", "坑洞"],
    },
    "sanitation": {
        "en": ["garbage", "rubbish", "trash", "litter", "smell", "sewage", "drain", "drainage",
               "sanitation", "bin", "dirty", "waste collection"],
        "zh": ["垃圾", "卫生", "清运", "环卫", "保洁", "臭味", "发臭", "恶臭", "很臭", "异味",
               "污水", "下水道", "公厕", "很脏", "太脏", "脏乱", "肮脏", "清扫", "蚊蝇"],
    },
}

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _singular(word: str) -> str:
    """A simple plural strip: queues → queue, facilities → facility, boxes → box."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "zes", "sses")):
        return word[:-2]
    return word[:-1]


def _english_words(text: str) -> list[str]:
    return [_singular(word) for word in _WORD.findall(text.lower().replace("’", "'"))]


@dataclass(frozen=True)
class _Matcher:
    """Topics compiled for matching: English single words and phrases, Chinese keywords."""

    en_words: Mapping[str, frozenset[str]]  # word → topics
    en_phrases: Mapping[str, frozenset[str]]  # " word word " → topics
    zh_substrings: Mapping[str, frozenset[str]]  # keyword → topics (two characters or more)
    zh_words: Mapping[str, frozenset[str]]  # one-character keyword → topics
    keyword_parts: frozenset[str]  # English keyword words, kept out of free keywords
    zh_pieces: frozenset[str]  # every piece of two characters or more of a Chinese keyword


def _compile(topics: Topics) -> _Matcher:
    en_words: dict[str, set[str]] = {}
    en_phrases: dict[str, set[str]] = {}
    zh_substrings: dict[str, set[str]] = {}
    zh_words: dict[str, set[str]] = {}
    parts: set[str] = set()
    pieces: set[str] = set()
    translate = _traditional()
    for topic, by_language in topics.items():
        for keyword in by_language.get("en", ()):
            words = _english_words(keyword)
            if len(words) == 1:
                en_words.setdefault(words[0], set()).add(topic)
            elif words:
                en_phrases.setdefault(f" {' '.join(words)} ", set()).add(topic)
            parts.update(words)
        for keyword in by_language.get("zh", ()):
            keyword = keyword.strip().translate(translate)
            if not keyword:
                continue
            target = zh_substrings if len(keyword) > 1 else zh_words
            target.setdefault(keyword, set()).add(topic)
            pieces.update(
                keyword[start:end]
                for start in range(len(keyword))
                for end in range(start + 2, len(keyword) + 1)
            )

    def frozen(table: dict[str, set[str]]) -> dict[str, frozenset[str]]:
        return {key: frozenset(value) for key, value in table.items()}

    return _Matcher(
        frozen(en_words), frozen(en_phrases), frozen(zh_substrings), frozen(zh_words),
        frozenset(parts), frozenset(pieces),
    )


_matchers: dict[int, tuple[Topics, _Matcher]] = {}


def _matcher(topics: Topics) -> _Matcher:
    """The compiled form of ``topics``, kept while the same mapping object is in use."""
    entry = _matchers.get(id(topics))
    if entry is None or entry[0] is not topics:
        if len(_matchers) > 32:
            _matchers.clear()
        entry = (topics, _compile(topics))
        _matchers[id(topics)] = entry
    return entry[1]


@cache
def _traditional() -> dict[int, str]:
    return sentiment_zh.read_traditional_map()


@cache
def _stopwords(language: str) -> frozenset[str]:
    path = sentiment_zh.DATA_DIR / f"stopwords_{language}.txt"
    words = {
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    if language == "zh":
        words |= set(sentiment_zh.read_lexicon([sentiment_zh.HAND_LEXICON]).words)
        rules = sentiment_zh_words
        words |= rules.NEGATORS | rules.SOFT_NEGATORS | set(rules.DEGREE)
        words |= rules.CONTRAST | rules.CONCESSIVE | rules.WISH
    return frozenset(words)


def _topics_of(text: str, matcher: _Matcher) -> set[str]:
    found: set[str] = set()
    words = _english_words(text)
    if words:
        for word in words:
            topics = matcher.en_words.get(word)
            if topics:
                found |= topics
        if matcher.en_phrases:
            joined = f" {' '.join(words)} "
            for phrase, topics in matcher.en_phrases.items():
                if phrase in joined:
                    found |= topics
    if not text.isascii() and _HAN.search(text):
        simplified = text.translate(_traditional())
        for keyword, topics in matcher.zh_substrings.items():
            if not topics <= found and keyword in simplified:
                found |= topics
        if matcher.zh_words:
            for token in _zh_tokens(simplified):
                topics = matcher.zh_words.get(token)
                if topics:
                    found |= topics
    return found


def _zh_tokens(simplified: str) -> list[str]:
    return sentiment_zh.segmenter().cut(simplified)


def comment_topics(text: str, language: str, topics: Topics = DEFAULT_TOPICS) -> set[str]:
    """The topic ids a comment mentions (each at most once).

    ``language`` is the comment's detected language ("en", "zh" or "und"); keywords of both
    languages are looked for whatever it is, so that mixed comments count for both.
    """
    del language  # both scripts are always searched; kept for a uniform call
    if not text:
        return set()
    return _topics_of(text, _matcher(topics))


def _free_keywords(text: str, language: str, matcher: _Matcher) -> set[str]:
    """Words of a comment that belong to no topic and are not stopwords."""
    if language not in ("en", "zh"):
        return set()
    found: set[str] = set()
    en_stop = _stopwords("en")
    zh_stop = _stopwords("zh")
    for part_language, part in script_parts(text):
        if part_language == "en":
            for raw in _WORD.findall(part.lower().replace("’", "'")):
                word = _singular(raw)
                if (
                    len(word) >= 3
                    and raw not in en_stop
                    and word not in en_stop
                    and word not in matcher.keyword_parts
                    and "'" not in word
                ):
                    found.add(word)
        elif part_language == "zh":
            simplified = part.translate(_traditional())
            for token in _zh_tokens(simplified):
                if (
                    len(token) >= 2
                    and token not in zh_stop
                    and all("\u4e00" <= ch <= "\u9fff" for ch in token)
                    and not _overlaps_keyword(token, matcher.zh_pieces)
                ):
                    found.add(token)
    return found


def _overlaps_keyword(token: str, pieces: frozenset[str]) -> bool:
    """Whether ``token`` is part of a Chinese keyword, or has one inside it."""
    if token in pieces:
        return True
    return any(
        token[start:end] in pieces
        for start in range(len(token))
        for end in range(start + 2, len(token) + 1)
    )


@dataclass(frozen=True)
class Theme:
    """A topic (or a free keyword) and how many comments mention it.

    ``share`` is ``count`` over the comments considered (those with text). ``kind`` is
    "topic" for a configured topic id, "keyword" for a frequent word outside the topics.
    """

    topic: str
    count: int
    share: float
    kind: str = "topic"


@dataclass(frozen=True)
class ThemeSummary:
    """A unit's themes: topics and keywords with at least ``min_cell`` comments each."""

    themes: tuple[Theme, ...]
    keywords: tuple[Theme, ...] = ()
    n_responses: int = 0
    n_comments: int = 0
    suppressed: bool = False
    reason: str | None = None
    min_cell: int = 5
    hidden_topics: int = 0  # topics left out for having fewer than min_cell comments

    @property
    def note(self) -> str | None:
        """What a reader should know: why nothing is shown, or that small themes are hidden."""
        if self.suppressed:
            return self.reason
        if self.hidden_topics:
            return (
                f"{self.hidden_topics} topic(s) mentioned by fewer than {self.min_cell} "
                "comments not shown"
            )
        return None


def top_themes(
    comments: Iterable[tuple[str, str]],
    n_responses: int,
    topics: Topics = DEFAULT_TOPICS,
    top: int = 5,
    min_cell: int = 5,
    keywords: bool = True,
) -> ThemeSummary:
    """The ``top`` topics (and free keywords) of a unit's ``(text, language)`` comments.

    ``n_responses`` is the unit's number of responses: under ``min_cell`` nothing is shown
    (``suppressed``, reason "fewer than 5 responses"). Otherwise topics and keywords mentioned
    by fewer than ``min_cell`` comments are left out (topics left out are counted in
    ``hidden_topics``). Ties are broken by topic id (or word), so the result is stable.
    """
    min_cell = max(1, min_cell)
    if n_responses < min_cell:
        return ThemeSummary(
            themes=(),
            n_responses=n_responses,
            suppressed=True,
            reason=f"fewer than {min_cell} responses",
            min_cell=min_cell,
        )
    matcher = _matcher(topics)
    topic_counts: Counter[str] = Counter()
    keyword_counts: Counter[str] = Counter()
    n_comments = 0
    for text, language in comments:
        if not text or text.isspace():
            continue
        n_comments += 1
        topic_counts.update(_topics_of(text, matcher))
        if keywords:
            keyword_counts.update(_free_keywords(text, language, matcher))

    def ranked(counts: Counter[str], kind: str) -> tuple[tuple[Theme, ...], int]:
        """The top themes with at least min_cell comments, and how many fell short."""
        shown = [(name, count) for name, count in counts.items() if count >= min_cell]
        shown.sort(key=lambda item: (-item[1], item[0]))
        themes = tuple(
            Theme(name, count, count / n_comments, kind) for name, count in shown[:top]
        )
        return themes, len(counts) - len(shown)

    topic_themes, hidden_topics = ranked(topic_counts, "topic")
    keyword_themes, _ = ranked(keyword_counts, "keyword")
    return ThemeSummary(
        themes=topic_themes,
        keywords=keyword_themes,
        n_responses=n_responses,
        n_comments=n_comments,
        min_cell=min_cell,
        hidden_topics=hidden_topics,
    )
