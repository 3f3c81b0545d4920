"""`civicpulse evidence verify` and `civicpulse audit`: supervision, which checks that neither
the photo evidence nor the audit log was altered, and reads the recorded versions of a record."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from bot.cli.common import Commands, count_arg
from bot.cli.db import on_database, with_database
from bot.settings import Settings
from storage.evidence import EvidenceStore
from storage.models import Evidence
from storage.uow import Database


def _evidence_problem(store: EvidenceStore, evidence: Evidence) -> str | None:
    """What is wrong with one evidence file, or None if it still has its recorded hash."""
    if store.verify(evidence.path, evidence.sha256):
        return None
    owner = (f"note {evidence.note_id}" if evidence.note_id is not None else
             f"inspection {evidence.inspection_id}" if evidence.inspection_id is not None
             else "not attached")
    where = store.root / evidence.path
    state = ("altered: its SHA-256 no longer matches the one recorded" if where.exists()
             else "missing")
    return f"evidence {evidence.id} ({owner}, person {evidence.person_id}): {where} {state}"


def cmd_evidence_verify(settings: Settings, args: argparse.Namespace) -> int:
    store = EvidenceStore(settings.evidence_dir)

    async def work(db: Database) -> int:
        async with db.reading() as uow:
            files = await uow.evidence.all()
        problems = 0
        for evidence in files:
            # Hashing every photo is blocking file I/O: off the event loop.
            problem = await asyncio.to_thread(_evidence_problem, store, evidence)
            if problem is not None:
                problems += 1
                print(problem, file=sys.stderr)
        if problems:
            print(f"{problems} of {len(files)} evidence file(s) missing or altered",
                  file=sys.stderr)
            return 1
        print(f"evidence intact: {len(files)} file(s) match their recorded SHA-256 "
              f"({store.root})")
        return 0

    return on_database(settings, work)


@with_database
async def cmd_audit_verify(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    """The chain from its start, and every head a publication recorded: the chain alone
    cannot tell that its newest events (or all of them) were deleted; the heads can."""
    from surveys.appraisal.supervision import chain_check

    async with db.reading() as uow:
        check, anchors = await chain_check(uow)
    if check.broken_at is not None:
        print(f"audit log tampered with: the chain breaks at event {check.broken_at} (it, or "
              "an event before it, was edited or deleted)", file=sys.stderr)
    for anchor, now_at in check.missing:
        where = ("no event has that hash any more" if now_at is None else
                 f"that event is now number {now_at}")
        print(f"audit log tampered with: when {anchor.label} was published the log had "
              f"{anchor.events} event(s), the newest with hash {anchor.hash}; the log now has "
              f"{check.events} and {where}: events were deleted (or the chain rebuilt)",
              file=sys.stderr)
    if not check.intact:
        return 1
    heads = (f"; it reaches all {check.anchors} head(s) recorded by publications, the latest "
             f"at event {max(a.events for a in anchors)}" if anchors else
             "; no publication has recorded its head yet")
    print(f"audit log intact: {check.events} event(s) chained{heads}")
    return 0


@with_database
async def cmd_audit_show(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    """Every recorded version of a record (a note's corrections, say), oldest first."""
    async with db.reading() as uow:
        events = await uow.audit.of(args.entity, args.id, limit=args.limit)
    if not events:
        which = f"{args.entity} {args.id}" if args.id else args.entity
        print(f"no audit events about {which}")
        return 0
    for event in events:
        print(f"#{event.id} {event.at:%Y-%m-%d %H:%M:%S} UTC  {event.actor}  {event.action}  "
              f"{event.entity}:{event.entity_id or '-'}")
        for label, state in (("before", event.before), ("after", event.after)):
            if state is not None:
                print(f"    {label}: {json.dumps(state, ensure_ascii=False, sort_keys=True)}")
    return 0


def register(commands: Commands) -> None:
    evidence = commands.group("evidence", "photo evidence")
    evidence.add("verify", cmd_evidence_verify, "recompute every evidence file's SHA-256; "
                 "report missing or altered files")
    audit = commands.group("audit", "the audit log")
    audit.add("verify", cmd_audit_verify, "check the hash chain, and that it still reaches "
              "the head each published appraisal recorded")
    show = audit.add("show", cmd_audit_show, "the recorded versions of a record, oldest first")
    show.add_argument("entity", help="what kind of record: note, inspection, cadre, campaign, ...")
    show.add_argument("id", nargs="?", help="the record's id (default: all of that kind)")
    show.add_argument("--limit", type=count_arg, default=200,
                      help="at most this many, the newest")
