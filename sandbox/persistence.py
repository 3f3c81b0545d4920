"""Between the sandbox's live objects and its state file: what to write, and how to rebuild.

:func:`collect_changes` turns what :class:`~sandbox.state.Changes` noted into a
:class:`~sandbox.state.Batch` for the writer's thread; :func:`restore` rebuilds users, chats,
messages, logs, files and unconfirmed updates from what an earlier run saved.
"""

from __future__ import annotations

from typing import Any

from sandbox.chats import ALL_EVENTS_KEPT, Chat, Chats, Message, Query, message_view
from sandbox.media import FileStore, StoredFile
from sandbox.state import Batch, Changes, SavedState
from sandbox.updates import Update, UpdateQueue

__all__ = ["collect_changes", "restore"]


def collect_changes(
    changes: Changes, chats: Chats, updates: UpdateQueue, files: FileStore, force: bool
) -> Batch | None:
    """The changes since the last call, as plain data for the writer's thread (None for none,
    unless ``force``).

    Runs on the event loop, so it sees a consistent state. What it hands over is never
    changed in place afterwards (edits replace a message's fields, they do not mutate them),
    so the thread may encode it while the loop goes on.
    """
    if not (force or changes):
        return None
    batch = Batch(
        counters={
            "update_id": updates.next_update_id,
            "seq": chats.seq,
            "query": chats.next_query,
            "file": files.next_number,
        }
    )
    batch.users = [(user_id, _user_row(chats.by_id[user_id])) for user_id in changes.users]
    changes.users = {}
    for chat_id, message_id in changes.messages:
        msg = chats.by_id[chat_id].messages.get(message_id)
        if msg is None:
            batch.deleted_messages.append((chat_id, message_id))
        else:
            batch.messages.append((chat_id, message_id, _fields(msg)))
    changes.messages = {}
    batch.events, changes.events = changes.events, []
    for query_id in changes.queries:
        query = chats.queries.get(query_id)
        if query is None:
            batch.answered_queries.append(query_id)
        else:
            batch.queries.append(_fields(query))
    changes.queries = set()
    for stored in changes.files:
        meta = _fields(stored)
        batch.files.append((meta, meta.pop("data")))
    changes.files = []
    if changes.updates_changed:
        _collect_updates(batch, changes, updates)
    return batch


def _user_row(chat: Chat) -> dict[str, Any]:
    user = chat.user
    return {
        "id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "username": user.username,
        "language_code": user.language_code,
        "blocked": user.blocked,
        "chat_instance": chat.chat_instance,
        "next_message_id": chat.next_message_id,
        "reply_keyboard": chat.reply_keyboard,
    }


def _fields(record: Message | Query | StoredFile) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}


def _collect_updates(batch: Batch, changes: Changes, updates: UpdateQueue) -> None:
    # Unconfirmed = waiting for getUpdates or being delivered to a webhook.
    unconfirmed = {u.update_id: u for u in updates.pending}
    unconfirmed.update(updates.inflight)
    batch.updates = [
        (u.update_id, u.kind, u.body)
        for update_id, u in unconfirmed.items()
        if update_id not in changes.saved_updates
    ]
    batch.confirmed_updates = [u for u in changes.saved_updates if u not in unconfirmed]
    changes.saved_updates = set(unconfirmed)
    changes.updates_changed = False


def restore(saved: SavedState, chats: Chats, updates: UpdateQueue, files: FileStore) -> set[int]:
    """Rebuild the sandbox's objects from the state directory and continue every counter after
    its last value; the ids of the unconfirmed updates, which the state file now holds.

    Raises KeyError, TypeError or ValueError for a saved state that does not make sense; the
    objects are half rebuilt then, and the caller starts again from empty ones.
    """
    _restore_chats(saved, chats)
    for update_id, kind, body in saved.updates:
        updates.restore(Update(update_id, kind, body))
    for row in saved.queries:
        query = Query(**row)
        if query.chat_id in chats.by_id:
            chats.queries[query.id] = query
    for meta, data in saved.files:
        files.restore(StoredFile(**meta, data=data))
    counters = saved.counters
    last_seq = chats.all_seqs[-1] if chats.all_seqs else 0
    chats.seq = max(counters.get("seq", 0), last_seq)
    last_update = saved.updates[-1][0] + 1 if saved.updates else 0
    updates.next_update_id = max(counters.get("update_id", 1000), last_update)
    chats.next_query = max(counters.get("query", 1), 1)
    files.next_number = max(counters.get("file", 1), files.next_number)
    return {update_id for update_id, _, _ in saved.updates}


def _restore_chats(saved: SavedState, chats: Chats) -> None:
    """Users with their chats, the chats' messages, then their logs."""
    for row in saved.users:
        chat = chats.add_user(
            int(row["id"]),
            str(row["first_name"]),
            row.get("last_name"),
            row.get("username"),
            row.get("language_code"),
        )
        chat.user.blocked = bool(row.get("blocked"))
        chat.chat_instance = str(row["chat_instance"])
        chat.next_message_id = int(row["next_message_id"])
        chat.reply_keyboard = row.get("reply_keyboard")
    for chat_id, fields in saved.messages:
        owner = chats.by_id.get(chat_id)
        if owner is None:
            continue
        msg = Message(**fields)
        owner.messages[msg.message_id] = msg
        if msg.reply_markup:
            owner.keyboard_ids.append(msg.message_id)  # rows come in message id order
    events: list[dict[str, Any]] = []
    for event in saved.events:
        owner = chats.by_id.get(int(event["chat_id"]))
        if owner is None:
            continue
        if event["kind"] == "message":
            shown = owner.messages.get(int(event.pop("message_id")))
            if shown is None:
                continue  # deleted since
            event["message"] = message_view(shown)
        owner.events.append(event)
        owner.seqs.append(int(event["seq"]))
        events.append(event)
    tail = events[-ALL_EVENTS_KEPT:]
    chats.all_events = list(tail)
    chats.all_seqs = [int(e["seq"]) for e in tail]
