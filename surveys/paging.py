"""A long list shown a page at a time (the dashboard's campaigns and cadres): which rows a
page holds, and whether there are pages before and after it."""

from __future__ import annotations

from dataclasses import dataclass

# Rows on a dashboard page: a county's 2,000 campaigns are 40 pages, each a few ms to serve.
PAGE_SIZE = 50


@dataclass(frozen=True)
class Paging:
    """Page ``number`` (from 1) of ``total`` rows, ``size`` to a page."""

    number: int
    size: int
    total: int

    @classmethod
    def of(cls, asked: int, size: int, total: int) -> Paging:
        """The page asked for, or the last one if there are fewer (the list shrank since its
        link was made)."""
        return cls(max(1, min(asked, -(-total // size))), size, total)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first(self) -> int:
        """The first row shown, counted from 1 (0 when there is none)."""
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.size, self.total)

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None
