"""Group commit: the appends a worker process has waiting for one site go in one transaction.

Appends to a site are serialised (one chain), so each holds the site's lock for two round trips,
the signing and a commit. When a worker runs several requests at once (gunicorn's ``gthread``
workers), the requests that arrive while one append holds the lock queue up here, and the next
of them to run takes them all: one lock, one transaction and one commit for the lot (flat
combining). A worker that runs one request at a time (``sync``) always makes groups of one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(eq=False, slots=True)
class _Waiting(Generic[Item, Result]):
    """One submitted item until a group has run it: its result, or the error of its group."""

    item: Item
    done: bool = False
    result: Result | None = None
    error: BaseException | None = None


class GroupCommit(Generic[Item, Result]):
    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._sites: dict[str, tuple[threading.Lock, list[_Waiting[Item, Result]]]] = {}

    def submit(
        self, site_id: str, item: Item, run: Callable[[Sequence[Item]], Sequence[Result]]
    ) -> Result:
        """``item``'s result: made by another thread's group, or by this thread running ``run``
        on every item queued for the site meanwhile (its own included). ``run`` returns one
        result per item, in order; if it raises, every item of its group raises that error."""
        waiting: _Waiting[Item, Result] = _Waiting(item)
        with self._mutex:
            leader, queue = self._sites.setdefault(site_id, (threading.Lock(), []))
            queue.append(waiting)
        with leader:
            if not waiting.done:
                with self._mutex:
                    group = queue[:]
                    queue.clear()
                self._run(group, run)
        if waiting.error is not None:
            raise waiting.error
        return waiting.result  # type: ignore[return-value]

    @staticmethod
    def _run(group: list[_Waiting[Item, Result]], run: Callable[..., Sequence[Result]]) -> None:
        try:
            results = run([member.item for member in group])
        except Exception as error:  # the group's transaction failed: so did each append
            for member in group:
                member.error = error
        else:
            for member, result in zip(group, results, strict=True):
                member.result = result
        finally:
            for member in group:
                member.done = True

    def waiting(self) -> int:
        """How many items are queued, not yet taken by a group (for tests and diagnostics)."""
        with self._mutex:
            return sum(len(queue) for _lock, queue in self._sites.values())
