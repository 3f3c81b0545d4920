"""Everything the bot says, in English and Chinese."""

from __future__ import annotations

import html
import string
from collections.abc import Mapping
from datetime import datetime

from handlers.admin_texts import ADMIN_TEXTS
from handlers.cadre_texts import CADRE_TEXTS
from handlers.inspector_texts import INSPECTOR_TEXTS

TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "en": "Hello! I collect short, anonymous opinion polls about local public services.\n"
        "To answer one, open its link or scan its QR code. /help shows what I can do.",
        "zh": "您好！我负责收集关于本地公共服务的简短匿名问卷。\n"
        "请打开问卷链接或扫描二维码开始作答。发送 /help 查看帮助。",
    },
    "welcome_back": {
        "en": "Welcome back! You have an unfinished poll; here is where you left off.",
        "zh": "欢迎回来！您有一份未完成的问卷，我们从上次的位置继续。",
    },
    "bad_code": {
        "en": "That link does not look right. Please open the poll's link again or scan its "
        "QR code.",
        "zh": "这个链接格式不正确。请重新打开问卷链接或扫描二维码。",
    },
    "unknown_code": {
        "en": "I could not find a poll with the code “{code}”. Please check the link or QR code.",
        "zh": "找不到代码为“{code}”的问卷。请检查链接或二维码。",
    },
    "not_open_yet": {
        "en": "This poll has not opened yet. It opens on {opens_at}.",
        "zh": "该问卷尚未开始，将于 {opens_at} 开放。",
    },
    "closed": {
        "en": "This poll about {unit} is closed, so it no longer takes answers. Thank you for "
        "your interest.",
        "zh": "关于{unit}的问卷已经结束，不再接收回答。感谢您的关注。",
    },
    "already_answered": {
        "en": "You have already answered this poll about {unit}. Thank you! Each person can "
        "answer once.",
        "zh": "您已经回答过关于{unit}的这份问卷，谢谢！每人只能回答一次。",
    },
    "resumed": {
        "en": "Welcome back! Your earlier answers are kept; let us continue.",
        "zh": "欢迎回来！您之前的回答已保存，我们继续。",
    },
    "intro": {
        "en": "<b>{title}</b> · {unit}\n{intro}\n\n"
        "🔒 Your answers are anonymous: they are stored without your name or Telegram "
        "account. Results are seen only as totals, by the {unit} team and the people who "
        "appraise its work, and never for groups of fewer than {min_cell} people.\n"
        "{questions} short questions, about a minute.{closes}",
        "zh": "<b>{title}</b> · {unit}\n{intro}\n\n"
        "🔒 您的回答是匿名的：存储时不包含您的姓名或 Telegram 账号。结果只以汇总形式提供给"
        "{unit}工作人员和负责考核的部门，少于 {min_cell} 人的分组结果不会显示。\n"
        "共 {questions} 个简短问题，约需一分钟。{closes}",
    },
    "closes": {"en": " Open until {date}.", "zh": "截止日期：{date}。"},
    "hint.rating": {
        "en": "Tap a number: 1 = very dissatisfied, 5 = very satisfied.",
        "zh": "请点击数字：1 = 非常不满意，5 = 非常满意。",
    },
    "hint.nps": {
        "en": "Tap a number: 0 = not at all likely, 10 = extremely likely.",
        "zh": "请点击数字：0 = 完全不可能，10 = 非常可能。",
    },
    "hint.single": {"en": "Tap one answer.", "zh": "请选择一项。"},
    "hint.multi": {
        "en": "Tap all that apply, then Done.",
        "zh": "可多选，选好后点击“完成”。",
    },
    "hint.yesno": {"en": "Tap Yes or No.", "zh": "请点击“是”或“否”。"},
    "hint.text": {
        "en": "Type your answer as a message (up to {max_length} characters).",
        "zh": "请直接发送文字回答（最多 {max_length} 个字）。",
    },
    "hint.number": {
        "en": "Type a number from {min} to {max}.",
        "zh": "请输入 {min} 到 {max} 之间的数字。",
    },
    "optional": {"en": "(optional)", "zh": "（选填）"},
    "previous": {"en": "Your answer: {value}", "zh": "您的回答：{value}"},
    "skipped": {"en": "skipped", "zh": "已跳过"},
    "yes": {"en": "Yes", "zh": "是"},
    "no": {"en": "No", "zh": "否"},
    "back": {"en": "◀ Back", "zh": "◀ 上一题"},
    "skip": {"en": "Skip ▶", "zh": "跳过 ▶"},
    "done": {"en": "Done ✓", "zh": "完成 ✓"},
    "summary": {
        "en": "<b>Your answers</b> · {title}\n\n{lines}\n\nPlease check them, then tap Submit.",
        "zh": "<b>您的回答</b> · {title}\n\n{lines}\n\n请核对后点击“提交”。",
    },
    "pick": {
        "en": "Which answer would you like to change?",
        "zh": "您想修改哪一题的回答？",
    },
    "change": {"en": "✏️ Change an answer", "zh": "✏️ 修改回答"},
    "submit": {"en": "✅ Submit", "zh": "✅ 提交"},
    "to_summary": {"en": "◀ Back to my answers", "zh": "◀ 返回我的回答"},
    "thanks": {
        "en": "✅ Submitted. Thank you! Your answers help improve local services.",
        "zh": "✅ 已提交，谢谢！您的意见将帮助改进本地服务。",
    },
    "stale": {
        "en": "This button is no longer active; please use the latest message.",
        "zh": "此按钮已失效，请使用最新的消息。",
    },
    "forged": {"en": "This button is not valid.", "zh": "此按钮无效。"},
    "already_submitted": {
        "en": "Your answers were already submitted. Thank you!",
        "zh": "您的回答已经提交，谢谢！",
    },
    "no_active_poll": {
        "en": "You are not answering a poll right now. Open a poll's link or scan its QR code "
        "to start. /help",
        "zh": "您当前没有正在回答的问卷。请打开问卷链接或扫描二维码开始。/help",
    },
    "at_summary": {
        "en": "All questions are answered. Tap Submit to send your answers, or Change an "
        "answer.",
        "zh": "所有问题都已回答。请点击“提交”，或选择“修改回答”。",
    },
    "nothing_to_cancel": {
        "en": "There is nothing to cancel.",
        "zh": "当前没有可以取消的问卷。",
    },
    "cancelled": {
        "en": "Poll cancelled and your unfinished answers deleted. You can start again from "
        "the poll's link.",
        "zh": "问卷已取消，未完成的回答已删除。您可以通过问卷链接重新开始。",
    },
    "cancel.confirm": {
        "en": "Withdraw your answers to <b>{title}</b> about {unit}? The {answered} answer(s) "
        "you have given so far will be deleted and cannot be recovered.",
        "zh": "要撤回您对关于{unit}的<b>{title}</b>的回答吗？您目前已填写的 {answered} 个回答将被"
        "删除，且无法恢复。",
    },
    "cancel.withdraw": {"en": "Withdraw my answers", "zh": "撤回我的回答"},
    "cancel.keep": {"en": "Keep going", "zh": "继续作答"},
    "cancel.kept": {
        "en": "Nothing was withdrawn; your answers are kept. Here is where you left off.",
        "zh": "没有撤回，您的回答都已保留。这是您上次停下的地方。",
    },
    "stopped": {
        "en": "Done: you will get no more invitations or reminders from me. Poll links still "
        "work. Send /start to get invitations again.",
        "zh": "已设置：您将不再收到问卷邀请或提醒。问卷链接仍然可以使用。"
        "发送 /start 可重新接收邀请。",
    },
    "invitations_resumed": {
        "en": "Welcome back: you will get poll invitations again. /stop turns them off.",
        "zh": "欢迎回来：您将重新收到问卷邀请。发送 /stop 可关闭。",
    },
    "invite": {
        "en": "📋 <b>{unit}</b> would like your opinion: <b>{title}</b>\n"
        "{questions} short questions, about a minute, anonymous.{closes}\n"
        "<i>Send /stop to receive no more invitations.</i>",
        "zh": "📋 <b>{unit}</b>邀请您参与：<b>{title}</b>\n"
        "共 {questions} 个简短问题，约需一分钟，匿名作答。{closes}\n"
        "<i>发送 /stop 可不再接收邀请。</i>",
    },
    "invite.cadres": {
        "en": "📋 <b>{title}</b> for {unit} is open: {questions} short questions.{closes}",
        "zh": "📋 {unit}的<b>{title}</b>已开放：共 {questions} 个简短问题。{closes}",
    },
    "remind": {
        "en": "⏰ Reminder: <b>{title}</b> about <b>{unit}</b> closes {when}. Your view "
        "counts; it takes about a minute.\n<i>Send /stop to receive no more reminders.</i>",
        "zh": "⏰ 提醒：关于<b>{unit}</b>的<b>{title}</b>将于 {when} 截止。您的意见很重要，"
        "约需一分钟。\n<i>发送 /stop 可不再接收提醒。</i>",
    },
    "remind.soon": {"en": "soon", "zh": "近期"},
    "start_poll": {"en": "▶ Start", "zh": "▶ 开始"},
    "choose_units": {
        "en": "Which places do you want to hear from? Tap to choose (✓), › to see the places "
        "within. You will only be invited to polls about what you choose, at most a few "
        "times a month; /units changes it, /stop ends all invitations.",
        "zh": "您希望接收哪些地方的问卷邀请？点击选择（✓），点击 › 查看下级地区。您只会收到所选"
        "地区的问卷邀请，每月最多几次；发送 /units 可修改，发送 /stop 可停止所有邀请。",
    },
    "units_more": {"en": "More ›", "zh": "更多 ›"},
    "units_up": {"en": "◀ Up", "zh": "◀ 上一级"},
    "units_done": {"en": "Done ✓", "zh": "完成 ✓"},
    "units_saved": {
        "en": "Saved. You will be invited to polls about: {units}.",
        "zh": "已保存。您将收到以下地区的问卷邀请：{units}。",
    },
    "units_none": {
        "en": "Saved. You will not be invited to any polls; links and QR codes still work.",
        "zh": "已保存。您不会收到问卷邀请；问卷链接和二维码仍可使用。",
    },
    "no_units": {
        "en": "There are no places to choose from yet.",
        "zh": "目前还没有可选择的地区。",
    },
    "follow_offer": {
        "en": "Would you like to be invited to future polls about {unit}? (A few times a "
        "month at most.)",
        "zh": "您是否愿意接收关于{unit}的后续问卷邀请？（每月最多几次。）",
    },
    "follow_yes": {"en": "Yes, invite me", "zh": "好的，邀请我"},
    "follow_no": {"en": "No, thanks", "zh": "不用了，谢谢"},
    "following": {
        "en": "Thank you. You will be invited to polls about {unit}; /units changes it.",
        "zh": "谢谢。您将收到关于{unit}的问卷邀请；发送 /units 可修改。",
    },
    "not_following": {
        "en": "All right, no invitations. Links and QR codes still work.",
        "zh": "好的，不会向您发送邀请。问卷链接和二维码仍可使用。",
    },
    "choose_language": {"en": "Choose your language:", "zh": "请选择语言："},
    "language_set": {"en": "Language set to English.", "zh": "语言已设置为中文。"},
    "help": {
        "en": "I collect short, anonymous polls about local public services.\n\n"
        "• Open a poll's link or scan its QR code to start.\n"
        "• Tap a button to answer; type when asked for a comment or a number.\n"
        "• ◀ Back goes to the previous question; you can change answers before submitting.\n"
        "• You can stop and come back later: your answers so far are kept.\n\n"
        "/units – the places whose polls you are invited to\n"
        "/language – English or 中文\n/cancel – withdraw the poll you are answering\n"
        "/stop – no more invitations or reminders (/start turns them back on)\n"
        "/help – this message",
        "zh": "我负责收集关于本地公共服务的简短匿名问卷。\n\n"
        "• 打开问卷链接或扫描二维码即可开始。\n"
        "• 点击按钮作答；需要填写意见或数字时直接发送文字。\n"
        "• “上一题”可返回；提交前可以修改回答。\n"
        "• 可以随时离开，稍后继续：已填写的回答会保留。\n\n"
        "/units – 选择接收问卷邀请的地区\n"
        "/language – 切换语言（English / 中文）\n/cancel – 撤回正在填写的问卷\n"
        "/stop – 不再接收邀请和提醒（发送 /start 恢复）\n"
        "/help – 显示本帮助",
    },
    # The commands of each role, added to /help for people who hold it (HTML: &lt; escaped).
    "help.admin": {
        "en": "<b>As an admin</b>\n"
        "/campaigns – your units' campaigns · /campaign CODE – one of them\n"
        "/newcampaign – create one · /close CODE · /remind CODE\n"
        "/entry CODE NAME – a QR code for a poster or service window\n"
        "/invite UNIT Name; Position; key tasks – a cadre's chat link · /cadres – the list\n"
        "/results [UNIT] [PERIOD] – the appraisal ranking and chart\n"
        "/appeals – open appeals · /answer ID uphold|reject reply",
        "zh": "<b>管理员</b>\n"
        "/campaigns – 所辖单位的问卷活动 · /campaign 代码 – 查看其中一个\n"
        "/newcampaign – 创建 · /close 代码 · /remind 代码\n"
        "/entry 代码 名称 – 为海报或服务窗口生成二维码\n"
        "/invite 单位 姓名; 职务; 重点任务 – 干部绑定链接 · /cadres – 干部名单\n"
        "/results [单位] [期间] – 考核排名和图表\n"
        "/appeals – 待处理的申诉 · /answer 编号 uphold|reject 答复",
    },
    "help.auditor": {
        "en": "<b>As an auditor</b>\n"
        "/campaigns, /campaign CODE – campaigns and their progress · /cadres – the cadres\n"
        "/results [UNIT] [PERIOD] – the appraisal ranking and chart\n"
        "/appeals – open appeals · /answer ID uphold|reject reply",
        "zh": "<b>审核人员</b>\n"
        "/campaigns、/campaign 代码 – 问卷活动及进度 · /cadres – 干部名单\n"
        "/results [单位] [期间] – 考核排名和图表\n"
        "/appeals – 待处理的申诉 · /answer 编号 uphold|reject 答复",
    },
    "help.inspector": {
        "en": "<b>As an inspector</b>\n"
        "/inspect [UNIT] – record an on-site check · /inspections – your recent ones",
        "zh": "<b>督查人员</b>\n/inspect [单位] – 记录实地核查 · /inspections – 最近的核查",
    },
    "help.cadre": {
        "en": "<b>As a cadre</b>\n"
        "/note – send a brief progress note · /notes – correct or withdraw one\n"
        "/myscore – your published appraisal and its explanation\n"
        "/appeal REASON – contest it",
        "zh": "<b>干部</b>\n"
        "/note – 发送工作进展 · /notes – 修改或撤回\n"
        "/myscore – 已公布的考核结果及说明\n"
        "/appeal 理由 – 提出申诉",
    },
    # --- the command menu (at most 256 characters each) --------------------------------------
    "menu.help": {"en": "What this bot does", "zh": "帮助"},
    "menu.units": {"en": "The places whose polls you are invited to",
                   "zh": "选择接收问卷邀请的地区"},
    "menu.language": {"en": "English or 中文", "zh": "切换语言（English / 中文）"},
    "menu.cancel": {"en": "Withdraw the poll you are answering (asks first)",
                    "zh": "撤回正在填写的问卷（会先确认）"},
    "menu.stop": {"en": "No more invitations or reminders", "zh": "不再接收邀请和提醒"},
    "menu.campaigns": {"en": "Campaigns in your units", "zh": "所辖单位的问卷活动"},
    "menu.campaign": {"en": "One campaign's progress: /campaign CODE",
                      "zh": "查看问卷活动进度：/campaign 代码"},
    "menu.newcampaign": {"en": "Create a campaign, step by step", "zh": "分步创建问卷活动"},
    "menu.close": {"en": "Close a campaign now: /close CODE",
                   "zh": "立即结束问卷活动：/close 代码"},
    "menu.remind": {"en": "Remind those who have not answered: /remind CODE",
                    "zh": "提醒尚未作答的人：/remind 代码"},
    "menu.entry": {"en": "A QR code for a poster or window: /entry CODE NAME",
                   "zh": "为海报或窗口生成二维码：/entry 代码 名称"},
    "menu.invite": {"en": "A cadre's one-time link: /invite UNIT Name; Position; tasks",
                    "zh": "干部绑定链接：/invite 单位 姓名; 职务; 重点任务"},
    "menu.cadres": {"en": "Cadre profiles in your scope", "zh": "所辖干部名单"},
    "menu.results": {"en": "Appraisal ranking and chart: /results [UNIT] [PERIOD]",
                     "zh": "考核排名和图表：/results [单位] [期间]"},
    "menu.appeals": {"en": "Open appeals", "zh": "待处理的申诉"},
    "menu.answer": {"en": "Decide an appeal: /answer ID uphold|reject reply",
                    "zh": "处理申诉：/answer 编号 uphold|reject 答复"},
    "menu.inspect": {"en": "Record an on-site check: /inspect [UNIT]",
                     "zh": "记录实地核查：/inspect [单位]"},
    "menu.inspections": {"en": "Your recent inspections", "zh": "最近的核查记录"},
    "menu.note": {"en": "Send a brief progress note", "zh": "发送工作进展"},
    "menu.notes": {"en": "Your recent notes: correct or withdraw", "zh": "最近的进展：修改或撤回"},
    "menu.myscore": {"en": "Your published appraisal and its explanation",
                     "zh": "查看已公布的考核结果及说明"},
    "menu.appeal": {"en": "Contest your published appraisal: /appeal REASON",
                    "zh": "对已公布的考核结果提出申诉：/appeal 理由"},
    # --- a cadre's invite link (/start cadre-…) and self-assessment --------------------------
    "cadre.linked": {
        "en": "✅ Welcome, {name}! This Telegram account is now linked to your cadre profile.\n"
        "{profile}\n\n{next}",
        "zh": "✅ 欢迎您，{name}！此 Telegram 账号已与您的干部档案绑定。\n{profile}\n\n{next}",
    },
    "cadre.already_linked": {
        "en": "You are already linked, {name}: this account is your cadre profile's.\n"
        "{profile}\n\n{next}",
        "zh": "{name}，您已经绑定过了：此账号就是您干部档案所绑定的账号。\n{profile}\n\n{next}",
    },
    "cadre.profile": {
        "en": "<b>{position}</b> · {units}\n{tasks}",
        "zh": "<b>{position}</b> · {units}\n{tasks}",
    },
    "cadre.tasks": {"en": "Your key tasks:\n{lines}", "zh": "您的重点工作：\n{lines}"},
    "cadre.no_tasks": {
        "en": "No key tasks are recorded for you yet; your administrator can add them.",
        "zh": "您的档案中还没有重点工作，可请管理员添加。",
    },
    "cadre.next": {
        "en": "What next:\n"
        "• /note – a brief progress note (text, with a photo or your location if you like) "
        "whenever there is something to report; it takes seconds, and notes are a record, "
        "not a quota.\n"
        "• Self-assessment questionnaires arrive here as invitations: tap ▶ Start to answer.",
        "zh": "接下来：\n"
        "• /note – 有进展时发一条简短的工作纪实（文字，可附照片或位置），几秒钟即可；纪实只作记录，"
        "不计数量。\n"
        "• 自评问卷会以邀请消息发到这里，点击“▶ 开始”即可作答。",
    },
    "cadre.invalid": {
        "en": "This invite link is not valid. Please check that you opened the whole link, "
        "or ask your administrator for a new one. Nothing was changed.",
        "zh": "此邀请链接无效。请确认打开的是完整链接，或请管理员重新发送。未做任何更改。",
    },
    "cadre.used": {
        "en": "This invite link has already been used, so it cannot link another account. If "
        "that was not you, tell your administrator. Nothing was changed.",
        "zh": "此邀请链接已被使用，不能再绑定其他账号。如果不是您本人使用的，请告知管理员。"
        "未做任何更改。",
    },
    "cadre.expired": {
        "en": "This invite link expired on {date}. Ask your administrator for a new one. "
        "Nothing was changed.",
        "zh": "此邀请链接已于 {date} 过期。请管理员重新发送。未做任何更改。",
    },
    "cadre.revoked": {
        "en": "This invite link was replaced by a newer one and no longer works. Please open "
        "the latest link from your administrator. Nothing was changed.",
        "zh": "此邀请链接已被新链接取代，不能再使用。请打开管理员最新发送的链接。未做任何更改。",
    },
    "cadre.taken": {
        "en": "This Telegram account already belongs to someone else's profile, so it cannot "
        "be linked to this one. Open the link from the cadre's own account, or ask your "
        "administrator. Nothing was changed.",
        "zh": "此 Telegram 账号已属于其他人员的档案，不能再绑定到这个档案。请用干部本人的账号打开"
        "链接，或联系管理员。未做任何更改。",
    },
    "cadres_only": {
        "en": "This questionnaire is for the cadres of {unit}, so it cannot be answered from "
        "this account. If you are one of them, open your invite link first.",
        "zh": "这份问卷仅供{unit}的干部填写，此账号不能作答。"
        "如果您是其中一员，请先打开您的邀请链接。",
    },
    "residents_only": {
        "en": "You are a cadre of {unit}, so its residents' poll is not yours to answer: "
        "residents rate the work of their cadres. Your own view goes into your "
        "self-assessment.",
        "zh": "您是{unit}的干部，这份居民问卷不由您填写：由居民评价干部的工作。"
        "您的看法请写在您的自评中。",
    },
    "intro.named": {
        "en": "<b>{title}</b> · {unit}\n{intro}\n\n"
        "👤 Not anonymous: your answers are kept under your name, in your own appraisal "
        "record.\n{questions} short questions.{closes}",
        "zh": "<b>{title}</b> · {unit}\n{intro}\n\n"
        "👤 实名填写：您的回答将以您的姓名记入本人考评档案。\n共 {questions} 个简短问题。{closes}",
    },
    "thanks.self_assessment": {
        "en": "✅ Submitted. Thank you! Your self-assessment for {period} is in your appraisal "
        "record.",
        "zh": "✅ 已提交，谢谢！您 {period} 的自评已记入本人考评档案。",
    },
    "db_unavailable": {
        "en": "Sorry, I could not save that just now. Please try again in a moment; your "
        "earlier answers are safe.",
        "zh": "抱歉，刚才没能保存。请稍后再试；您之前的回答都已安全保存。",
    },
    "error": {
        "en": "Sorry, something went wrong on our side. Please try again.",
        "zh": "抱歉，系统出现问题，请稍后再试。",
    },
    "unknown_command": {
        "en": "I do not know that command. /help lists what I can do.",
        "zh": "无法识别该命令。发送 /help 查看可用命令。",
    },
    "unsupported_message": {
        "en": "I can only read text messages and button taps here.",
        "zh": "这里只能识别文字消息和按钮。",
    },
    "invalid.required": {
        "en": "This question needs an answer.",
        "zh": "此题为必答题。",
    },
    "invalid.out_of_range": {
        "en": "Please give a value from {min} to {max}.",
        "zh": "请输入 {min} 到 {max} 之间的值。",
    },
    "invalid.too_long": {
        "en": "That is {length} characters; the limit is {max_length}. Please shorten it and "
        "send it again.",
        "zh": "您输入了 {length} 个字，上限为 {max_length} 个字。请精简后重新发送。",
    },
    "invalid.empty": {"en": "Please type an answer.", "zh": "请输入回答。"},
    "invalid.invisible": {
        "en": "That message has no visible text (only invisible or control characters), so "
        "it was not kept. Please type your answer again.",
        "zh": "这条消息没有可见的文字（只有不可见字符或控制字符），因此未保存。请重新输入回答。",
    },
    "invalid.not_a_number": {
        "en": "Please type a number.",
        "zh": "请输入数字。",
    },
    "invalid.not_an_integer": {
        "en": "Please type a whole number.",
        "zh": "请输入整数。",
    },
    "invalid.unknown_option": {
        "en": "Please tap one of the buttons above.",
        "zh": "请点击上方的一个按钮。",
    },
    "invalid.expects_button": {
        "en": "Please tap one of the buttons above.",
        "zh": "请点击上方的一个按钮。",
    },
    "invalid.too_few_choices": {
        "en": "Please choose at least {min}.",
        "zh": "请至少选择 {min} 项。",
    },
    "invalid.too_many_choices": {
        "en": "Please choose at most {max}.",
        "zh": "最多选择 {max} 项。",
    },
    "invalid.forged": {"en": "This button is not valid.", "zh": "此按钮无效。"},
    "invalid.not_current": {
        "en": "This button is no longer active; please use the latest message.",
        "zh": "此按钮已失效，请使用最新的消息。",
    },
    "invalid.no_such_question": {
        "en": "This button is no longer active; please use the latest message.",
        "zh": "此按钮已失效，请使用最新的消息。",
    },
    "invalid.generic": {
        "en": "That answer does not fit this question; please try again.",
        "zh": "这个回答不符合题目要求，请重试。",
    },
}
TEXTS.update(ADMIN_TEXTS)
TEXTS.update(CADRE_TEXTS)
TEXTS.update(INSPECTOR_TEXTS)


class _Lenient(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"


def format_value(value: object, lang: str) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def t(
    key: str,
    lang: str,
    params: Mapping[str, object] | None = None,
    *,
    raw: frozenset[str] = frozenset(),
) -> str:
    """The text ``key`` in ``lang`` (English if missing), as HTML, with ``params`` filled in.

    Parameters are HTML-escaped unless named in ``raw`` (already-rendered HTML fragments).
    """
    entry = TEXTS.get(key) or TEXTS["invalid.generic" if key.startswith("invalid.") else "error"]
    template = entry.get(lang) or entry["en"]
    values = _Lenient(
        {
            k: (str(v) if k in raw else html.escape(format_value(v, lang), quote=False))
            for k, v in (params or {}).items()
        }
    )
    return string.Formatter().vformat(template, (), values)
