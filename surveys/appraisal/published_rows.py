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
from collections.abc import Callable, Collection, Sequence
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


@dataclass(frozen=True)
class _Version(Generic[Row]):
    """A version's rows in order, and where each unit's are among them."""

    rows: tuple[Kept[Row], ...]
    at: dict[int | None, tuple[int, ...]]

    @classmethod
    def of(cls, rows: tuple[Kept[Row], ...]) -> _Version[Row]:
        at: dict[int | None, list[int]] = {}
        for i, kept in enumerate(rows):
            at.setdefault(kept.unit_id, []).append(i)
        return cls(rows, {unit: tuple(places) for unit, places in at.items()})

    def of_units(self, units: Collection[int] | None) -> Sequence[Kept[Row]]:
        if units is None:
            return self.rows
        if len(units) * 4 > len(self.rows):  # most of them: one pass is quicker
            return tuple(kept for kept in self.rows if kept.unit_id in units)
        return tuple(self.rows[i] for i in sorted(
            i for unit in units for i in self.at.get(unit, ())))


@dataclass(frozen=True)
class Snapshot:
    """What every ranking page reads first: the unit tree and the published versions
    (oldest first as the database returns them)."""

    tree: UnitTree
    published: tuple[AppraisalRun, ...]
    # The audit log's newest event when this was read: anything else kept until the log
    # moves (a closed campaign's progress) is kept under it.
    mark: str | None = None


class PublishedRows:
    """Rows read from published versions, by (version id, language); the newest ``keep``."""

    def __init__(self, keep: int = 16, keep_results: int = 4096) -> None:
        self.keep = keep
        self._kept: OrderedDict[tuple[int, str], _Version[object]] = OrderedDict()
        self._snapshot: tuple[str | None, Snapshot] | None = None
        self.keep_results = keep_results if keep else 0
        self._results: OrderedDict[int, AppraisalResult] = OrderedDict()

    async def rows(self, uow: UnitOfWork, run: AppraisalRun, lang: str,
                   read: Callable[[AppraisalResult], Row],
                   order: Callable[[Kept[Row]], Any] | None = None,
                   units: Collection[int] | None = None) -> Sequence[Kept[Row]]:
        """Every result of ``run`` made into a row by ``read`` (or only those of ``units``),
        in the stored order or sorted by ``order`` (once: a reader keeps a subset, still in
        order).

        Only a published version's are kept (a draft can still be replaced); ``read`` must
        depend on the result and ``lang`` alone, as it runs once for all readers.
        """
        key = (run.id, lang)
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
            return found.of_units(units)  # type: ignore[return-value]
        made = tuple(Kept(result.unit_id, result.kind, read(result))
                     for result in await uow.appraisal.results(run.id))
        if order is not None:
            made = tuple(sorted(made, key=order))
        version = _Version.of(made)
        if run.status == AppraisalStatus.PUBLISHED:
            self._kept[key] = version  # type: ignore[assignment]
            while len(self._kept) > self.keep:
                self._kept.popitem(last=False)
        return version.of_units(units)

    async def snapshot(self, uow: UnitOfWork) -> Snapshot:
        """The unit tree and the published versions, read again only when the audit log has
        grown: every change to units (``import_units``) and every publication, approval or
        supersession is audited in the transaction that makes it, so an unchanged newest
        event means nothing here changed, and one indexed row is read instead."""
        mark = await uow.audit.newest_hash()
        if self._snapshot is not None and self._snapshot[0] == mark:
            return self._snapshot[1]
        snapshot = Snapshot(await UnitTree.load(uow), tuple(await uow.appraisal.published()),
                            mark)
        if self.keep:
            self._snapshot = (mark, snapshot)
        return snapshot

    async def result(self, uow: UnitOfWork, snapshot: Snapshot, result_id: int
                     ) -> tuple[AppraisalRun, AppraisalResult] | None:
        """A result of a version that ``snapshot`` says is published, and that version; None
        for an unknown id or any other version's. A result never changes once written, so
        one read serves every reader; whether its version is still the published one is
        the snapshot's to say, read afresh when anything is published."""
        published = {run.id: run for run in snapshot.published}
        found = self._results.get(result_id)
        if found is not None:
            self._results.move_to_end(result_id)
        else:
            read = await uow.appraisal.result(result_id)
            if read is None or read[0].id not in published:
                return None
            found = read[1]
            if self.keep_results:
                self._results[result_id] = found
                while len(self._results) > self.keep_results:
                    self._results.popitem(last=False)
        run = published.get(found.run_id)
        return None if run is None else (run, found)

    async def tree(self, uow: UnitOfWork) -> UnitTree:
        return (await self.snapshot(uow)).tree
