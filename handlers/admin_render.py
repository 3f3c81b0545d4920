"""Turn the admin use cases' results into message texts and inline keyboards.

Buttons carry short data (Telegram allows 64 bytes): ``a:<action>:<campaign code>`` for the
campaign actions and ``d:<nonce>:<version>:<choice>`` for the ``/newcampaign`` dialogue.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.render import MAX_TEXT, at_most
from handlers.texts import t
from storage.models import CampaignStatus
from surveys.campaigns.commands import CampaignList, CampaignRef, CampaignStatusView, ReminderView
from surveys.campaigns.dialogue import (
    RECURRENCE_PRESETS,
    REMINDER_PRESETS,
    STEPS,
    WINDOW_PRESETS,
    Created,
    Screen,
)
from surveys.campaigns.operations import (
    OPTED_OUT,
    PROMPT_BUDGET,
    QUESTIONNAIRE_BUDGET,
    UNREACHABLE,
    AudiencePlan,
)
from surveys.campaigns.rules import INVITATION_ENTRY, check_timezone, recurrence_from_str
from surveys.fieldwork.cadres import EXPIRED, PENDING, LinkStatus
from surveys.fieldwork.invites import CadreInvited, CadreList
from surveys.people.names import display_name

_ACTION = re.compile(r"^a:([qcCrRxy]):([A-Za-z0-9_-]{3,40})$")
_REASONS = (OPTED_OUT, UNREACHABLE, PROMPT_BUDGET, QUESTIONNAIRE_BUDGET)
_NAMES_SHOWN = 10
SUMMARY_LINES = 12  # /campaign: at a glance; the dashboard has the rest

# Campaign actions: QR code, close (ask, confirm, keep), remind (ask, confirm, dismiss).
QR, CLOSE_ASK, CLOSE, KEEP, REMIND_ASK, REMIND, NO_REMIND = "q", "c", "C", "x", "r", "R", "y"


@dataclass(frozen=True)
class Message:
    text: str
    keyboard: InlineKeyboardMarkup | None = None


def action_data(action: str, code: str) -> str:
    return f"a:{action}:{code}"


def parse_action(data: str | None) -> tuple[str, str] | None:
    """Decode campaign action button data; None for anything malformed."""
    match = _ACTION.match(data or "")
    return (match.group(1), match.group(2)) if match else None


def when(value: datetime | None, zone: str = "UTC") -> str:
    """A time as the admin reads it: in the campaign's zone, which is named."""
    if value is None:
        return "–"
    return f"{value.astimezone(check_timezone(zone)):%Y-%m-%d %H:%M} {zone}"


