"""Rows the dashboard's pages read, kept in process while the audit log stands still.

Every change to campaigns (created, opened, closed, an entry point added), to cadres'
profiles (created, renamed, a task added, a link issued or used, a role granted or revoked)
and to units is audited in the transaction that makes it (as
:meth:`surveys.appraisal.published_rows.PublishedRows.snapshot` relies on for the unit
tree). So what was read of them is still true while the audit log's newest event is the one
it was read under, and 20 readers of the same page need not each ask the database again.
What changes without an audit event (responses to an open campaign, messages sent) is never
kept here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class UntilAudit(Generic[K, V]):
    """Values by key, the newest ``keep`` read, each under the mark (the audit log's newest
    event's hash) it was read under: asked under another mark, it is read again."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._kept: OrderedDict[K, tuple[str | None, V]] = OrderedDict()

    def peek(self, key: K, mark: str | None) -> V | None:
        found = self._kept.get(key)
        if found is None or found[0] != mark:
            return None
        self._kept.move_to_end(key)
        return found[1]

    def put(self, key: K, mark: str | None, value: V) -> None:
        if not self.keep:
            return
        self._kept[key] = (mark, value)
        self._kept.move_to_end(key)
        while len(self._kept) > self.keep:
            self._kept.popitem(last=False)

    async def get(self, key: K, mark: str | None, read: Callable[[], Awaitable[V]]) -> V:
        """The value kept under ``mark``, else ``read()`` and kept."""
        found = self._kept.get(key)
        if found is not None and found[0] == mark:
            self._kept.move_to_end(key)
            return found[1]
        value = await read()
        self.put(key, mark, value)
        return value
