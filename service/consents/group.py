"""Group commit: the appends a worker process has waiting for one site go in one transaction.

Appends to a site are serialised (one chain), so each holds the site's lock for two round trips,
the signing and a commit. When a worker runs several requests at once (gunicorn's ``gthread``
workers), the requests that arrive while one append holds the lock queue up here, and the next
of them to run takes them all: one lock, one transaction and one commit for the lot (flat
combining). A worker that runs one request at a time (``sync``) always makes groups of one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(eq=False)
class Pending:
    """One append waiting for its group: what it needs, and once ``done``, its ``outcome`` (the
    stored row, :data:`REPLAY`, or the exception its request answers with)."""

    site: Any
    documents: dict[str, Any]
    item: dict[str, Any]
    done: bool = False
    outcome: Any = None


REPLAY = object()  # the event was recorded before: answer with that first recording


class GroupCommit:
    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._sites: dict[str, tuple[threading.Lock, list[Pending]]] = {}

    def submit(self, site_id: str, pending: Pending, run: Callable[[list[Pending]], None]) -> None:
        """Wait until ``pending`` is done: by another thread's group, or by this thread running
        ``run`` on every append queued for the site meanwhile (its own included)."""
        with self._mutex:
            leader, queue = self._sites.setdefault(site_id, (threading.Lock(), []))
            queue.append(pending)
        with leader:
            if pending.done:
                return
            with self._mutex:
                group = queue[:]
                queue.clear()
            try:
                run(group)
            except Exception as error:  # the group's transaction failed: so did each append
                for member in group:
                    member.outcome = error
            finally:
                for member in group:
                    member.done = True