def time_left(left: timedelta | None, lang: str) -> str:
    if left is None:
        return t("admin.left.unlimited", lang)
    minutes = int(left.total_seconds() // 60)
    if minutes <= 0:
        return t("admin.left.none", lang)
    days, rest = divmod(minutes, 24 * 60)
    if days:
        return t("admin.left.days", lang, {"days": days, "hours": rest // 60})
    return t("admin.left.hours", lang, {"hours": rest // 60, "minutes": rest % 60})


def _status(status: CampaignStatus, lang: str) -> str:
    return t(f"admin.status.{status.value}", lang)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _fit(lines: list[str], budget: int = MAX_TEXT - 200) -> str:
    """Join lines, dropping the tail (marked …) rather than exceeding Telegram's limit."""
    kept: list[str] = []
    for line in lines:
        budget -= len(line) + 1
        if budget < 0:
            kept.append("…")
            break
        kept.append(line)
    return "\n".join(kept)


# --- /campaigns and /campaign ---------------------------------------------------------------


def _listing(name: str, lang: str, total: int, items: list[list[str]]) -> str:
    """The answer to ``/<name>``: a heading, the lines of the items shown (of ``total``), how
    many more there are, and a hint (``admin.<name>.empty`` when there is nothing)."""
    if not items:
        return t(f"admin.{name}.empty", lang)
    lines = [t(f"admin.{name}.head", lang, {"total": total}), ""]
    for item in items:
        lines += item
    if total > len(items):
        lines.append(t(f"admin.{name}.more", lang, {"more": total - len(items)}))
    lines += ["", t(f"admin.{name}.hint", lang)]
    return _fit(lines)


def campaign_list(view: CampaignList) -> str:
    lang = view.lang
    items: list[list[str]] = []
    for report in view.reports:
        campaign = report.campaign
        if campaign.status == CampaignStatus.CLOSED:
            closes = t("admin.campaigns.closed", lang,
                       {"date": f"{(campaign.closed_at or campaign.opens_at):%Y-%m-%d}"})
        elif campaign.closes_at is not None:
            closes = t("admin.campaigns.closes", lang, {"date": f"{campaign.closes_at:%Y-%m-%d}"})
        else:
            closes = t("admin.campaigns.no_end", lang)
        items.append([t(
            "admin.campaigns.line", lang,
            {"code": campaign.code, "status": _status(campaign.status, lang),
             "unit": display_name(campaign.unit, lang), "completed": report.completed,
             "started": report.started, "closes": closes},
            raw=frozenset({"closes"}),
        )])
    return _listing("campaigns", lang, view.total, items)


def _deliveries(counts: dict[str, int], lang: str) -> str:
    order = ("sent", "pending", "sending", "failed", "skipped")
    return ", ".join(t(f"admin.delivery.{key}", lang, {"n": counts[key]})
                     for key in order if counts.get(key))


def _entry_counts(counts: dict[str | None, int], lang: str) -> str:
    def name(entry: str | None) -> str:
        if entry is None:
            return t("admin.report.direct", lang)
        if entry == INVITATION_ENTRY:
            return t("admin.report.invited", lang)
        return html.escape(entry)

    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0] or ""))
    return " · ".join(f"{name(entry)}: {n}" for entry, n in ordered)


def campaign_report(view: CampaignStatusView, link: str, entry_links: dict[str, str]) -> Message:
    """``/campaign CODE``: a summary of at most ``SUMMARY_LINES`` lines (what it is, progress,
    trust, deliveries, its links), so it reads at a glance on a phone."""
    lang = view.lang
    campaign = view.report.campaign
    zone = campaign.timezone
    about = [
        t("admin.report.head", lang, {
            "code": campaign.code, "status": _status(campaign.status, lang),
            "unit": view.unit_path, "survey": view.survey_title, "version": view.survey_version,
            "audience": t(f"admin.audience.{campaign.audience}", lang),
        }),
        t("admin.report.window", lang, {
            "opens": when(campaign.opens_at, zone),
            "closes": when(campaign.closes_at, zone) if campaign.closes_at
            else t("admin.campaigns.no_end", lang),
        }),
    ]
    # What it is, how it goes, its links: a blank line between the first two while there is
    # room (at_most drops it last).
    lines = [*"\n".join(about).split("\n"), "", *_progress(view),
             t("admin.report.link", lang, {"link": link})]
    entries = view.entry_points
    for index, entry in enumerate(entries):
        more = len(entries) - index
        if len(lines) - 1 + (1 if more == 1 else 2) > SUMMARY_LINES:
            lines.append(t("admin.report.more_entries", lang, {"more": more}))
            break
        label = t("admin.entry.label", lang, {"label": entry.label}) if entry.label else ""
        lines.append(t("admin.report.entry_link", lang,
                       {"name": entry.name, "label": label, "link": entry_links[entry.name]},
                       raw=frozenset({"label"})))
    rows = [[InlineKeyboardButton(t("admin.btn.qr", lang),
                                  callback_data=action_data(QR, campaign.code))]]
    if view.can_manage and campaign.status != CampaignStatus.CLOSED:
        rows.append([
            InlineKeyboardButton(t("admin.btn.remind", lang),
                                 callback_data=action_data(REMIND_ASK, campaign.code)),
            InlineKeyboardButton(t("admin.btn.close", lang),
                                 callback_data=action_data(CLOSE_ASK, campaign.code)),
        ])
    return Message(_fit(at_most(lines, SUMMARY_LINES)), InlineKeyboardMarkup(rows))


def _progress(view: CampaignStatusView) -> list[str]:
    """Responses, target, margin of error, time, deliveries and entry points: a line each."""
    lang = view.lang
    report = view.report
    campaign = report.campaign
    lines = [t("admin.report.responses", lang, {
        "completed": report.completed, "started": report.started,
        "rate": _percent(report.completion_rate),
    })]
    if campaign.target_responses:
        lines.append(t("admin.report.target", lang, {
            "target": campaign.target_responses,
            "share": _percent(report.completed / campaign.target_responses),
        }))
    if report.margin_of_error is None:
        lines.append(t("admin.report.moe_none", lang))
    else:
        lines.append(t("admin.report.moe", lang, {"moe": f"{report.margin_of_error * 100:.1f}"}))
    if campaign.status == CampaignStatus.CLOSED:
        lines.append(t("admin.report.ended", lang,
                       {"date": when(campaign.closed_at, campaign.timezone)}))
    else:
        lines.append(t("admin.report.left", lang, {"left": time_left(report.time_left, lang)},
                       raw=frozenset({"left"})))
    invitations = report.deliveries.get("invitations")
    sent = (t("admin.report.invitations", lang, {"line": _deliveries(invitations, lang)},
              raw=frozenset({"line"})) if invitations
            else t("admin.report.no_broadcast", lang))
    reminders = report.deliveries.get("reminders")
    if reminders:
        sent += " · " + t("admin.report.reminders", lang,
                                         {"line": _deliveries(reminders, lang)},
                                         raw=frozenset({"line"}))
    lines.append(sent)
    if report.entry_points:
        lines.append(t("admin.report.entries", lang,
                       {"line": _entry_counts(report.entry_points, lang)},
                       raw=frozenset({"line"})))
    return lines


def qr_keyboard(code: str, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t("admin.btn.qr", lang), callback_data=action_data(QR, code))]]
    )


