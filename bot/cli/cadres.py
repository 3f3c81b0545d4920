"""`civicpulse cadre`: cadre profiles, their one-time invite links and key tasks."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.cli.common import CliError, Commands, id_arg
from bot.cli.db import on_database, with_database
from bot.rules import fieldwork_of
from bot.settings import Settings
from storage.clock import utcnow
from storage.models import KeyTask
from storage.uow import Database
from surveys.fieldwork import cadres
from surveys.fieldwork.cadres import Profile, TaskRef


def _profile_line(profile: Profile) -> str:
    units = ", ".join(f"{u.name} [{u.code}]" for u in profile.units) or "no unit"
    return f"{_cadre_name(profile)}, {profile.position or 'no position'}, {units}"


def _cadre_name(profile: Profile) -> str:
    return f"{profile.name} ({profile.name_zh})" if profile.name_zh else profile.name


def _task_label(task: TaskRef | KeyTask) -> str:
    return f"{task.title} (#{task.id}{', ' + task.indicator if task.indicator else ''})"


def cmd_cadre_invite(settings: Settings, args: argparse.Namespace) -> int:
    profile_args = (args.name, args.unit, args.position, args.task, args.name_zh)
    if args.person is not None and any(profile_args):
        raise CliError("give either --person ID (a fresh link for an existing profile) or "
                       "--name, --unit and --position (a new profile), not both")
    draft = None
    if args.person is None:
        missing = [flag for flag, value in (("--name", args.name), ("--unit", args.unit),
                                            ("--position", args.position)) if value is None]
        if missing:
            raise CliError(f"a new profile needs {', '.join(missing)} (or --person ID for a "
                           "fresh link to an existing one)")
        draft = cadres.check_profile(args.name, args.position, args.unit, args.task or [],
                                     args.name_zh)
    valid_for = cadres.check_valid_for(args.valid_days, fieldwork_of(settings).invite_valid_for)
    now = utcnow()

    async def work(db: Database) -> int:
        async with db.transaction() as uow:
            if draft is not None:
                issued = await cadres.create_profile(uow, draft, actor="cli", now=now,
                                                     valid_for=valid_for)
            else:
                issued = await cadres.issue_invite(uow, args.person, actor="cli", now=now,
                                                   valid_for=valid_for)
        profile = issued.profile
        if issued.new_profile:
            tasks = ", ".join(t.title for t in profile.tasks) or "none yet"
            print(f"cadre profile {profile.person_id} created: {_profile_line(profile)}; "
                  f"key tasks: {tasks}")
        else:
            print(f"new link for {profile.name} (profile {profile.person_id}); earlier unused "
                  "links no longer work")
        link = cadres.invite_link(settings.bot.username, issued.token)
        print(f"one-time link, valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC (shown only "
              "now: hand it to the cadre privately):")
        print(link)
        if args.qr:
            from analysis.qr import qr_png

            await asyncio.to_thread(Path(args.qr).write_bytes, qr_png(link))
            print(f"{args.qr}: QR code of the link")
        return 0

    return on_database(settings, work)


@with_database
async def cmd_cadre_list(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    async with db.reading() as uow:
        profiles = await cadres.list_profiles(uow, utcnow(), args.unit)
    if not profiles:
        where = f" in {args.unit}" if args.unit else ""
        print(f"no cadre profiles{where} yet: create one with `civicpulse cadre invite`")
        return 0
    print(f"{'id':>5}  {'name':<20} {'position':<22} {'units':<14} link")
    for p in profiles:
        units = ",".join(u.code for u in p.units) or "-"
        print(f"{p.person_id:>5}  {_cadre_name(p):<20} {p.position or '-':<22} {units:<14} "
              f"{p.link.summary}")
        tasks = "; ".join(_task_label(t) for t in p.tasks) or "none"
        print(f"{'':>7}key tasks: {tasks}")
    return 0


@with_database
async def cmd_cadre_name_zh(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    async with db.transaction() as uow:
        profile = await cadres.set_name_zh(uow, args.person, args.name_zh, actor="cli",
                                           now=utcnow())
    shown = profile.name_zh or "none: Chinese readers see the name as entered"
    print(f"profile {profile.person_id} ({profile.name}): Chinese name {shown}")
    return 0


@with_database
async def cmd_cadre_task_add(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    async with db.transaction() as uow:
        task = await cadres.add_task(uow, args.person, args.title, args.indicator, actor="cli")
        profile = await cadres.profile(uow, args.person, utcnow())
    print(f"key task {_task_label(task)} added to {profile.name} (profile "
          f"{profile.person_id})")
    return 0


def register(commands: Commands) -> None:
    cadre = commands.group("cadre", "cadre profiles and their invite links")
    inv = cadre.add("invite", cmd_cadre_invite, "create a profile (or, with --person, a fresh "
                    "link for one) and print its one-time link")
    inv.add_argument("--name", help="the cadre's name")
    inv.add_argument("--name-zh", metavar="NAME",
                     help="the name in Chinese, shown to people who read Chinese")
    inv.add_argument("--unit", action="append", metavar="CODE",
                     help="unit the cadre works for (repeat for several)")
    inv.add_argument("--position", help="e.g. 'Village head'")
    inv.add_argument("--task", action="append", metavar="TITLE",
                     help="a key task the cadre answers for (repeat for several)")
    inv.add_argument("--person", type=id_arg, metavar="ID",
                     help="a fresh link for this existing profile; older unused links stop")
    inv.add_argument("--valid-days", type=int, metavar="D",
                     help="days the link stays valid (default: cadres.invite_valid_days)")
    inv.add_argument("--qr", metavar="PNG", help="also write the link's QR code to this file")
    lst = cadre.add("list", cmd_cadre_list, "profiles with units, key tasks and link status")
    lst.add_argument("--unit", help="only cadres of this unit and the units below it")
    zh = cadre.add("name-zh", cmd_cadre_name_zh, "set (or, without NAME, clear) a profile's "
                   "Chinese name, shown to people who read Chinese")
    zh.add_argument("person", type=id_arg, metavar="ID", help="the profile's id")
    zh.add_argument("name_zh", nargs="?", metavar="NAME")
    task = cadre.group("task", "key tasks")
    task_add = task.add("add", cmd_cadre_task_add, "add a key task to a cadre's profile")
    task_add.add_argument("person", type=id_arg, metavar="ID", help="the profile's id")
    task_add.add_argument("title")
    task_add.add_argument("--indicator", metavar="KEY",
                          help="the appraisal indicator it feeds, e.g. road_maintenance")
