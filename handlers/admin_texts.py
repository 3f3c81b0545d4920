"""Texts of the admin chat commands, in English and Chinese (merged into ``handlers.texts``).

Parameters are HTML-escaped by ``t()``; the templates themselves are HTML.
"""

from __future__ import annotations

from handlers.cadre_texts import BUSY_TEXTS

ADMIN_TEXTS: dict[str, dict[str, str]] = {
    # --- refusals and errors of the commands ------------------------------------------------
    "admin.not_admin": {
        "en": "Sorry, this command is for admins only.",
        "zh": "抱歉，此命令仅限管理员使用。",
    },
    "admin.out_of_scope": {
        "en": "Sorry, that unit is outside the area you administer.",
        "zh": "抱歉，该单位不在您的管理范围内。",
    },
    "admin.no_campaign": {
        "en": "I found no campaign “{code}” among the units you can see. /campaigns lists "
        "them.",
        "zh": "在您可查看的单位中找不到问卷活动“{code}”。发送 /campaigns 查看列表。",
    },
    "admin.already_closed": {
        "en": "Campaign {code} is already closed.",
        "zh": "问卷活动 {code} 已经结束。",
    },
    "admin.not_open": {
        "en": "Campaign {code} is {status}; only an open campaign can send reminders.",
        "zh": "问卷活动 {code} 当前状态为“{status}”，只有进行中的活动才能发送提醒。",
    },
    "admin.nobody_to_remind": {
        "en": "Nobody to remind for {code}: that would be a broadcast to 0 recipients. Everyone "
        "invited has answered, opted out, cannot be reached or has had this month's prompts "
        "({skipped} skipped). Nothing was sent.",
        "zh": "问卷活动 {code} 没有需要提醒的人：这将是一次发给 0 人的群发。所有受邀者都已作答、"
        "已退订、无法联系或本月提醒次数已满（跳过 {skipped} 人）。未发送任何消息。",
    },
    "admin.rule": {
        "en": "That cannot be done: {reason}",
        "zh": "无法执行：{reason}",
    },
    "admin.bad_entry_name": {
        "en": "The entry point name “{name}” cannot be used: 1–20 letters, digits or _ "
        "(and not “invite”).",
        "zh": "入口名称“{name}”无效：须为 1–20 个字母、数字或下划线（且不能是“invite”）。",
    },
    "admin.entry_taken": {
        "en": "Campaign {code} already has an entry point “{name}”.",
        "zh": "问卷活动 {code} 已有名为“{name}”的入口。",
    },
    "admin.usage.campaign": {
        "en": "Usage: /campaign CODE (/campaigns lists the codes).",
        "zh": "用法：/campaign 代码（发送 /campaigns 查看代码）。",
    },
    "admin.usage.close": {"en": "Usage: /close CODE", "zh": "用法：/close 代码"},
    "admin.usage.remind": {"en": "Usage: /remind CODE", "zh": "用法：/remind 代码"},
    "admin.usage.entry": {
        "en": "Usage: /entry CODE NAME [label], e.g. /entry willow window3 Service window 3",
        "zh": "用法：/entry 代码 名称 [说明]，例如 /entry willow window3 三号服务窗口",
    },
    # --- /campaigns -------------------------------------------------------------------------
    "admin.campaigns.head": {
        "en": "<b>Campaigns</b> ({total}) · completed/started responses",
        "zh": "<b>问卷活动</b>（{total} 个）· 已完成/已开始",
    },
    "admin.campaigns.line": {
        "en": "<code>{code}</code> · {status} · {unit} · {completed}/{started} · {closes}",
        "zh": "<code>{code}</code> · {status} · {unit} · {completed}/{started} · {closes}",
    },
    "admin.campaigns.closes": {"en": "closes {date}", "zh": "截止 {date}"},
    "admin.campaigns.closed": {"en": "closed {date}", "zh": "已于 {date} 结束"},
    "admin.campaigns.no_end": {"en": "no closing date", "zh": "无截止日期"},
    "admin.campaigns.more": {
        "en": "… and {more} more. /campaign CODE shows any of them.",
        "zh": "……另有 {more} 个。发送 /campaign 代码 查看详情。",
    },
    "admin.campaigns.empty": {
        "en": "There are no campaigns in the units you can see yet. /newcampaign creates one.",
        "zh": "您可查看的单位中还没有问卷活动。发送 /newcampaign 创建。",
    },
    "admin.campaigns.hint": {
        "en": "/campaign CODE for details · /newcampaign to create one",
        "zh": "发送 /campaign 代码 查看详情 · 发送 /newcampaign 创建",
    },
    "admin.status.draft": {"en": "draft", "zh": "草稿"},
    "admin.status.scheduled": {"en": "scheduled", "zh": "待开始"},
    "admin.status.open": {"en": "open", "zh": "进行中"},
    "admin.status.closed": {"en": "closed", "zh": "已结束"},
    # --- /campaign CODE ---------------------------------------------------------------------
    "admin.report.head": {
        "en": "<b>{code}</b> · {status}\n{unit}\nSurvey: {survey} (version {version}) · for "
        "{audience}",
        "zh": "<b>{code}</b> · {status}\n{unit}\n问卷：{survey}（第 {version} 版）· "
        "对象：{audience}",
    },
    "admin.report.window": {
        "en": "Opens {opens} · closes {closes}",
        "zh": "开始 {opens} · 截止 {closes}",
    },
    "admin.report.responses": {
        "en": "Responses: {completed} completed of {started} started (completion rate {rate})",
        "zh": "回答：已开始 {started} 份，已完成 {completed} 份（完成率 {rate}）",
    },
    "admin.report.target": {
        "en": "Target: {target} completed responses ({share} reached)",
        "zh": "目标：完成 {target} 份（已达成 {share}）",
    },
    "admin.report.moe": {
        "en": "Margin of error at 95%: ±{moe} percentage points",
        "zh": "95% 置信水平下的误差范围：±{moe} 个百分点",
    },
    "admin.report.moe_none": {
        "en": "Margin of error at 95%: not yet (no completed responses)",
        "zh": "95% 置信水平下的误差范围：暂无（尚无完成的回答）",
    },
    "admin.report.left": {"en": "Time left: {left}", "zh": "剩余时间：{left}"},
    "admin.report.ended": {"en": "Closed {date}", "zh": "已于 {date} 结束"},
    "admin.report.invitations": {"en": "Invitations: {line}", "zh": "邀请：{line}"},
    "admin.report.reminders": {"en": "Reminders: {line}", "zh": "提醒：{line}"},
    "admin.report.no_broadcast": {
        "en": "Invitations: none queued yet",
        "zh": "邀请：尚未发送",
    },
    "admin.report.entries": {
        "en": "Completed by entry point: {line}",
        "zh": "各入口完成数：{line}",
    },
    "admin.report.direct": {"en": "main link", "zh": "主链接"},
    "admin.report.invited": {"en": "invitations", "zh": "邀请消息"},
    "admin.report.link": {"en": "Link: {link}", "zh": "链接：{link}"},
    "admin.report.entry_link": {"en": "• {name}{label}: {link}", "zh": "• {name}{label}：{link}"},
    "admin.report.entry_points": {"en": "Entry points:", "zh": "入口："},
    "admin.delivery.sent": {"en": "{n} sent", "zh": "已发送 {n}"},
    "admin.delivery.pending": {"en": "{n} queued", "zh": "排队中 {n}"},
    "admin.delivery.sending": {"en": "{n} sending", "zh": "发送中 {n}"},
    "admin.delivery.failed": {"en": "{n} failed", "zh": "失败 {n}"},
    "admin.delivery.skipped": {"en": "{n} dropped", "zh": "已取消 {n}"},
    "admin.left.days": {"en": "{days} d {hours} h", "zh": "{days} 天 {hours} 小时"},
    "admin.left.hours": {"en": "{hours} h {minutes} min", "zh": "{hours} 小时 {minutes} 分钟"},
    "admin.left.none": {"en": "none (it closes now)", "zh": "无（即将结束）"},
    "admin.left.unlimited": {"en": "no closing date", "zh": "无截止日期"},
    "admin.btn.qr": {"en": "🔳 QR code", "zh": "🔳 二维码"},
    "admin.btn.close": {"en": "⏹ Close", "zh": "⏹ 结束"},
    "admin.btn.remind": {"en": "🔔 Remind", "zh": "🔔 提醒"},
    # --- /close, /remind, /entry ------------------------------------------------------------
    "admin.close.ask": {
        "en": "Close <b>{code}</b> ({unit}) now? It stops taking answers at once; the answers "
        "given are kept, and invitations and reminders not yet sent are dropped.",
        "zh": "现在结束 <b>{code}</b>（{unit}）吗？结束后立即停止接收回答；已有回答会保留，"
        "尚未发出的邀请和提醒将取消。",
    },
    "admin.close.done": {
        "en": "Campaign <b>{code}</b> is closed; its answers are kept.",
        "zh": "问卷活动 <b>{code}</b> 已结束，已有回答均已保留。",
    },
    "admin.close.kept": {
        "en": "Nothing changed; {code} stays as it was.",
        "zh": "未做更改，{code} 保持原状。",
    },
    "admin.btn.confirm_close": {"en": "⏹ Close it now", "zh": "⏹ 立即结束"},
    "admin.btn.keep": {"en": "✖ Keep it open", "zh": "✖ 暂不结束"},
    "admin.remind.ask": {
        "en": "Remind for <b>{code}</b>: reminders to send: {count} (people who have not "
        "finished); {skipped}\nSend the reminders?",
        "zh": "为 <b>{code}</b> 发送提醒：{count} 位尚未完成的人将收到提醒；{skipped}\n"
        "确定发送吗？",
    },
    "admin.remind.done": {
        "en": "🔔 Reminders queued: {count}. /campaign {code} shows how sending goes.",
        "zh": "🔔 已为 {count} 人安排提醒。发送 /campaign {code} 查看发送进度。",
    },
    "admin.remind.kept": {"en": "No reminders sent.", "zh": "未发送提醒。"},
    "admin.btn.send_reminders": {"en": "🔔 Send reminders", "zh": "🔔 发送提醒"},
    "admin.btn.dismiss": {"en": "✖ Cancel", "zh": "✖ 取消"},
    "admin.skipped.none": {"en": "nobody is skipped.", "zh": "无人被跳过。"},
    "admin.skipped.some": {
        "en": "{count} skipped: {reasons}.",
        "zh": "跳过 {count} 人：{reasons}。",
    },
    "admin.reason.opted_out": {"en": "{n} opted out", "zh": "{n} 人已退订"},
    "admin.reason.unreachable": {"en": "{n} cannot be reached", "zh": "{n} 人无法联系"},
    "admin.reason.prompt_budget": {
        "en": "{n} have had this month's prompts",
        "zh": "{n} 人本月提醒次数已满",
    },
    "admin.reason.questionnaire_budget": {
        "en": "{n} have had this month's questionnaires",
        "zh": "{n} 人本月问卷次数已满",
    },
    "admin.reason.names": {"en": " ({names})", "zh": "（{names}）"},
    "admin.sep": {"en": ", ", "zh": "，"},
    "admin.entry.done": {
        "en": "Entry point <b>{name}</b>{label} added to {code}. Its link:\n{link}\nIts QR code "
        "follows: print it for the window or event. Answers through it show in /campaign {code}.",
        "zh": "已为 {code} 添加入口 <b>{name}</b>{label}。链接：\n{link}\n二维码如下，可打印张贴在"
        "窗口或活动现场。通过该入口的回答会显示在 /campaign {code} 中。",
    },
    "admin.entry.label": {"en": " ({label})", "zh": "（{label}）"},
    # --- /newcampaign -----------------------------------------------------------------------
    "admin.dlg.title": {
        "en": "<b>New campaign</b> · step {n} of {total}",
        "zh": "<b>新建问卷活动</b> · 第 {n} 步，共 {total} 步",
    },
    "admin.dlg.so_far.survey": {"en": "Survey: {value}", "zh": "问卷：{value}"},
    "admin.dlg.so_far.unit": {"en": "Unit: {value}", "zh": "单位：{value}"},
    "admin.dlg.so_far.audience": {"en": "Audience: {value}", "zh": "对象：{value}"},
    "admin.dlg.so_far.dates": {"en": "Dates: {value}", "zh": "时间：{value}"},
    "admin.dlg.so_far.reminders": {"en": "Reminders: {value}", "zh": "提醒：{value}"},
    "admin.dlg.so_far.recurrence": {"en": "Repeats: {value}", "zh": "重复：{value}"},
    "admin.dlg.so_far.code": {"en": "Code: {value}", "zh": "代码：{value}"},
    "admin.dlg.survey": {
        "en": "Which survey? Tap one of the shipped questionnaires.",
        "zh": "使用哪份问卷？请点击一份内置问卷。",
    },
    "admin.dlg.unit": {
        "en": "Which unit is it for (the unit and the units inside it)? Tap one, › to see the "
        "units inside it, or type a unit code.",
        "zh": "针对哪个单位（含其下属单位）？请点击选择，点 › 查看下属单位，或直接输入单位代码。",
    },
    "admin.dlg.unit_inside": {"en": "Inside {unit}:", "zh": "{unit} 的下属单位："},
    "admin.dlg.more_units": {
        "en": "… {more} more not shown: type the unit code.",
        "zh": "……另有 {more} 个未显示，请输入单位代码。",
    },
    "admin.dlg.audience": {
        "en": "Who is asked? This survey is written for {audience}.",
        "zh": "向谁发放？此问卷的对象是{audience}。",
    },
    "admin.dlg.dates": {
        "en": "When is it open? Tap a length from now, or type the opening and the closing, "
        "e.g. <code>2026-12-01 2026-12-15</code> or <code>now 14d</code>.\nTimes are in "
        "{zone}; to change it, add a time zone, e.g. <code>2026-12-01 2026-12-15 "
        "Asia/Shanghai</code>, or type just the zone.",
        "zh": "开放时间？请点击从现在起的时长，或输入开始和截止时间，例如 "
        "<code>2026-12-01 2026-12-15</code> 或 <code>now 14d</code>。\n时间按 {zone} 计算；"
        "如需更改，请在后面加上时区，例如 <code>2026-12-01 2026-12-15 Asia/Shanghai</code>，"
        "或只输入时区。",
    },
    "admin.dlg.reminders": {
        "en": "Remind those who have not finished? Say how long before closing, e.g. "
        "<code>2d,2h</code> (at most 3), or tap None.",
        "zh": "是否提醒尚未完成的人？请输入截止前多久提醒，例如 <code>2d,2h</code>（最多 3 次），"
        "或点击“不提醒”。",
    },
    "admin.dlg.recurrence": {
        "en": "Repeat it? Tap one, or type a cron expression, e.g. <code>0 9 1 * *</code> "
        "(09:00 on the 1st of each month, {zone}).",
        "zh": "是否重复？请点击选择，或输入 cron 表达式，例如 <code>0 9 1 * *</code>"
        "（每月 1 日 09:00，{zone}）。",
    },
    "admin.dlg.code": {
        "en": "The campaign's code goes into its link. Use <code>{code}</code>, or type "
        "another (3–40 letters, digits, _ or -).",
        "zh": "活动代码会出现在链接中。使用 <code>{code}</code>，或输入其他代码"
        "（3–40 个字母、数字、_ 或 -）。",
    },
    "admin.dlg.confirm": {
        "en": "Please check, then tap Create.",
        "zh": "请核对后点击“创建”。",
    },
    "admin.dlg.plan": {
        "en": "👥 Invitations when it opens: {count}; {skipped}",
        "zh": "👥 开放时将邀请 {count} 人；{skipped}",
    },
    "admin.dlg.plan_zero": {
        "en": "⚠️ This would be a broadcast to 0 recipients: nobody will be invited. You can "
        "still create it; people can answer through its link or QR code.",
        "zh": "⚠️ 这将是一次发给 0 人的群发：不会邀请任何人。仍然可以创建，"
        "群众可以通过链接或二维码作答。",
    },
    "admin.dlg.window": {"en": "{opens} → {closes}", "zh": "{opens} → {closes}"},
    "admin.dlg.now": {"en": "when created", "zh": "创建后立即"},
    "admin.dlg.none": {"en": "none", "zh": "无"},
    "admin.dlg.monthly": {"en": "monthly", "zh": "每月"},
    "admin.dlg.quarterly": {"en": "quarterly", "zh": "每季度"},
    "admin.dlg.cron": {"en": "cron {cron}", "zh": "cron {cron}"},
    "admin.dlg.before": {"en": "{plan} before closing", "zh": "截止前 {plan}"},
    "admin.dlg.cancelled": {
        "en": "New campaign cancelled; nothing was created.",
        "zh": "已取消新建问卷活动，未创建任何内容。",
    },
    "admin.dlg.no_dialogue": {
        "en": "There is no new campaign in progress. /newcampaign starts one.",
        "zh": "当前没有正在新建的问卷活动。发送 /newcampaign 开始。",
    },
    "admin.dlg.created": {
        "en": "✅ Campaign <b>{code}</b> created for {unit} ({status}).\nOpens {opens}, closes "
        "{closes}.\n{invited}\nLink: {link}",
        "zh": "✅ 已为{unit}创建问卷活动 <b>{code}</b>（{status}）。\n"
        "开始 {opens}，截止 {closes}。\n{invited}\n链接：{link}",
    },
    "admin.dlg.invited": {
        "en": "Invitations when it opens: {count}.",
        "zh": "开放时将邀请 {count} 人。",
    },
    "admin.dlg.invited_zero": {
        "en": "Nobody will be invited (0 recipients): share the link or the QR code.",
        "zh": "不会邀请任何人（0 人）：请分享链接或二维码。",
    },
    "admin.audience.residents": {"en": "residents", "zh": "居民"},
    "admin.audience.cadres": {"en": "cadres", "zh": "干部"},
    "admin.btn.residents": {"en": "Residents", "zh": "居民"},
    "admin.btn.cadres": {"en": "Cadres", "zh": "干部"},
    "admin.btn.now_days": {"en": "Now, {days} days", "zh": "现在起 {days} 天"},
    "admin.btn.no_reminders": {"en": "None", "zh": "不提醒"},
    "admin.btn.once": {"en": "No, just once", "zh": "不重复"},
    "admin.btn.monthly": {"en": "Monthly", "zh": "每月"},
    "admin.btn.quarterly": {"en": "Quarterly", "zh": "每季度"},
    "admin.btn.use_code": {"en": "Use {code}", "zh": "使用 {code}"},
    "admin.btn.create": {"en": "✅ Create", "zh": "✅ 创建"},
    "admin.btn.back": {"en": "◀ Back", "zh": "◀ 上一步"},
    "admin.btn.cancel": {"en": "✖ Cancel", "zh": "✖ 取消"},
    "admin.btn.up": {"en": "▲ Up", "zh": "▲ 上一级"},
    "admin.btn.this_unit": {"en": "✓ {unit} (all of it)", "zh": "✓ {unit}（整个单位）"},
    # Errors at a step of the dialogue; the dialogue stays at that step.
    "admin.err.unknown_survey": {
        "en": "There is no survey “{value}”. Please tap one of the surveys.",
        "zh": "没有名为“{value}”的问卷，请点击选择。",
    },
    "admin.err.unknown_unit": {
        "en": "There is no unit with the code “{code}”. Tap one of the units, or check the code.",
        "zh": "没有代码为“{code}”的单位。请点击选择，或检查代码。",
    },
    "admin.err.out_of_scope": {
        "en": "{unit} is outside the units you administer; please pick one within them.",
        "zh": "{unit}不在您的管理范围内，请选择您管理的单位。",
    },
    "admin.err.unknown_audience": {
        "en": "Please tap Residents or Cadres.",
        "zh": "请点击“居民”或“干部”。",
    },
    "admin.err.audience_mismatch": {
        "en": "The survey {survey} is written for {audience}; it cannot go to anyone else.",
        "zh": "问卷 {survey} 的对象是{audience}，不能发给其他人。",
    },
    "admin.err.bad_timezone": {
        "en": "I do not know the time zone “{zone}”. Use a name such as Asia/Shanghai or UTC.",
        "zh": "无法识别时区“{zone}”。请使用 Asia/Shanghai 或 UTC 这样的名称。",
    },
    "admin.err.bad_time": {
        "en": "I cannot read the time “{value}”. Use e.g. 2026-12-31, 2026-12-31T18:00, now or "
        "14d.",
        "zh": "无法识别时间“{value}”。请使用 2026-12-31、2026-12-31T18:00、now 或 14d 这样的格式。",
    },
    "admin.err.bad_dates": {
        "en": "Please give an opening and a closing (and optionally a time zone), e.g. "
        "2026-12-01 2026-12-15.",
        "zh": "请输入开始和截止时间（可加时区），例如 2026-12-01 2026-12-15。",
    },
    "admin.err.opens_in_past": {
        "en": "The opening time {when} is in the past. Give a later one, or “now”.",
        "zh": "开始时间 {when} 已经过去。请输入更晚的时间，或输入 now。",
    },
    "admin.err.closes_in_past": {
        "en": "The closing time {when} is in the past. Give a later one.",
        "zh": "截止时间 {when} 已经过去。请输入更晚的时间。",
    },
    "admin.err.wrong_order": {
        "en": "The closing time {closes} is not after the opening time {opens}. Give the "
        "opening first, then a later closing.",
        "zh": "截止时间 {closes} 不晚于开始时间 {opens}。请先写开始时间，再写更晚的截止时间。",
    },
    "admin.err.bad_reminders": {
        "en": "I cannot read the reminders “{value}”. Give how long before closing, e.g. 2d,2h "
        "(at most 3), or tap None.",
        "zh": "无法识别提醒“{value}”。请输入截止前多久提醒，例如 2d,2h（最多 3 次），"
        "或点击“不提醒”。",
    },
    "admin.err.reminders_outside": {
        "en": "Reminders “{value}” before closing would come before the campaign opens; "
        "choose shorter ones or None.",
        "zh": "截止前“{value}”的提醒会早于活动开始时间，请缩短或选择“不提醒”。",
    },
    "admin.err.bad_cron": {
        "en": "“{value}” is not a cron expression I can read. Use five fields (minute hour day "
        "month weekday), e.g. 0 9 1 * *, or tap Monthly or Quarterly.",
        "zh": "无法识别 cron 表达式“{value}”。请使用五个字段（分 时 日 月 星期），例如 0 9 1 * *，"
        "或点击“每月”“每季度”。",
    },
    "admin.err.bad_code": {
        "en": "The code “{code}” cannot be used: 3–40 letters, digits, _ or - (no --, and "
        "not starting with cadre-, which marks cadres' invite links).",
        "zh": "代码“{code}”无效：须为 3–40 个字母、数字、_ 或 -（不能含 --，也不能以 cadre- 开头，"
        "该前缀专用于干部邀请链接）。",
    },
    "admin.err.code_taken": {
        "en": "The code “{code}” is already taken; please type another.",
        "zh": "代码“{code}”已被使用，请输入其他代码。",
    },
    "admin.err.use_buttons": {
        "en": "Please tap one of the buttons.",
        "zh": "请点击一个按钮。",
    },
    "admin.err.rule": {
        "en": "That did not work: {reason}",
        "zh": "操作未成功：{reason}",
    },
    # --- /invite: a cadre's profile and one-time link ---------------------------------------
    "admin.usage.invite": {
        "en": "Usage: /invite UNIT Name; Position; key task, key task\n"
        "e.g. <code>/invite V1 Zhang Li; Village head; road repairs, drinking water</code>\n"
        "You get a one-time link (and its QR code) for the cadre, valid for {days} days.\n"
        "/invite ID gives an existing profile a fresh link; older unused links stop working.",
        "zh": "用法：/invite 单位代码 姓名；职务；重点工作，重点工作\n"
        "例如 <code>/invite V1 王芳；村主任；道路养护，饮水安全</code>\n"
        "您将得到该干部的一次性链接（及二维码），有效期 {days} 天。\n"
        "/invite 档案编号 为已有档案生成新链接；旧的未使用链接随即失效。",
    },
    "admin.invite.created": {
        "en": "✅ Cadre profile {id} created: <b>{name}</b>, {position} · {units}\n"
        "Key tasks: {tasks}",
        "zh": "✅ 已创建干部档案 {id}：<b>{name}</b>，{position} · {units}\n重点工作：{tasks}",
    },
    "admin.invite.fresh": {
        "en": "🔁 New link for <b>{name}</b> (profile {id}), {position} · {units}. Their "
        "earlier unused links no longer work.",
        "zh": "🔁 已为 <b>{name}</b>（档案 {id}，{position} · {units}）生成新链接，之前未使用的"
        "链接已失效。",
    },
    "admin.invite.link": {
        "en": "One-time link, valid until {until}. Give it to {name} privately: it works "
        "once, and opening it links their Telegram account to the profile.\n{link}",
        "zh": "一次性链接，有效期至 {until}。请私下发给{name}：链接只能使用一次，打开后即把其 "
        "Telegram 账号与档案绑定。\n{link}",
    },
    "admin.invite.qr": {
        "en": "{name}: one-time link as a QR code (until {until})",
        "zh": "{name}：一次性链接二维码（有效期至 {until}）",
    },
    "admin.invite.no_tasks": {"en": "none yet", "zh": "暂无"},
    "admin.cadres.head": {
        "en": "<b>Cadres</b> ({total}) · id · name · position · units · link",
        "zh": "<b>干部</b>（{total} 人）· 编号 · 姓名 · 职务 · 单位 · 链接",
    },
    "admin.cadres.line": {
        "en": "<code>{id}</code> · {name} · {position} · {units} · {link}",
        "zh": "<code>{id}</code> · {name} · {position} · {units} · {link}",
    },
    "admin.cadres.tasks": {"en": "    key tasks: {tasks}", "zh": "    重点工作：{tasks}"},
    "admin.cadres.more": {
        "en": "… and {more} more (<code>civicpulse cadre list</code> shows all).",
        "zh": "……另有 {more} 人（<code>civicpulse cadre list</code> 可查看全部）。",
    },
    "admin.cadres.empty": {
        "en": "There are no cadre profiles in the units you can see yet. /invite creates one.",
        "zh": "您可查看的单位中还没有干部档案。发送 /invite 创建。",
    },
    "admin.cadres.hint": {
        "en": "/invite ID gives a profile a fresh link · /invite UNIT Name; Position; tasks "
        "creates one",
        "zh": "发送 /invite 编号 为档案生成新链接 · "
        "发送 /invite 单位代码 姓名；职务；重点工作 新建档案",
    },
    "admin.link.linked": {"en": "✅ linked", "zh": "✅ 已绑定"},
    "admin.link.linked_and": {"en": "✅ linked; new {latest}", "zh": "✅ 已绑定；新{latest}"},
    "admin.link.pending": {"en": "link pending until {at}", "zh": "链接待使用，有效期至 {at}"},
    "admin.link.expired": {"en": "link expired {at}", "zh": "链接已于 {at} 过期"},
    "admin.link.used": {"en": "link used", "zh": "链接已使用"},
    "admin.link.revoked": {"en": "link revoked", "zh": "链接已作废"},
    "admin.link.none": {"en": "no link", "zh": "无链接"},
    "admin.cadre.empty_name": {
        "en": "The cadre's name is missing. Usage: /invite UNIT Name; Position; key tasks",
        "zh": "缺少干部姓名。用法：/invite 单位代码 姓名；职务；重点工作",
    },
    "admin.cadre.name_too_long": {
        "en": "The name is longer than {limit} characters.",
        "zh": "姓名超过 {limit} 个字。",
    },
    "admin.cadre.empty_position": {
        "en": "The position is missing (e.g. Village head). Usage: /invite UNIT Name; "
        "Position; key tasks",
        "zh": "缺少职务（例如 村主任）。用法：/invite 单位代码 姓名；职务；重点工作",
    },
    "admin.cadre.position_too_long": {
        "en": "The position is longer than {limit} characters.",
        "zh": "职务超过 {limit} 个字。",
    },
    "admin.cadre.no_unit": {
        "en": "Which unit? Usage: /invite UNIT Name; Position; key tasks",
        "zh": "请填写单位代码。用法：/invite 单位代码 姓名；职务；重点工作",
    },
    "admin.cadre.unknown_unit": {
        "en": "There is no unit with the code “{unit}”. Codes are as in the unit file "
        "(e.g. V1); several go with commas (V1,V2).",
        "zh": "没有代码为“{unit}”的单位。请使用单位文件中的代码（例如 V1），多个单位用逗号分隔"
        "（V1,V2）。",
    },
    "admin.cadre.empty_task": {
        "en": "One of the key tasks is empty.",
        "zh": "有一项重点工作为空。",
    },
    "admin.cadre.task_too_long": {
        "en": "A key task is {length} characters; the limit is {limit}. Please shorten it.",
        "zh": "有一项重点工作长达 {length} 个字，上限为 {limit} 个字，请精简。",
    },
    "admin.cadre.duplicate_task": {
        "en": "The key task “{title}” is listed twice.",
        "zh": "重点工作“{title}”重复了。",
    },
    "admin.cadre.too_many_tasks": {
        "en": "At most {limit} key tasks per cadre: keep to what matters most.",
        "zh": "每位干部最多 {limit} 项重点工作，请只保留最重要的。",
    },
    "admin.cadre.unknown_person": {
        "en": "There is no profile {person_id}. <code>civicpulse cadre list</code> shows the "
        "profiles and their ids.",
        "zh": "没有编号为 {person_id} 的档案。可用 <code>civicpulse cadre list</code> 查看档案"
        "及编号。",
    },
    "admin.cadre.has_other_roles": {
        "en": "{name} (profile {person_id}) also holds the {roles} role, so a new link for "
        "this profile can only be issued from the command line: <code>civicpulse cadre invite "
        "--person {person_id}</code>.",
        "zh": "{name}（档案 {person_id}）还担任 {roles} 角色，只能在命令行为该档案生成新链接："
        "<code>civicpulse cadre invite --person {person_id}</code>。",
    },
    "admin.cadre.not_a_cadre": {
        "en": "Profile {person_id} ({name}) is not a cadre's.",
        "zh": "档案 {person_id}（{name}）不是干部档案。",
    },
}

# /newcampaign while another dialogue (a progress note, a correction, an inspection) is in
# progress: the texts shared with notes and inspections (``surveys.people.busy``).
ADMIN_TEXTS.update({f"admin.{key}": text for key, text in BUSY_TEXTS.items()})