# --- /close and /remind ---------------------------------------------------------------------


def close_ask(ref: CampaignRef) -> Message:
    lang = ref.lang
    return Message(
        t("admin.close.ask", lang, {"code": ref.code, "unit": ref.unit}),
        InlineKeyboardMarkup([[
            InlineKeyboardButton(t("admin.btn.confirm_close", lang),
                                 callback_data=action_data(CLOSE, ref.code)),
            InlineKeyboardButton(t("admin.btn.keep", lang),
                                 callback_data=action_data(KEEP, ref.code)),
        ]]),
    )


def skipped(plan: AudiencePlan, lang: str) -> str:
    """"3 skipped: 1 opted out, 2 cannot be reached (names of cadres)." as HTML."""
    if not plan.skipped_count:
        return t("admin.skipped.none", lang)
    reasons = []
    for reason in _REASONS:
        people = plan.skipped.get(reason, [])
        if not people:
            continue
        part = t(f"admin.reason.{reason}", lang, {"n": len(people)})
        names = plan.skipped_names(reason, lang)
        if names:
            shown = ", ".join(names[:_NAMES_SHOWN]) + (
                ", …" if len(names) > _NAMES_SHOWN else "")
            part += t("admin.reason.names", lang, {"names": shown})
        reasons.append(part)
    return t("admin.skipped.some", lang, {"count": plan.skipped_count,
                                           "reasons": t("admin.sep", lang).join(reasons)},
             raw=frozenset({"reasons"}))


def remind_ask(view: ReminderView) -> Message:
    lang = view.lang
    text = t("admin.remind.ask", lang, {
        "code": view.code, "count": len(view.plan.recipients),
        "skipped": skipped(view.plan, lang),
    }, raw=frozenset({"skipped"}))
    return Message(text, InlineKeyboardMarkup([[
        InlineKeyboardButton(t("admin.btn.send_reminders", lang),
                             callback_data=action_data(REMIND, view.code)),
        InlineKeyboardButton(t("admin.btn.dismiss", lang),
                             callback_data=action_data(NO_REMIND, view.code)),
    ]]))


# --- /newcampaign ---------------------------------------------------------------------------


def _reminders(value: str, lang: str) -> str:
    return t("admin.dlg.before", lang, {"plan": value}) if value else t("admin.dlg.none", lang)


def _recurrence(value: str, lang: str) -> str:
    recurrence = recurrence_from_str(value or None)
    if recurrence is None:
        return t("admin.dlg.none", lang)
    if recurrence.kind == "cron":
        return t("admin.dlg.cron", lang, {"cron": recurrence.cron})
    return t(f"admin.dlg.{recurrence.kind}", lang)


