"""Long polls without polling: requests that wait for "something new" park a future here."""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["Waiters"]


class Waiters:
    """The requests waiting for one kind of news (a chat's events, any event, new updates).

    Whoever changes the state calls :meth:`wake`; every waiter then looks again at what it
    waits for, so a spurious wake-up costs one look and nothing else.
    """

    __slots__ = ("_futures",)

    def __init__(self) -> None:
        self._futures: list[asyncio.Future[None]] = []

    def __bool__(self) -> bool:
        return bool(self._futures)

    def wake(self) -> None:
        for future in self._futures:
            if not future.done():
                future.set_result(None)
        self._futures.clear()

    async def wait(self, max_wait: float) -> None:
        """Until the next :meth:`wake` or ``max_wait`` seconds, whichever comes first."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._futures.append(future)
        try:
            await asyncio.wait_for(future, max_wait)
        except TimeoutError:
            pass
        finally:
            if not future.done():
                future.cancel()
            with contextlib.suppress(ValueError):
                self._futures.remove(future)
