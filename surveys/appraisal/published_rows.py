"""The ranking's rows of published versions, read once per version and language, and the
unit tree, read again only when it may have changed.

A county's published version holds a row per unit and per cadre (about 4,000 for 2,000
units), each with its stored explanation; reading and decoding them all for every ranking
page (the dashboard's, 20 readers at once) cost seconds. A published version never changes:
its results are immutable and a correction is a new version, which has a new id. So what
was read of a version stays true, and keeping it is safe across requests and processes; a
version that is superseded is simply no longer asked for (the use case picks the version
from the database on every request) and leaves the cache as newer ones come in.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from storage.models import AppraisalResult, AppraisalRun, AppraisalStatus
from surveys.people.access import UnitTree

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

Row = TypeVar("Row")


@dataclass(frozen=True)
class Kept(Generic[Row]):
    """One result of a version as the ranking needs it: where it is and its line."""

    unit_id: int | None
    kind: str
    row: Row


class PublishedRows:
    """Rows read from published versions, by (version id, language); the newest ``keep``."""

    def __init__(self, keep: int = 16) -> None:
        self.keep = keep
        self._kept: OrderedDict[tuple[int, str], tuple[Kept[object], ...]] = OrderedDict()
        self._tree: tuple[str | None, UnitTree] | None = None

    async def rows(self, uow: UnitOfWork, run: AppraisalRun, lang: str,
                   read: Callable[[AppraisalResult], Row],
                   order: Callable[[Kept[Row]], Any] | None = None) -> Sequence[Kept[Row]]:
        """Every result of ``run`` made into a row by ``read``, in the stored order or
        sorted by ``order`` (once: a reader keeps a subset, still in order).

        Only a published version's are kept (a draft can still be replaced); ``read`` must
        depend on the result and ``lang`` alone, as it runs once for all readers.
        """
        key = (run.id, lang)
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
            return found  # type: ignore[return-value]
        made = tuple(Kept(result.unit_id, result.kind, read(result))
                     for result in await uow.appraisal.results(run.id))
        if order is not None:
            made = tuple(sorted(made, key=order))
        if run.status == AppraisalStatus.PUBLISHED:
            self._kept[key] = made  # type: ignore[assignment]
            while len(self._kept) > self.keep:
                self._kept.popitem(last=False)
        return made

    async def tree(self, uow: UnitOfWork) -> UnitTree:
        """The unit tree, loaded again only when the audit log has grown: every change to
        units is audited in its own transaction (``import_units``), so an unchanged newest
        event means unchanged units, and one indexed row is read instead of every unit."""
        mark = await uow.audit.newest_hash()
        if self._tree is not None and self._tree[0] == mark:
            return self._tree[1]
        tree = await UnitTree.load(uow)
        if self.keep:
            self._tree = (mark, tree)
        return tree
