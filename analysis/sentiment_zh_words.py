"""The Chinese words the sentiment rules read (:mod:`analysis.sentiment_zh`), and what a
comment does that needs no score: ask (:func:`asks`) or tell an errand
(:func:`tells_an_errand`).

Each list says why it is there; the words are written as space-separated text, easier to read
in Chinese. Changing a list changes what the rules score: raise
``analysis.sentiment_zh.RULES_VERSION`` so that stored comments are scored again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence


def _words(text: str) -> list[str]:
    """Word lists are written as space-separated text: easier to read in Chinese."""
    return text.split()


# Words that reverse the sentiment word after them (within a few words, same clause).
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
# A problem told with what became of it: "电梯坏了，两个小时就修好了". A word saying the
# problem was dealt with (and not negated: "还没修好" stays a complaint) weighs like a
# contrast: what came before it in its sentence, the problem, counts half, and its clause
# with the rest of the sentence × 1.5.
RESOLVED = frozenset(_words("修好 修复 疏通 解决 解决了 已解决 处理好 搞定 恢复正常 落实"))
# ... when it is done, not awaited ("等解决", "希望尽快解决", "能给解决吗"): 了 after it, or
# 已/已经 before it.
DONE_AFTER = frozenset(_words("了 啦"))
DONE_BEFORE = frozenset(_words("已 已经 都"))
# A fix wished for or awaited says something is broken: "希望尽快解决", "等修好".
AWAIT = frozenset(_words("等 等着 尽快 赶紧 赶快 早日 及早"))
# Rhetorical questions turn praise into complaint: "能不能认真一点？", "难道这就是便民吗？".
# In a clause with one of these, positive words count negatively (and half).
DEMAND = frozenset(_words("能不能 能否 可不可以 难道 凭什么 为什么 为何 怎么"))
# A wish for "a bit more" of something says it is lacking: "希望态度好一点", "请快点".
# In a clause with a wish word, a positive word followed by 一点/一些 counts negatively.
# (A bare wish, "希望越来越好", stays praise.)
WISH = frozenset(_words("希望 建议 请 应该 要求 最好 麻烦 盼望 期待"))
MORE = frozenset(_words("一点 一点儿 一些 点 些 点儿"))
# A quick response is a problem dealt with: "投诉之后马上有人回电话", "第二天就有人来处理了",
# "噪音问题很快就处理了". Someone (有人), or a response told as done (处理了, 回复了), after a
# word of speed in the same clause weighs like a fix told as done (QUICK_RESPONSE_SCORE, and
# the complaint before it counts half); wished for or awaited ("希望马上有人来") it is a
# complaint like any awaited fix.
QUICK = frozenset(_words("马上 立刻 立即 随即 当即 很快 及时 迅速 当天 当场 第二天 次日 不久"))
SOMEONE = "有人"
RESPONSE = frozenset(_words("处理 回复 答复 上门 联系 回电话 回电 派人 来修"))
# A fix asked about is awaited: "什么时候能修好路灯", "多久能解决" (jieba cuts 什么时候 in two, so
# these are matched in the clause's joined text).
WHEN = ("什么时候", "何时", "啥时候", "多久", "哪天", "几时", "多长时间")
# Inquiries and suggestions ("请问周六上班吗", "希望增加一个停车场", "能不能晚上也开放") say
# nothing good or bad: without any sentiment word, such a comment is neutral whatever its
# n-grams lean to (ChineseAnalyser.polarity). Narrowly: an inquiry names itself (请问, 咨询),
# a suggestion asks for something more (建议/希望/能不能 … 增加/多/开放); a bare question
# is not enough, as in reviews it is mostly a reproach ("什么玩意", "怎么吃啊？", "还能再慢点
# 吗"), and a negator (but for the A-not-A of a question: 能 不能) or a reproach (REPROACH:
# "为什么没人管") makes it a complaint.
INQUIRY = frozenset(_words("请问 问一下 问下 想问 想问下 想问问 咨询 想咨询 请教 想了解"))
SUGGESTION = frozenset(_words("建议 希望 能否 能不能 可不可以 可否 可以 最好"))
MORE_OF = frozenset(_words(
    "增加 增设 添加 多 加 加装 多加 多开 多设 设 设置 开通 开放 延长 安排 组织 提供 配备 "
    "安装 装 开设 新建 修建 增开 开门 营业 上班"))
REPROACH = frozenset(_words("为什么 为何 凭什么 难道 还是 又 老是 总是 一直 到底 究竟 管 管管"))
# Question words of a clause in which 可以 is the modal "can" (below).
QUESTION = INQUIRY | (SUGGESTION - {"可以"}) | frozenset(_words("吗 么 呢 哪里 哪儿 几点 多少"))
# Saying what one came for or when ("我是来办理社保卡的", "我来交物业费", "上午去的") is no
# judgement either: a short comment (at most ERRAND_TOKENS words) with a word of coming and
# an errand or a time, and none of the words that turn a report into a complaint ("刚来就这样",
# "又来了", "来了三次才办成").
COMING = frozenset(_words("来 去 过来 前来 来到 来过 去过 来的 去的"))
ERRAND = frozenset(_words(
    "办 办理 交 缴 缴费 交费 领 领取 取 补办 盖章 预约 登记 报名 咨询 看病 挂号 复印 打印 "
    "开证明 申请 办证 年检 体检 打疫苗 接种 取号 拿"))
TIMES = frozenset(_words(
    "今天 昨天 前天 上午 下午 中午 晚上 早上 上周 这周 周末 今天上午 今天下午 昨天上午 "
    "昨天下午 刚才 刚刚"))
NOT_ERRAND = frozenset(_words("就 才 还 又 都 竟然 居然 结果 这样 这么 那么 太 白 白跑 几次 几趟"))
ERRAND_TOKENS = 8
# Words that praise mildly at the end of a clause ("服务还行，质量可以") but are a modal verb
# before another word in a question ("哪里可以办理", "可以增加一些垃圾桶吗"): there they score
# nothing. (Outside questions the reviews' modal 可以 is mostly in praise: "可以帮助孩子".)
MODAL = frozenset(_words("可以"))
# The runaround counted in trips: "办个证跑了五趟", "来回跑了好几趟" (one trip is the promise
# of 最多跑一次, so 一趟 is no complaint; digits are all written 0, so only numerals count).
TRIP_VERBS = frozenset(_words("跑 来回 往返"))
TRIPS = re.compile("(?:[两二三四五六七八九十几]|好几|好多|很多)+[趟次回]?")
# Aspect nouns whose adjective's polarity depends on them: high efficiency is good,
# high fees are bad, a long wait is bad.
ASPECT_UP = ("效率", "速度", "质量", "素质", "水平", "满意度", "服务质量", "能力")
ASPECT_DOWN = ("收费", "费用", "价格", "价钱", "房价", "成本", "门槛", "时间", "等待", "排队", "队")
ASPECT_ADJECTIVES: Mapping[str, float] = {
    "高": 1.0, "低": -1.0, "长": 1.0, "短": -1.0, "久": 1.0, "多": 0.5, "少": -0.5,
}
PARTICLES = "了的啊呀吧啦哦嘛呢得地"
HAO_NOT_PRAISE = ("几", "多", "些", "像", "似")  # 好几次, 好多人: "好" means "quite"

# jieba gives each punctuation mark as a token of its own; these end a clause.
CLAUSE_ENDS = frozenset("，,。.！!？?；;：:、~～…\n\r\t")
# What separates words without being one: clause ends and spaces (normalise() leaves every
# run of spaces one " ").
BREAKS = CLAUSE_ENDS | frozenset(" \u3000\xa0")
EXCLAMATIONS = frozenset("！!")
SENTENCE_ENDS = frozenset("。.！!？?；;…\n\r")


def asks(tokens: Sequence[str]) -> bool:
    """Whether a segmented text is an inquiry (INQUIRY) or a suggestion (SUGGESTION or an
    A-not-A question, with MORE_OF) with no negator (but for the A-not-A: 能 不能, 有 没有)
    and no reproach (REPROACH) in it."""
    if not REPROACH.isdisjoint(tokens):
        return False
    suggests = not SUGGESTION.isdisjoint(tokens)
    for i, token in enumerate(tokens):
        if token in NEGATORS or token in SOFT_NEGATORS:
            if not _a_not_a(tokens, i):
                return False
            suggests = True
    return not INQUIRY.isdisjoint(tokens) or (suggests and not MORE_OF.isdisjoint(tokens))


def tells_an_errand(tokens: Sequence[str]) -> bool:
    """Whether a short segmented text of one clause only says what one came for or when
    (COMING with an ERRAND or one of TIMES), with no negator, reproach or NOT_ERRAND word."""
    places = [i for i, t in enumerate(tokens) if t not in BREAKS]
    if not places or any(t in CLAUSE_ENDS for t in tokens[:places[-1]]):
        return False  # nothing, or more than one clause: "今天来办证，排了两个小时"
    words = [tokens[i] for i in places]
    return (len(words) <= ERRAND_TOKENS and not COMING.isdisjoint(words)
            and not (ERRAND.isdisjoint(words) and TIMES.isdisjoint(words))
            and NOT_ERRAND.isdisjoint(words) and REPROACH.isdisjoint(words)
            and NEGATORS.isdisjoint(words) and SOFT_NEGATORS.isdisjoint(words)
            and DEMAND.isdisjoint(words))


def _a_not_a(tokens: Sequence[str], i: int) -> bool:
    """Whether the negator at ``i`` is the middle of an A-not-A question: 能 不能, 有 没有,
    可 不可以, 是 不是."""
    rest = tokens[i][1:]
    return i > 0 and bool(rest) and rest.startswith(tokens[i - 1])