def _recap(screen: Screen, lang: str) -> list[str]:
    """What was chosen at the steps before this one."""
    data = screen.data
    done = set(STEPS[: STEPS.index(screen.step)])
    zone = str(data.get("timezone") or "UTC")
    values: list[tuple[str, str]] = []
    if "survey" in done and screen.survey_title is not None:
        values.append(("survey", html.escape(screen.survey_title.get(lang))))
    if "unit" in done:
        values.append(("unit", html.escape(str(data.get("unit_name")))))
    if "audience" in done:
        values.append(("audience", t(f"admin.audience.{data.get('audience')}", lang)))
    if "dates" in done and screen.closes_at is not None:
        opens = (t("admin.dlg.now", lang) if not data.get("opens_at")
                 else html.escape(when(screen.opens_at, zone)))
        values.append(("dates", t("admin.dlg.window", lang,
                                  {"opens": opens, "closes": when(screen.closes_at, zone)},
                                  raw=frozenset({"opens"}))))
    if "reminders" in done:
        values.append(("reminders", _reminders(str(data.get("reminders") or ""), lang)))
    if "recurrence" in done:
        values.append(("recurrence", _recurrence(str(data.get("recurrence") or ""), lang)))
    if "code" in done:
        values.append(("code", f"<code>{html.escape(str(data.get('code')))}</code>"))
    return [t(f"admin.dlg.so_far.{key}", lang, {"value": value}, raw=frozenset({"value"}))
            for key, value in values]


def _button(screen: Screen, label: str, choice: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=screen.choice(choice))


def dialogue_message(screen: Screen, lang: str) -> Message:
    """The prompt of the dialogue's current step, with what was chosen so far."""
    step = screen.step
    lines = [t("admin.dlg.title", lang, {"n": STEPS.index(step) + 1, "total": len(STEPS)})]
    recap = _recap(screen, lang)
    if recap:
        lines += recap
    lines.append("")
    if screen.error:
        lines += ["⚠️ " + t(f"admin.err.{screen.error}", lang, screen.params), ""]
    prompt, rows = _step_prompt(screen, lang)
    lines += prompt
    nav = []
    if step != STEPS[0]:
        nav.append(_button(screen, t("admin.btn.back", lang), "b"))
    nav.append(_button(screen, t("admin.btn.cancel", lang), "x"))
    rows.append(nav)
    return Message(_fit(lines), InlineKeyboardMarkup(rows))


def _step_prompt(screen: Screen, lang: str,
                 ) -> tuple[list[str], list[list[InlineKeyboardButton]]]:
    """What the current step asks, and its own buttons."""
    data = screen.data
    zone = str(data.get("timezone") or "UTC")
    step = screen.step
    lines: list[str] = []
    rows: list[list[InlineKeyboardButton]] = []
    if step == "survey":
        lines.append(t("admin.dlg.survey", lang))
        for index, template in enumerate(screen.templates):
            audience = t(f"admin.audience.{template.audience}", lang)
            rows.append([_button(screen, f"{template.title.get(lang)} · {audience}",
                                 f"s{index}")])
    elif step == "unit":
        lines.append(t("admin.dlg.unit", lang))
        if screen.browsing is not None:
            node = screen.browsing
            lines.append(t("admin.dlg.unit_inside", lang, {"unit": node.name}))
            rows.append([_button(screen, t("admin.btn.this_unit", lang,
                                           {"unit": node.name}),
                                 f"u{node.id}")])
        for unit in screen.units:
            row = [_button(screen, unit.name, f"u{unit.id}")]
            if unit.has_children:
                row.append(_button(screen, "›", f"n{unit.id}"))
            rows.append(row)
        if screen.more_units:
            lines.append(t("admin.dlg.more_units", lang, {"more": screen.more_units}))
        if screen.up is not None:
            rows.append([_button(screen, t("admin.btn.up", lang),
                                 "n" if screen.up == 0 else f"n{screen.up}")])
    elif step == "audience":
        default = str(data.get("audience") or "residents")
        lines.append(t("admin.dlg.audience", lang,
                       {"audience": t(f"admin.audience.{default}", lang)}))
        rows.append([
            _button(screen, ("✓ " if default == "residents" else "")
                    + t("admin.btn.residents", lang), "ar"),
            _button(screen, ("✓ " if default == "cadres" else "")
                    + t("admin.btn.cadres", lang), "ac"),
        ])
    elif step == "dates":
        lines.append(t("admin.dlg.dates", lang, {"zone": zone}))
        rows.append([_button(screen, t("admin.btn.now_days", lang, {"days": days}), f"w{days}")
                     for days in WINDOW_PRESETS])
    elif step == "reminders":
        lines.append(t("admin.dlg.reminders", lang))
        labels = [preset or t("admin.btn.no_reminders", lang) for preset in REMINDER_PRESETS]
        rows.append([_button(screen, label, f"r{i}") for i, label in enumerate(labels)])
    elif step == "recurrence":
        lines.append(t("admin.dlg.recurrence", lang, {"zone": zone}))
        names = {"": "admin.btn.once", "monthly": "admin.btn.monthly",
                 "quarterly": "admin.btn.quarterly"}
        rows.append([_button(screen, t(names[preset], lang), f"c{i}")
                     for i, preset in enumerate(RECURRENCE_PRESETS)])
    elif step == "code":
        code = screen.suggested_code or ""
        lines.append(t("admin.dlg.code", lang, {"code": code}))
        rows.append([_button(screen, t("admin.btn.use_code", lang, {"code": code}), "k")])
    elif step == "confirm":
        plan = screen.plan
        if plan is not None:
            lines.append(t("admin.dlg.plan", lang, {
                "count": len(plan.recipients), "skipped": skipped(plan, lang),
            }, raw=frozenset({"skipped"})))
            if not plan.recipients:
                lines.append(t("admin.dlg.plan_zero", lang))
            lines.append("")
        lines.append(t("admin.dlg.confirm", lang))
        rows.append([_button(screen, t("admin.btn.create", lang), "y")])
    return lines, rows


