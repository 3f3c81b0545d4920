"""What the bot says to cadres (/note, /notes, invite links, self-assessments)."""

from __future__ import annotations

CADRE_TEXTS: dict[str, dict[str, str]] = {
    # Photo evidence, for notes and inspections alike.
    "evidence.too_large": {
        "en": "That file is too large: photos up to {limit_mb} MB are kept. Nothing was saved.",
        "zh": "文件太大：只保存不超过 {limit_mb} MB 的照片。未保存任何内容。",
    },
    "evidence.not_image": {
        "en": "That is not a photo I can read (JPEG, PNG, WebP or GIF). Nothing was saved.",
        "zh": "无法识别为照片（支持 JPEG、PNG、WebP 或 GIF）。未保存任何内容。",
    },
    "evidence.unavailable": {
        "en": "Telegram would not hand that file over; please send it again.",
        "zh": "无法从 Telegram 获取该文件，请重新发送。",
    },
    "evidence.forwarded": {
        "en": "Forwarded photos and locations are not accepted as evidence: send your own, "
        "taken on site.",
        "zh": "转发的照片和位置不能作为佐证：请发送您本人在现场拍摄的照片或所在位置。",
    },
}

# One dialogue at a time (``surveys.people.busy``): a command that would throw away another
# dialogue in progress says which, and how to finish or drop it. ``{command}`` is the command
# to send again. The same texts serve notes (``note.busy.*``), inspections (``busy.*``) and
# admins (``admin.busy.*``, in ``handlers.admin_texts``).
BUSY_TEXTS: dict[str, dict[str, str]] = {
    "busy.note": {
        "en": "You have a progress note in progress: save it, or send /cancel to drop it, "
        "then {command} again.",
        "zh": "您有一条工作进展尚未完成：请先保存，或发送 /cancel 放弃，然后再发送 {command}。",
    },
    "busy.note_fix": {
        "en": "You are correcting note #{id}: send its new text, or send /cancel to drop the "
        "correction, then {command} again.",
        "zh": "您正在修改第 {id} 号进展：请发送新的文字，或发送 /cancel 放弃修改，然后再发送 "
        "{command}。",
    },
    "busy.inspect": {
        "en": "You have an inspection in progress: save it, or send /cancel to drop it, then "
        "{command} again.",
        "zh": "您有一条核查记录尚未完成：请先保存，或发送 /cancel 放弃，然后再发送 {command}。",
    },
    "busy.appeal": {
        "en": "You are writing an appeal (/appeal): send its reason, or send /cancel to drop "
        "it, then {command} again.",
        "zh": "您正在提出申诉（/appeal）：请发送申诉理由，或发送 /cancel 放弃，然后再发送 "
        "{command}。",
    },
    "busy.appeal_answer": {
        "en": "You are answering an appeal (/appeals): send the answer, or send /cancel to "
        "drop it, then {command} again.",
        "zh": "您正在答复一条申诉（/appeals）：请发送答复内容，或发送 /cancel 放弃，然后再发送 "
        "{command}。",
    },
    "busy.newcampaign": {
        "en": "You have a new campaign in progress (/newcampaign): finish it, or send /cancel "
        "to drop it, then {command} again.",
        "zh": "您正在创建新的问卷活动（/newcampaign）：请先完成，或发送 /cancel 放弃，然后再发送 "
        "{command}。",
    },
}
CADRE_TEXTS.update(BUSY_TEXTS)
CADRE_TEXTS.update({f"note.{key}": text for key, text in BUSY_TEXTS.items()})

