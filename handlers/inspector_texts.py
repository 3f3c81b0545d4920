"""What the bot says to inspectors (/inspect, /inspections), in English and Chinese (merged
into ``handlers.texts``).

Parameters are HTML-escaped by ``t()``; the templates themselves are HTML.
"""

from __future__ import annotations

INSPECTOR_TEXTS: dict[str, dict[str, str]] = {
    # --- who may inspect ----------------------------------------------------------------------
    "inspect.not_inspector": {
        "en": "Sorry, /inspect and /inspections are for inspectors. If you verify units' work "
        "on site, ask an admin to give you the inspector role.",
        "zh": "抱歉，/inspect 和 /inspections 仅供督查人员使用。如果您负责实地核查，请联系管理员"
        "为您开通督查权限。",
    },
    # --- the dialogue's prompts ---------------------------------------------------------------
    "inspect.head.unit": {"en": "🔎 <b>Inspection</b> · unit", "zh": "🔎 <b>实地核查</b> · 单位"},
    "inspect.head.subject": {"en": "🔎 <b>Inspection</b> · who", "zh": "🔎 <b>实地核查</b> · 对象"},
    "inspect.head.task": {"en": "🔎 <b>Inspection</b> · key task",
                          "zh": "🔎 <b>实地核查</b> · 重点任务"},
    "inspect.head.verdict": {"en": "🔎 <b>Inspection</b> · verdict",
                             "zh": "🔎 <b>实地核查</b> · 结论"},
    "inspect.head.remark": {"en": "🔎 <b>Inspection</b> · remark",
                            "zh": "🔎 <b>实地核查</b> · 说明"},
    "inspect.head.evidence": {"en": "🔎 <b>Inspection</b> · evidence and save",
                              "zh": "🔎 <b>实地核查</b> · 佐证与保存"},
    "inspect.step.unit": {
        "en": "Which unit are you inspecting? Tap it (› shows the units inside), or type its "
        "code.",
        "zh": "您要核查哪个单位？请点击选择（点 › 查看下级单位），或直接输入单位代码。",
    },
    "inspect.step.unit_inside": {"en": "Inside <b>{unit}</b>:", "zh": "<b>{unit}</b> 下级单位："},
    "inspect.step.subject": {
        "en": "Whom are you inspecting: one of its cadres, or the unit as a whole?",
        "zh": "核查对象是哪位干部，还是整个单位？",
    },
    "inspect.step.task": {
        "en": "Which key task did you verify?",
        "zh": "您核查的是哪项重点任务？",
    },
    "inspect.step.verdict": {"en": "What did you find on site?", "zh": "实地核查结论是？"},
    "inspect.step.remark": {
        "en": "Type a short remark on what you saw (up to {max_length} characters).",
        "zh": "请输入简短说明，描述您看到的情况（最多 {max_length} 个字）。",
    },
    "inspect.step.remark_keep": {
        "en": "Type a new remark (up to {max_length} characters), or keep the one above.",
        "zh": "请输入新的说明（最多 {max_length} 个字），或保留上面的说明。",
    },
    "inspect.step.evidence": {
        "en": "Add evidence if you have it: up to {max_photos} photos and your location "
        "(📎 → Location). A new message replaces the remark. Then tap Save.",
        "zh": "如有佐证请发送：最多 {max_photos} 张照片和您的位置（📎 → 位置）。"
        "再发文字将替换说明。完成后点击“保存”。",
    },
    # --- what was chosen so far -------------------------------------------------------------
    "inspect.recap.unit": {"en": "Unit: <b>{unit}</b>", "zh": "单位：<b>{unit}</b>"},
    "inspect.recap.cadre": {"en": "Cadre: <b>{cadre}</b>", "zh": "干部：<b>{cadre}</b>"},
    "inspect.recap.whole": {"en": "Subject: <b>the unit as a whole</b>",
                            "zh": "对象：<b>整个单位</b>"},
    "inspect.recap.task": {"en": "Key task: <b>{task}</b>", "zh": "重点任务：<b>{task}</b>"},
    "inspect.recap.general": {"en": "Key task: <b>general, no specific task</b>",
                              "zh": "重点任务：<b>综合，不针对具体任务</b>"},
    "inspect.recap.verdict": {"en": "Verdict: <b>{verdict}</b>", "zh": "结论：<b>{verdict}</b>"},
    "inspect.recap.remark": {"en": "Remark: <i>{remark}</i>", "zh": "说明：<i>{remark}</i>"},
    "inspect.recap.photos": {"en": "Photos: {count}", "zh": "照片：{count} 张"},
    "inspect.recap.location_near": {
        "en": "Location: {distance} km from the unit's centre, inside its {radius} km ✓",
        "zh": "位置：距单位中心 {distance} 公里，在 {radius} 公里范围内 ✓",
    },
    "inspect.recap.location_far": {
        "en": "Location: ⚠️ {distance} km from the unit's centre, outside its {radius} km "
        "(flagged)",
        "zh": "位置：⚠️ 距单位中心 {distance} 公里，超出 {radius} 公里范围（将被标记）",
    },
    "inspect.recap.location_unchecked": {
        "en": "Location: {latitude}, {longitude}",
        "zh": "位置：{latitude}, {longitude}",
    },
    "inspect.verdict.achieved": {"en": "✅ Achieved", "zh": "✅ 已完成"},
    "inspect.verdict.partly": {"en": "🟡 Partly", "zh": "🟡 部分完成"},
    "inspect.verdict.not_achieved": {"en": "❌ Not achieved", "zh": "❌ 未完成"},
    # --- buttons ------------------------------------------------------------------------------
    "inspect.btn.this_unit": {"en": "✓ {unit} itself", "zh": "✓ {unit}本级"},
    "inspect.btn.whole": {"en": "🏢 The unit as a whole", "zh": "🏢 整个单位"},
    "inspect.btn.general": {"en": "General / no specific task", "zh": "综合 / 不针对具体任务"},
    "inspect.btn.keep": {"en": "Keep this remark", "zh": "保留此说明"},
    "inspect.btn.save": {"en": "💾 Save", "zh": "💾 保存"},
    "inspect.btn.up": {"en": "▲ Up", "zh": "▲ 上级"},
    "inspect.btn.more": {"en": "More ›", "zh": "更多 ›"},
    "inspect.btn.back": {"en": "◀ Back", "zh": "◀ 上一步"},
    "inspect.btn.cancel": {"en": "✖ Cancel", "zh": "✖ 取消"},
    # --- input that does not fit --------------------------------------------------------------
    "inspect.err.out_of_scope": {
        "en": "{unit} is outside the area you inspect. Nothing was recorded.",
        "zh": "{unit}不在您的督查范围内。未记录任何内容。",
    },
    "inspect.err.conflict": {
        "en": "You are a cadre of {own}, so you cannot inspect {unit}: nobody verifies their "
        "own unit or a unit inside it. Nothing was recorded.",
        "zh": "您是{own}的干部，不能核查{unit}：任何人不得核查本人所在单位或其下级单位。"
        "未记录任何内容。",
    },
    "inspect.err.unknown_unit": {
        "en": "There is no unit with the code “{code}”.",
        "zh": "没有代码为“{code}”的单位。",
    },
    "inspect.err.use_buttons": {
        "en": "Please use the buttons below.",
        "zh": "请使用下方的按钮。",
    },
    "inspect.err.type_remark": {
        "en": "Please type the remark as a message (up to {max_length} characters).",
        "zh": "请以文字消息输入说明（最多 {max_length} 个字）。",
    },
    "inspect.err.remark_empty": {
        "en": "The remark is empty; please type what you saw.",
        "zh": "说明不能为空，请描述您看到的情况。",
    },
    "inspect.err.remark_invisible": {
        "en": "That remark has no visible text (only invisible or control characters), so it "
        "was not kept. Please type the remark again.",
        "zh": "这条说明没有可见的文字（只有不可见字符或控制字符），因此未保存。请重新输入说明。",
    },
    "inspect.err.remark_too_long": {
        "en": "That remark is {length} characters; the limit is {max_length}. Nothing was cut "
        "or saved: your text is in the next message, so you can shorten it and send it again.",
        "zh": "说明共 {length} 个字，上限为 {max_length} 个字。未作删减，也未保存：原文附在下一条"
        "消息中，请精简后重新发送。",
    },
    "inspect.err.too_many_photos": {
        "en": "An inspection keeps at most {max} photos; this one was not added.",
        "zh": "每次核查最多保存 {max} 张照片，这张未被添加。",
    },
    "inspect.err.bad_location": {
        "en": "That location is not valid; please share it again.",
        "zh": "位置无效，请重新发送。",
    },
    "inspect.err.incomplete": {
        "en": "Something is still missing; please go through the steps again.",
        "zh": "还有内容未填写，请重新完成各步骤。",
    },
    "inspect.err.not_a_cadre": {
        "en": "That person is no longer a cadre of this unit; please choose again.",
        "zh": "此人已不是该单位的干部，请重新选择。",
    },
    "inspect.err.task_gone": {
        "en": "That key task is no longer active; please choose again.",
        "zh": "该重点任务已停用，请重新选择。",
    },
    # --- what a photo or location did ---------------------------------------------------------
    "inspect.info.photo_added": {
        "en": "📷 Photo kept ({count} of at most {max}).",
        "zh": "📷 照片已保存（{count}/{max}）。",
    },
    "inspect.info.photo_again": {
        "en": "📷 You sent this photo already; it is kept once ({count} of at most {max}).",
        "zh": "📷 这张照片已发送过，只保存一次（{count}/{max}）。",
    },
    "inspect.info.location_kept": {
        "en": "📍 Location kept; it will be compared with the unit once you choose it.",
        "zh": "📍 位置已保存，选择单位后将与单位位置比对。",
    },
    "inspect.info.location_near": {
        "en": "📍 Location kept: {distance} km from the centre of {unit}, inside its area "
        "({radius} km).",
        "zh": "📍 位置已保存：距{unit}中心 {distance} 公里，在其范围（{radius} 公里）内。",
    },
    "inspect.info.location_far": {
        "en": "⚠️ Location kept, but it is {distance} km from the centre of {unit}, outside its "
        "area ({radius} km). The record will be flagged as made far from the unit.",
        "zh": "⚠️ 位置已保存，但距{unit}中心 {distance} 公里，超出其范围（{radius} 公里）。"
        "该记录将被标记为在单位范围外核查。",
    },
    # --- ends ---------------------------------------------------------------------------------
    "inspect.cancelled": {
        "en": "Inspection cancelled. Nothing was recorded.",
        "zh": "已取消核查，未记录任何内容。",
    },
    "inspect.no_dialogue": {
        "en": "There is no inspection in progress. Send /inspect to start one.",
        "zh": "当前没有进行中的核查。发送 /inspect 开始。",
    },
    "inspect.saved": {
        "en": "✅ Inspection #{id} saved at {when}.\n\n{recap}",
        "zh": "✅ 第 {id} 号核查记录已于 {when} 保存。\n\n{recap}",
    },
    "inspect.saved.clipped": {
        "en": "(The remark is shortened here to fit in one message; all {length} characters "
        "are saved with the record.)",
        "zh": "（说明过长，此处有删节；完整的 {length} 个字已随记录保存。）",
    },
    # --- /inspections -------------------------------------------------------------------------
    "inspect.list.head": {"en": "🔎 <b>Your latest inspections</b>",
                          "zh": "🔎 <b>您最近的核查记录</b>"},
    "inspect.list.none": {
        "en": "You have not recorded any inspection yet. /inspect starts one.",
        "zh": "您还没有核查记录。发送 /inspect 开始。",
    },
    "inspect.list.item": {
        "en": "<b>#{id}</b> · {when} · {unit}\n{subject} · {task}\n{verdict} · {photos} "
        "photo(s){far}\n<i>{remark}</i>",
        "zh": "<b>#{id}</b> · {when} · {unit}\n{subject} · {task}\n{verdict} · 照片 {photos} 张"
        "{far}\n<i>{remark}</i>",
    },
    "inspect.list.whole": {"en": "the unit as a whole", "zh": "整个单位"},
    "inspect.list.general": {"en": "no specific task", "zh": "不针对具体任务"},
    "inspect.list.far": {"en": " · ⚠️ {distance} km from the unit",
                         "zh": " · ⚠️ 距单位 {distance} 公里"},
}