def created_message(created: Created, lang: str, link: str) -> Message:
    invited = (t("admin.dlg.invited", lang, {"count": created.recipients}) if created.recipients
               else t("admin.dlg.invited_zero", lang))
    text = t("admin.dlg.created", lang, {
        "code": created.code, "unit": created.unit, "status": _status(created.status, lang),
        "opens": when(created.opens_at, created.timezone),
        "closes": when(created.closes_at, created.timezone) if created.closes_at
        else t("admin.campaigns.no_end", lang),
        "invited": invited, "link": link,
    }, raw=frozenset({"invited"}))
    return Message(text, qr_keyboard(created.code, lang))


# --- /invite --------------------------------------------------------------------------------


def invite_message(invited: CadreInvited, link: str) -> Message:
    """What the admin gets: the profile, and the one-time link with its expiry."""
    lang = invited.lang
    issued = invited.issued
    profile = issued.profile
    name = display_name(profile, lang)
    params: dict[str, object] = {
        "id": profile.person_id, "name": name, "position": profile.position or "–",
        "units": ", ".join(display_name(u, lang) for u in profile.units),
        "tasks": ", ".join(task.title for task in profile.tasks)
        or t("admin.invite.no_tasks", lang),
    }
    head = t("admin.invite.created" if issued.new_profile else "admin.invite.fresh", lang,
             params)
    until = when(issued.expires_at)
    body = t("admin.invite.link", lang, {"until": until, "name": name, "link": link})
    return Message(f"{head}\n\n{body}")


def invite_qr_caption(invited: CadreInvited) -> str:
    name = display_name(invited.issued.profile, invited.lang)
    return t("admin.invite.qr", invited.lang, {"name": name,
                                                "until": when(invited.issued.expires_at)})


def _link(status: LinkStatus, lang: str) -> str:
    at = when(status.at) if status.at is not None else ""
    latest = t(f"admin.link.{status.latest}", lang, {"at": at})
    if not status.linked:
        return latest
    if status.latest in (PENDING, EXPIRED):
        return t("admin.link.linked_and", lang, {"latest": latest})
    return t("admin.link.linked", lang)


def cadre_list(view: CadreList) -> str:
    lang = view.lang
    items: list[list[str]] = []
    for profile in view.profiles:
        item = [t("admin.cadres.line", lang, {
            "id": profile.person_id, "name": display_name(profile, lang),
            "position": profile.position or "–",
            "units": ", ".join(display_name(u, lang) for u in profile.units),
            "link": _link(profile.link, lang),
        })]
        if profile.tasks:
            item.append(t("admin.cadres.tasks", lang,
                          {"tasks": ", ".join(task.title for task in profile.tasks)}))
        items.append(item)
    return _listing("cadres", lang, view.total, items)