# Progress notes: /note, /notes. Parameters are HTML-escaped by ``t()``; templates are HTML.
NOTE_TEXTS: dict[str, dict[str, str]] = {
    # --- refusals -----------------------------------------------------------------------------
    "note.not_cadre": {
        "en": "This is for cadres: it records their progress notes. If you are one, ask your "
        "admin for an invite link to link this Telegram account to your profile.",
        "zh": "此功能仅供干部记录工作进展。如果您是干部，请向管理员索取邀请链接，将此 Telegram "
        "账号与您的档案关联。",
    },
    "note.no_unit": {
        "en": "Your cadre profile has no unit yet, so a note could not say where it belongs. "
        "Please ask your admin to set your unit.",
        "zh": "您的干部档案尚未设置所属单位，无法记录进展。请联系管理员设置单位。",
    },
    "note.stale": {
        "en": "This button is no longer active; please use the latest message.",
        "zh": "此按钮已失效，请使用最新的消息。",
    },
    "note.forged": {"en": "This button is not valid.", "zh": "此按钮无效。"},
    "note.no_text": {
        "en": "A note needs a few words first: send what you did as a message (up to {limit} "
        "characters), then tap the task.",
        "zh": "请先用文字简要说明做了什么（最多 {limit} 个字），再点击对应的任务。",
    },
    "note.too_many_photos": {
        "en": "A note can carry at most {limit} photos, and this one has them all. That photo "
        "was not added.",
        "zh": "每条进展最多附 {limit} 张照片，本条已满。这张照片未添加。",
    },
    "note.bad_location": {
        "en": "That location is not a point on Earth; it was not added.",
        "zh": "该位置无效，未添加。",
    },
    "note.no_note": {
        "en": "Note #{id} is not one of your notes.",
        "zh": "第 {id} 号进展不是您的记录。",
    },
    "note.withdrawn": {
        "en": "Note #{id} has been withdrawn, so it can no longer be changed.",
        "zh": "第 {id} 号进展已撤回，不能再修改。",
    },
    "note.window_closed": {
        "en": "A note can be corrected or withdrawn only within {hours} hours of sending. "
        "Note #{id} was sent on {sent_at}, so it can no longer be changed.",
        "zh": "进展只能在发送后 {hours} 小时内修改或撤回。第 {id} 号进展发送于 {sent_at}，"
        "已不能再修改。",
    },
    "note.draft_open": {
        "en": "You have a note draft in progress. Save it (tap its task) or /cancel it first, "
        "then correct the older note.",
        "zh": "您有一条尚未保存的进展草稿。请先保存（点击任务）或发送 /cancel 放弃，"
        "再修改旧的进展。",
    },
    "note.no_dialogue": {
        "en": "There is no correction in progress.",
        "zh": "当前没有正在修改的进展。",
    },
    "note.empty_text": {
        "en": "Please send the corrected text as a message, or /cancel.",
        "zh": "请发送修改后的文字，或发送 /cancel 取消。",
    },
    "note.invisible_text": {
        "en": "That message has no visible text (only invisible or control characters). "
        "Please send the corrected text again, or /cancel.",
        "zh": "这条消息没有可见的文字（只有不可见字符或控制字符）。请重新发送修改后的文字，或发送 "
        "/cancel 取消。",
    },
    "note.blank": {
        "en": "That text has no visible characters (only invisible or control characters), "
        "so it was not taken; the draft keeps its text. Please type it again.",
        "zh": "这段文字没有可见的字符（只有不可见字符或控制字符），因此未采用，草稿中的文字不变。"
        "请重新输入。",
    },
    "note.fix_text_only": {
        "en": "You are correcting a note: only its text can change. Send the new text as a "
        "message, or /cancel.",
        "zh": "您正在修改一条进展，只能修改文字。请发送新的文字，或发送 /cancel 取消。",
    },
    "note.too_long": {
        "en": "That text is {length} characters long; a note can have at most {limit}. It was "
        "not saved, and nothing was cut: here it is, to shorten and send again.",
        "zh": "这段文字共 {length} 个字，进展最多 {limit} 个字。未保存，也没有删减任何内容："
        "原文如下，请精简后重新发送。",
    },
    # --- the draft ----------------------------------------------------------------------------
    "note.draft.title": {"en": "📝 <b>Progress note</b>", "zh": "📝 <b>工作进展</b>"},
    "note.draft.text": {
        "en": "Text ({length}/{limit}): {text}",
        "zh": "文字（{length}/{limit}）：{text}",
    },
    "note.draft.no_text": {
        "en": "Text: none yet. Send what you did, or a photo with it as the caption "
        "(up to {limit} characters).",
        "zh": "文字：尚无。请发送做了什么，或带说明的照片（最多 {limit} 个字）。",
    },
    "note.draft.photos": {
        "en": "Photos: {count} (up to {limit})",
        "zh": "照片：{count} 张（最多 {limit} 张）",
    },
    "note.draft.no_photos": {
        "en": "Photos: none (optional)",
        "zh": "照片：无（可选）",
    },
    "note.draft.place": {"en": "Location: {place}", "zh": "位置：{place}"},
    "note.draft.no_place": {
        "en": "Location: none (optional)",
        "zh": "位置：无（可选）",
    },
    "note.draft.ask_task": {
        "en": "Which key task? Tap one to save.",
        "zh": "属于哪项重点任务？点击即保存。",
    },
    "note.draft.ask_save": {
        "en": "Tap Save to save the note.",
        "zh": "点击“保存”即可保存这条进展。",
    },
    "note.added.started": {"en": "", "zh": ""},
    "note.added.resumed": {
        "en": "You already have a note in progress; here it is (/cancel discards it).",
        "zh": "您有一条尚未保存的进展草稿，继续编辑（发送 /cancel 可放弃）。",
    },
    "note.added.text": {"en": "Text saved in the draft.", "zh": "文字已存入草稿。"},
    "note.added.photo": {"en": "Photo added.", "zh": "照片已添加。"},
    "note.added.same_photo": {
        "en": "That photo is already in this note.",
        "zh": "这张照片已在本条进展中。",
    },
    "note.added.location": {"en": "Location added.", "zh": "位置已添加。"},
    "note.place.near": {
        "en": "{distance} km from {centre}",
        "zh": "距{centre} {distance} 公里",
    },
    "note.place.far": {
        "en": "⚠️ {distance} km from {centre}, outside its {radius} km area. It is kept, and "
        "the note will be marked as far from your unit.",
        "zh": "⚠️ 距{centre} {distance} 公里，超出其 {radius} 公里范围。位置已保留，"
        "这条进展将被标记为“远离所属单位”。",
    },
    "note.place.unchecked": {
        "en": "received (no centre is set for your unit, so the distance is not checked)",
        "zh": "已收到（所属单位未设置中心位置，未核对距离）",
    },
    # --- buttons ------------------------------------------------------------------------------
    "note.btn.other": {"en": "Other / none", "zh": "其他 / 无"},
    "note.btn.save": {"en": "Save note", "zh": "保存"},
    "note.btn.cancel": {"en": "✖ Cancel", "zh": "✖ 取消"},
    "note.btn.correct": {"en": "✏️ Correct #{id}", "zh": "✏️ 修改 #{id}"},
    "note.btn.withdraw": {"en": "🗑 Withdraw #{id}", "zh": "🗑 撤回 #{id}"},
    "note.btn.confirm_withdraw": {"en": "Yes, withdraw #{id}", "zh": "确认撤回 #{id}"},
    "note.btn.keep": {"en": "Keep it", "zh": "保留"},
    # --- saved, cancelled ---------------------------------------------------------------------
    "note.saved": {
        "en": "✅ Saved note #{id} about “{task}”: {photos}, {place}.\n"
        "You can correct or withdraw it within {hours} hours: /notes",
        "zh": "✅ 已保存第 {id} 号进展（{task}）：{photos}，{place}。\n"
        "{hours} 小时内可修改或撤回：/notes",
    },
    "note.saved.no_task": {
        "en": "✅ Saved note #{id} (no key task): {photos}, {place}.\n"
        "You can correct or withdraw it within {hours} hours: /notes",
        "zh": "✅ 已保存第 {id} 号进展（无对应任务）：{photos}，{place}。\n"
        "{hours} 小时内可修改或撤回：/notes",
    },
    "note.photos.0": {"en": "no photo", "zh": "无照片"},
    "note.photos.1": {"en": "1 photo", "zh": "1 张照片"},
    "note.photos.n": {"en": "{count} photos", "zh": "{count} 张照片"},
    "note.saved.place.none": {"en": "no location", "zh": "无位置"},
    "note.saved.place.near": {
        "en": "location {distance} km from {centre}",
        "zh": "位置距{centre} {distance} 公里",
    },
    "note.saved.place.far": {
        "en": "location {distance} km from {centre} ⚠️ outside its {radius} km area (flagged)",
        "zh": "位置距{centre} {distance} 公里 ⚠️ 超出其 {radius} 公里范围（已标记）",
    },
    "note.saved.place.unchecked": {
        "en": "location received (distance not checked)",
        "zh": "位置已收到（未核对距离）",
    },
    "note.cancelled": {
        "en": "Note draft discarded; nothing was saved.",
        "zh": "已放弃进展草稿，未保存任何内容。",
    },
    "note.fix.cancelled": {
        "en": "Correction cancelled; the note is unchanged.",
        "zh": "已取消修改，进展保持不变。",
    },
    # --- /notes -------------------------------------------------------------------------------
    "note.list.title": {
        "en": "<b>Your latest notes</b> (newest first)",
        "zh": "<b>您最近的进展</b>（最新的在前）",
    },
    "note.list.item": {
        "en": "<b>#{id}</b> · {date} · {task} · {photos}{flags}\n{excerpt}",
        "zh": "<b>#{id}</b> · {date} · {task} · {photos}{flags}\n{excerpt}",
    },
    "note.list.no_task": {"en": "no key task", "zh": "无对应任务"},
    "note.list.far": {"en": "⚠️ far from unit", "zh": "⚠️ 远离所属单位"},
    "note.list.withdrawn": {"en": "withdrawn", "zh": "已撤回"},
    "note.list.corrected": {"en": "corrected (v{version})", "zh": "已修改（第 {version} 版）"},
    "note.list.empty": {
        "en": "You have not sent any notes yet. /note writes one: a few words, a photo if you "
        "like, and the task it is about.",
        "zh": "您还没有发送过进展。发送 /note 记录一条：几句话、可选的照片，以及对应的任务。",
    },
    "note.list.footer": {
        "en": "Notes can be corrected or withdrawn within {hours} hours of sending. They are a "
        "record, not a quota: their number and length never count toward any score.",
        "zh": "进展发送后 {hours} 小时内可修改或撤回。进展只是记录，不是指标："
        "条数和长度都不计入任何评分。",
    },
    # --- correct, withdraw --------------------------------------------------------------------
    "note.fix.ask": {
        "en": "✏️ Correcting note #{id}. Send the new text (up to {limit} characters); it "
        "replaces this one:\n\n{text}",
        "zh": "✏️ 正在修改第 {id} 号进展。请发送新的文字（最多 {limit} 个字），"
        "将替换以下内容：\n\n{text}",
    },
    "note.fix.done": {
        "en": "Note #{id} corrected: this is now version {version}. Every earlier version is "
        "kept in the audit log.",
        "zh": "第 {id} 号进展已修改，现为第 {version} 版。之前的每一版都保存在审计日志中。",
    },
    "note.fix.same": {
        "en": "Note #{id} is unchanged: the text is the same.",
        "zh": "第 {id} 号进展未改变：文字相同。",
    },
    "note.withdraw.ask": {
        "en": "Withdraw note #{id} of {date}?\n{excerpt}\n\nIt stays on record, marked as "
        "withdrawn.",
        "zh": "撤回 {date} 的第 {id} 号进展？\n{excerpt}\n\n撤回后仍保留记录，并标记为已撤回。",
    },
    "note.withdraw.done": {
        "en": "Note #{id} withdrawn. It stays on record, marked as withdrawn.",
        "zh": "第 {id} 号进展已撤回，记录仍保留并标记为已撤回。",
    },
    "note.withdraw.kept": {"en": "Note #{id} kept.", "zh": "第 {id} 号进展已保留。"},
}
CADRE_TEXTS.update(NOTE_TEXTS)
