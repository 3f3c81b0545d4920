"""`civicpulse admin`: who has which role (admin, inspector, auditor...) for which units."""

from __future__ import annotations

import argparse

from bot.cli.common import Commands, id_arg
from bot.cli.db import with_database
from bot.settings import Settings
from storage.models import Role
from storage.uow import Database
from surveys.people.roles import grant_role, revoke_role, role_holders, scope_label

_MENU_NOTE = "their command menu in chat follows within {s} s while the bot runs"


@with_database
async def cmd_admin_add(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    async with db.transaction() as uow:
        person, new = await grant_role(
            uow, telegram_user_id=args.telegram_id, role=Role(args.role),
            unit_code=args.unit, name=args.name, actor="cli",
        )
    state = "now" if new else "already"
    print(f"{person.name} (Telegram {args.telegram_id}) is {state} {args.role} for "
          f"{scope_label(args.unit)}")
    print(_MENU_NOTE.format(s=settings.broadcast.resync_interval_s))
    return 0


@with_database
async def cmd_admin_list(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    async with db.reading() as uow:
        holders = await role_holders(uow, Role(args.role) if args.role else None)
    if not holders:
        which = f"the {args.role} role" if args.role else "a role"
        print(f"nobody has {which} yet: give one with `civicpulse admin add`")
        return 0
    print(f"{'telegram id':>12}  {'name':<24} roles")
    for h in holders:
        account = str(h.telegram_user_id) if h.telegram_user_id is not None else "not linked"
        print(f"{account:>12}  {h.name:<24} {h.describe()}")
    return 0


@with_database
async def cmd_admin_remove(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    async with db.transaction() as uow:
        left = await revoke_role(uow, telegram_user_id=args.telegram_id,
                                 role=Role(args.role), unit_code=args.unit, actor="cli")
    still = f"; still {left.describe()}" if left.roles else "; no roles left"
    print(f"{left.name} (Telegram {args.telegram_id}) is no longer {args.role} for "
          f"{scope_label(args.unit)}{still}")
    print(_MENU_NOTE.format(s=settings.broadcast.resync_interval_s))
    return 0


def _granted_role(parser: argparse.ArgumentParser) -> None:
    # A cadre's role comes with a profile (`civicpulse cadre invite`), not from here.
    parser.add_argument("--role", choices=[r.value for r in Role if r is not Role.CADRE],
                        default=Role.ADMIN.value)


def register(commands: Commands) -> None:
    admin = commands.group("admin", "people with roles")
    add = admin.add("add", cmd_admin_add,
                    "give a Telegram account the admin (or another) role")
    add.add_argument("--telegram-id", type=id_arg, required=True, help="the person's Telegram id")
    add.add_argument("--unit", help="limit the role to this unit and the units below it")
    add.add_argument("--name", help="the person's name as shown in the audit log")
    _granted_role(add)
    remove = admin.add("remove", cmd_admin_remove, "take a role (with the scope it was given) "
                       "from a Telegram account")
    remove.add_argument("--telegram-id", type=id_arg, required=True,
                        help="the person's Telegram id (see `civicpulse admin list`)")
    remove.add_argument("--unit", help="the unit the role was limited to (default: the role "
                        "for all units)")
    _granted_role(remove)
    listing = admin.add("list", cmd_admin_list, "everyone with a role, with each role's scope")
    listing.add_argument("--role", choices=[r.value for r in Role],
                         help="only people with this role")
