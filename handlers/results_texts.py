"""What the bot says about appraisal results: /myscore, /results, /appeal, /appeals, /answer.

Templates are HTML; parameters are HTML-escaped by :func:`rt` unless named in ``raw``. A key
not found here (the shared ``busy.*``, ``error`` and ``db_unavailable`` texts) is looked up
in ``handlers.texts``.
"""

from __future__ import annotations

import html
import string
from collections.abc import Mapping

from handlers.texts import format_value, t

RESULTS_TEXTS: dict[str, dict[str, str]] = {
    # --- refusals -----------------------------------------------------------------------------
    "results.not_cadre": {
        "en": "This is for cadres: it shows their published appraisal and lets them contest "
        "it. If you are one, ask your admin for an invite link to link this Telegram account "
        "to your profile.",
        "zh": "此功能仅供干部查看已公布的考核结果并提出申诉。如果您是干部，请向管理员索取邀请链接，"
        "将此 Telegram 账号与您的档案关联。",
    },
    "results.not_staff": {
        "en": "Sorry, this command is for admins and auditors.",
        "zh": "抱歉，此命令仅限管理员和监督人员使用。",
    },
    "results.usage_results": {
        "en": "Usage: /results [UNIT] [PERIOD], for example /results T1 2026-Q4. Without a "
        "unit: every unit in your scope; without a period: the latest published one.",
        "zh": "用法：/results [单位代码] [期间]，例如 /results T1 2026-Q4。不写单位：您管理范围内的"
        "全部单位；不写期间：最近一次公布的结果。",
    },
    "results.unknown_unit": {
        "en": "There is no unit with the code “{code}”. /results without a code shows your "
        "whole scope.",
        "zh": "没有代码为“{code}”的单位。发送 /results（不带代码）查看您管理范围内的全部单位。",
    },
    "results.out_of_scope": {
        "en": "Sorry, the unit {code} is outside the area you oversee.",
        "zh": "抱歉，单位 {code} 不在您的管理范围内。",
    },
    "results.bad_period": {
        "en": "I cannot read the period “{period}”: use a month (2026-11), a quarter (2026-Q4) "
        "or a year (2026).",
        "zh": "无法识别期间“{period}”：请使用月份（2026-11）、季度（2026-Q4）或年份（2026）。",
    },
    "results.no_published": {
        "en": "No appraisal has been published yet. Results appear here once a period has "
        "been computed and published (civicpulse appraisal publish).",
        "zh": "尚未公布任何考核结果。考核期间计算并公布后，结果会显示在这里。",
    },
    "results.no_published_period": {
        "en": "No appraisal was published for {period}. Published periods: {periods}.",
        "zh": "{period} 没有已公布的考核结果。已公布的期间：{periods}。",
    },
    "results.appeal_no_result": {
        "en": "There is no published appraisal result of yours to contest yet.",
        "zh": "您目前没有可以申诉的已公布考核结果。",
    },
    "results.appeal_already": {
        "en": "You have already appealed this result (appeal #{id} of {date}); its status: "
        "{status}. Each published result can be appealed once.",
        "zh": "您已对该结果提出过申诉（第 {id} 号申诉，{date}），当前状态：{status}。"
        "每个已公布的结果只能申诉一次。",
    },
    "results.appeal_invisible": {
        "en": "That reason has no visible text (only invisible or control characters). Please "
        "explain in {min} to {max} characters what the appraisal got wrong. Nothing was filed.",
        "zh": "申诉理由没有可见的文字（只有不可见字符或控制字符）。请用 {min} 至 {max} 个字说明考核"
        "结果哪里有误。未提交任何申诉。",
    },
    "results.appeal_short": {
        "en": "That reason is too short ({length} characters). Please explain in {min} to "
        "{max} characters what the appraisal got wrong. Nothing was filed.",
        "zh": "申诉理由太短（{length} 个字）。请用 {min} 至 {max} 个字说明考核结果哪里有误。"
        "未提交任何申诉。",
    },
    "results.appeal_long": {
        "en": "That reason is too long ({length} characters): please keep it to {max}. "
        "Nothing was filed.",
        "zh": "申诉理由太长（{length} 个字），请控制在 {max} 个字以内。未提交任何申诉。",
    },
    "results.appeal_unknown": {
        "en": "There is no appeal #{id} that you can answer.",
        "zh": "没有您可以答复的第 {id} 号申诉。",
    },
    "results.appeal_own": {
        "en": "Appeal #{id} is your own: someone else has to answer it. Nothing was changed.",
        "zh": "第 {id} 号申诉是您本人提出的，须由其他人答复。未做任何更改。",
    },
    "results.appeal_answered": {
        "en": "Appeal #{id} has already been answered ({status}). Nothing was changed.",
        "zh": "第 {id} 号申诉已经答复（{status}）。未做任何更改。",
    },
    "results.answer_invisible": {
        "en": "That answer has no visible text (only invisible or control characters). Please "
        "write the answer the cadre will read (at least {min} characters). Appeal #{id} is "
        "still open.",
        "zh": "答复没有可见的文字（只有不可见字符或控制字符）。请填写干部将看到的答复（至少 {min} "
        "个字）。第 {id} 号申诉仍未答复。",
    },
    "results.answer_short": {
        "en": "Please write the answer the cadre will read (at least {min} characters). "
        "Appeal #{id} is still open.",
        "zh": "请填写干部将看到的答复（至少 {min} 个字）。第 {id} 号申诉仍未答复。",
    },
    "results.answer_long": {
        "en": "That answer is too long ({length} characters): please keep it to {max}. "
        "Appeal #{id} is still open.",
        "zh": "答复太长（{length} 个字），请控制在 {max} 个字以内。第 {id} 号申诉仍未答复。",
    },
    "results.forged": {"en": "This button is not valid.", "zh": "此按钮无效。"},
    "results.no_dialogue": {
        "en": "Nothing is waiting for an answer: tap Uphold or Reject under an appeal in "
        "/appeals first.",
        "zh": "当前没有待填写的答复：请先在 /appeals 中点击申诉下方的“支持”或“驳回”。",
    },
    "results.usage_answer": {
        "en": "Usage: /answer ID uphold|reject your answer, for example "
        "/answer 12 reject The survey closed after the repair. Or tap Uphold or Reject "
        "under an appeal in /appeals.",
        "zh": "用法：/answer 编号 uphold|reject 答复内容，例如 /answer 12 reject 问卷在维修完成后"
        "才结束。也可以在 /appeals 中点击申诉下方的按钮。",
    },
    # --- /myscore -----------------------------------------------------------------------------
    "results.my.none": {
        "en": "No published appraisal yet for you. Your result appears here once an appraisal "
        "period has been computed and published.",
        "zh": "您还没有已公布的考核结果。考核期间计算并公布后，结果会显示在这里。",
    },
    "results.my.title": {
        "en": "<b>Your appraisal · {period}</b> (version {version}, published {date})\n"
        "{name} · {unit}",
        "zh": "<b>您的考核结果 · {period}</b>（第 {version} 版，公布于 {date}）\n{name} · {unit}",
    },
    "results.my.score": {
        "en": "Score: <b>{score}</b> / 100 · grade: <b>{grade}</b>",
        "zh": "得分：<b>{score}</b> / 100 · 等次：<b>{grade}</b>",
    },
    "results.my.rank": {
        "en": "Rank: {rank} of {ranked}",
        "zh": "排名：第 {rank} 名（共 {ranked} 名）",
    },
    "results.my.rank_alone": {"en": "Rank: {rank}", "zh": "排名：第 {rank} 名"},
    "results.my.not_enough": {
        "en": "Not graded: not enough responses ({n} of {min} needed). A score from so few "
        "answers would be mostly chance.",
        "zh": "未评定等次：有效回答不足（{n} 份，至少需要 {min} 份）。"
        "回答太少时得分主要取决于偶然。",
    },
    "results.my.no_data": {
        "en": "Not graded: there was no data for this period.",
        "zh": "未评定等次：本期间没有数据。",
    },
    "results.my.responses": {
        "en": "Valid resident responses: {n}",
        "zh": "有效群众回答：{n} 份",
    },
    "results.components": {
        "en": "<b>Breakdown</b> (weight · score · n · 95% interval)",
        "zh": "<b>得分构成</b>（权重 · 得分 · 样本数 · 95% 区间）",
    },
    "results.component": {
        "en": "• {label}: {weight} · {score} · n={n} · {interval}{note}",
        "zh": "• {label}：{weight} · {score} · n={n} · {interval}{note}",
    },
    "results.no_components": {
        "en": "• No components were recorded.",
        "zh": "• 没有记录得分构成。",
    },
    "results.views": {
        "en": "<b>Residents' view and your own</b>\nResidents and inspectors: {others} · "
        "your self-assessment: {self}",
        "zh": "<b>群众评价与自我评价</b>\n群众和核查人员：{others} · 您的自评：{self}",
    },
    "results.views.flag": {
        "en": "Your self-assessment is higher than what residents and inspectors report, by "
        "more than the configured margin; the appraisal notes this difference for review.",
        "zh": "您的自评高于群众和核查人员的评价，差距超过设定的幅度；"
        "考核结果记录了这一差异，供复核参考。",
    },
    "results.themes": {
        "en": "<b>What residents mention most</b>",
        "zh": "<b>群众最常提到的话题</b>",
    },
    "results.theme": {
        "en": "• {topic}: {count} ({share})",
        "zh": "• {topic}：{count} 次（{share}）",
    },
    "results.themes.hidden": {
        "en": "Residents' themes are not shown: there were too few responses or comments "
        "(fewer than {min_cell}) to show them without singling anyone out.",
        "zh": "不显示群众话题：回答或留言太少（少于 {min_cell} 份），显示可能识别出个人。",
    },
    "results.themes.small": {
        "en": "Topics mentioned in fewer than {min_cell} comments are not shown.",
        "zh": "提及少于 {min_cell} 次的话题不予显示。",
    },
    "results.themes.none": {
        "en": "No recurring themes in residents' comments.",
        "zh": "群众留言中没有反复出现的话题。",
    },
    "results.training": {"en": "<b>Suggested training</b>", "zh": "<b>建议培训</b>"},
    "results.recognition": {
        "en": "🏅 Recognised: among the best this period.",
        "zh": "🏅 表彰：本期间名列前茅。",
    },
    "results.excluded": {
        "en": "Excluded from the score: {total} responses that looked careless or gamed "
        "({kinds}). They are kept for auditors.",
        "zh": "未计入得分：{total} 份疑似敷衍或刷票的回答（{kinds}），已保留供监督人员核查。",
    },
    "results.excluded.none": {
        "en": "No responses were excluded.",
        "zh": "没有回答被排除。",
    },
    "results.trend": {"en": "<b>Trend</b>: {items}", "zh": "<b>趋势</b>：{items}"},
    "results.trend.first": {
        "en": "<b>Trend</b>: this is your first published period.",
        "zh": "<b>趋势</b>：这是您第一个已公布的考核期间。",
    },
    "results.explanation": {
        "en": "<i>How it was computed:</i> {text}",
        "zh": "<i>计算说明：</i>{text}",
    },
    "results.appeal.hint": {
        "en": "To contest this result: /appeal followed by your reason.",
        "zh": "如对结果有异议：发送 /appeal 并附上理由。",
    },
    "results.appeal.open": {
        "en": "You appealed this result on {date} (appeal #{id}); it is waiting for an answer.",
        "zh": "您已于 {date} 对该结果提出申诉（第 {id} 号），正在等待答复。",
    },
    "results.appeal.closed": {
        "en": "Your appeal #{id} was {status} on {date}: “{answer}”",
        "zh": "您的第 {id} 号申诉已于 {date} {status}：“{answer}”",
    },
    "results.caption": {
        "en": "{name} · {period}: {score}",
        "zh": "{name} · {period}：{score}",
    },
    # --- /results -----------------------------------------------------------------------------
    "results.table.title": {
        "en": "<b>Appraisal results · {period}</b> (version {version}, published {date})\n"
        "Scope: {scope}",
        "zh": "<b>考核结果 · {period}</b>（第 {version} 版，公布于 {date}）\n范围：{scope}",
    },
    "results.table.all": {"en": "all units", "zh": "全部单位"},
    "results.table.units": {
        "en": "<b>Units</b> (rank · unit · score · grade · n)",
        "zh": "<b>单位</b>（排名 · 单位 · 得分 · 等次 · 样本数）",
    },
    "results.table.cadres": {
        "en": "<b>Cadres</b> (rank · name · unit · score · grade · n)",
        "zh": "<b>干部</b>（排名 · 姓名 · 单位 · 得分 · 等次 · 样本数）",
    },
    "results.table.row": {
        "en": "{rank}. {who} — {score} {grade} · n={n}{flag}",
        "zh": "{rank}. {who} — {score} {grade} · n={n}{flag}",
    },
    "results.table.ungraded": {
        "en": "– {who} — not enough responses ({n} of {min})",
        "zh": "– {who} — 有效回答不足（{n} 份，至少需要 {min} 份）",
    },
    "results.table.nodata": {"en": "– {who} — no data", "zh": "– {who} — 没有数据"},
    "results.table.more": {
        "en": "… and {count} more. Narrow it down with /results UNIT.",
        "zh": "……另有 {count} 项。可用 /results 单位代码 缩小范围。",
    },
    "results.table.no_units": {
        "en": "No unit in this scope has a result for {period}.",
        "zh": "该范围内没有单位在 {period} 有考核结果。",
    },
    "results.table.no_cadres": {
        "en": "No cadre of these units has a result for {period}.",
        "zh": "这些单位的干部在 {period} 没有考核结果。",
    },
    "results.table.periods": {
        "en": "Published periods: {periods}. Another one: /results {unit}PERIOD",
        "zh": "已公布的期间：{periods}。查看其他期间：/results {unit}期间",
    },
    # --- /appeal ------------------------------------------------------------------------------
    "results.appeal.ask": {
        "en": "You are contesting your published result for {period} ({score}). What did the "
        "appraisal get wrong? Send your reason as one message ({min} to {max} characters), "
        "or /cancel.",
        "zh": "您正在对 {period} 已公布的考核结果（{score}）提出申诉。"
        "请用一条消息说明考核结果哪里有误（{min} 至 {max} 个字），或发送 /cancel 取消。",
    },
    "results.appeal.filed": {
        "en": "✅ Appeal #{id} filed against your result for {period} (version {version}, "
        "{score}).\nIt will be answered by {who}. You will get the answer here.",
        "zh": "✅ 已提交第 {id} 号申诉，针对您 {period} 的考核结果（第 {version} 版，{score}）。\n"
        "将由{who}答复，答复会发送到这里。",
    },
    "results.appeal.who": {
        "en": "an admin or auditor responsible for {unit} ({names})",
        "zh": "负责{unit}的管理员或监督人员（{names}）",
    },
    "results.appeal.who_more": {
        "en": "an admin or auditor responsible for {unit} ({names} and {more} more)",
        "zh": "负责{unit}的管理员或监督人员（{names}，另有 {more} 人）",
    },
    "results.appeal.who_unknown": {
        "en": "an admin or auditor responsible for {unit}",
        "zh": "负责{unit}的管理员或监督人员",
    },
    "results.appeal.cancelled": {
        "en": "Cancelled: no appeal was filed.",
        "zh": "已取消，未提交申诉。",
    },
    "results.appeal.notify": {
        "en": "📨 New appeal #{id} from {cadre} ({unit}) against the result for {period}: "
        "“{reason}”\nSee /appeals to answer it.",
        "zh": "📨 新申诉第 {id} 号：{cadre}（{unit}）对 {period} 的考核结果提出申诉：“{reason}”\n"
        "发送 /appeals 进行答复。",
    },
    # --- /appeals, answers --------------------------------------------------------------------
    "results.appeals.title": {
        "en": "<b>Open appeals</b> ({total}), the longest waiting first",
        "zh": "<b>待答复的申诉</b>（{total} 件），等待最久的在前",
    },
    "results.appeals.none": {
        "en": "No open appeals in your scope.",
        "zh": "您的管理范围内没有待答复的申诉。",
    },
    "results.appeals.item": {
        "en": "<b>#{id}</b> · {cadre} · {unit} · {period} v{version} · {score}\n"
        "Filed {date}: “{reason}”{own}",
        "zh": "<b>#{id}</b> · {cadre} · {unit} · {period} 第 {version} 版 · {score}\n"
        "提交于 {date}：“{reason}”{own}",
    },
    "results.appeals.own": {
        "en": "\n(your own appeal: someone else answers it)",
        "zh": "\n（您本人的申诉，须由他人答复）",
    },
    "results.appeals.more": {
        "en": "Showing the {shown} longest waiting of {total}.",
        "zh": "显示等待最久的 {shown} 件，共 {total} 件。",
    },
    "results.appeals.footer": {
        "en": "Tap Uphold or Reject, then send the answer the cadre will read. Or in one "
        "message: /answer ID uphold|reject your answer.",
        "zh": "点击“支持”或“驳回”后，发送干部将看到的答复。也可以直接发送：/answer 编号 "
        "uphold|reject 答复内容。",
    },
    "results.btn.uphold": {"en": "✔ Uphold #{id}", "zh": "✔ 支持 #{id}"},
    "results.btn.reject": {"en": "✖ Reject #{id}", "zh": "✖ 驳回 #{id}"},
    "results.answer.ask": {
        "en": "Appeal #{id} by {cadre} ({unit}, {period}): you chose to <b>{decision}</b> it.\n"
        "Send the answer {cadre} will read ({min} to {max} characters), or /cancel.",
        "zh": "{cadre}（{unit}，{period}）的第 {id} 号申诉：您选择<b>{decision}</b>。\n"
        "请发送{cadre}将看到的答复（{min} 至 {max} 个字），或发送 /cancel 取消。",
    },
    "results.answer.cancelled": {
        "en": "Answer dropped; appeal #{id} stays open.",
        "zh": "已放弃答复，第 {id} 号申诉仍待答复。",
    },
    "results.answer.done": {
        "en": "✅ Appeal #{id} {status}. {told}",
        "zh": "✅ 第 {id} 号申诉已{status}。{told}",
    },
    "results.answer.told": {
        "en": "{cadre} has been sent your answer.",
        "zh": "已将您的答复发送给{cadre}。",
    },
    "results.answer.not_told": {
        "en": "{cadre} could not be reached in chat; they will see the answer with /myscore.",
        "zh": "无法通过聊天联系到{cadre}，对方可通过 /myscore 查看答复。",
    },
    "results.answer.cadre": {
        "en": "📬 Your appeal #{id} against the result for {period} was <b>{status}</b> by "
        "{reviewer}:\n“{answer}”\n{meaning}",
        "zh": "📬 您针对 {period} 考核结果的第 {id} 号申诉已被{reviewer}<b>{status}</b>：\n"
        "“{answer}”\n{meaning}",
    },
    "results.answer.meaning.upheld": {
        "en": "An upheld appeal means the result is reviewed; a corrected version is published "
        "if needed.",
        "zh": "申诉获支持意味着该结果将被复核，如有需要会公布更正后的版本。",
    },
    "results.answer.meaning.rejected": {
        "en": "The published result stands.",
        "zh": "已公布的结果维持不变。",
    },
    # --- words --------------------------------------------------------------------------------
    "results.decision.uphold": {"en": "uphold", "zh": "支持"},
    "results.decision.reject": {"en": "reject", "zh": "驳回"},
    "results.status.open": {"en": "open", "zh": "待答复"},
    "results.status.upheld": {"en": "upheld", "zh": "支持"},
    "results.status.rejected": {"en": "rejected", "zh": "驳回"},
    "results.status.answered": {"en": "answered", "zh": "已答复"},
    "results.grade.excellent": {"en": "excellent", "zh": "优秀"},
    "results.grade.good": {"en": "good", "zh": "良好"},
    "results.grade.fair": {"en": "fair", "zh": "一般"},
    "results.grade.poor": {"en": "poor", "zh": "较差"},
    "results.grade.none": {"en": "not graded", "zh": "未评定"},
    "results.kind.too_fast": {"en": "answered too fast", "zh": "作答过快"},
    "results.kind.straight_lining": {
        "en": "same answer to every question",
        "zh": "所有题目同一答案",
    },
    "results.kind.duplicate_comment": {"en": "duplicate comment", "zh": "重复留言"},
    "results.kind.entry_burst": {
        "en": "burst through one entry point",
        "zh": "同一入口短时集中提交",
    },
    "results.kind.cadre_respondent": {
        "en": "answered by a cadre of the unit",
        "zh": "由本单位干部作答",
    },
    "results.no_score": {"en": "no score", "zh": "无得分"},
    "results.no_interval": {"en": "no interval", "zh": "无区间"},
    "results.no_view": {"en": "none", "zh": "无"},
    "results.recognised": {"en": " 🏅", "zh": " 🏅"},
}


class _Lenient(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"


def rt(key: str, lang: str, params: Mapping[str, object] | None = None, *,
       raw: frozenset[str] = frozenset()) -> str:
    """The text ``key`` in ``lang`` (English if missing), as HTML, with ``params`` filled in
    (HTML-escaped unless named in ``raw``). Keys not defined here come from
    ``handlers.texts``."""
    entry = RESULTS_TEXTS.get(key)
    if entry is None:
        return t(key, lang, params, raw=raw)
    template = entry.get(lang) or entry["en"]
    values = _Lenient({
        k: (str(v) if k in raw else html.escape(format_value(v, lang), quote=False))
        for k, v in (params or {}).items()
    })
    return string.Formatter().vformat(template, (), values)


def word(kind: str, value: str | None, lang: str) -> str:
    """A known word (grade, status, decision, anomaly kind) in ``lang``; else as stored."""
    if value is None:
        return rt(f"results.{kind}.none", lang) if f"results.{kind}.none" in RESULTS_TEXTS \
            else ""
    key = f"results.{kind}.{value}"
    return rt(key, lang) if key in RESULTS_TEXTS else value
