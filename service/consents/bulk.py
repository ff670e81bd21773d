"""The bulk path into the ledger: many entries per transaction, for imports, benchmarks and tests.

Entries are exactly what :func:`service.consents.service.append_entry` makes (canonical body,
chain, Ed25519 signature, Merkle frontier, checkpoints every ``CHECKPOINT_EVERY``), inserted with
one ``executemany`` per batch under the site's write lock. Unlike the HTTP path, the caller may
give ``recorded_at`` (historical imports); it must not go backwards. Not exposed over HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from ..sites.service import get_site
from .service import chain_entries, request_fingerprint
from .writer import ledger_writer


def _batches(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def bulk_append(site_id: str, events: Iterable[dict[str, Any]], batch_size: int = 5_000) -> int:
    """Append ``events`` (fields of ``ConsentEventSchema`` plus optional ``recorded_at``,
    ``user_agent``, ``region`` and ``mode``) to the site's ledger; returns how many were
    appended. Events are trusted: categories and documents are not checked against the site."""
    site = get_site(site_id)
    appended = 0
    for batch in _batches(events, batch_size):
        with ledger_writer().transaction() as ledger:
            head = ledger.lock(site.id).head
            items = [bulk_item(site.id, event) for event in batch]
            rows, checkpoints = chain_entries(head, items)
            ledger.write(head, rows, checkpoints)
        appended += len(rows)
    return appended


def bulk_item(site_id: str, event: dict[str, Any]) -> dict[str, Any]:
    client_event_id = str(event.get("client_event_id") or uuid.uuid4())
    return {
        "subject": event["subject"],
        "action": event["action"],
        "choices": event["choices"],
        "documents": event["documents"],
        "revision": event["revision"],
        "method": event["method"],
        "gpc": event.get("gpc", False),
        "locale": event.get("locale") or "en",
        "page": event.get("page"),
        "user_agent": event.get("user_agent"),
        "user_ref": None,
        "client_event_id": client_event_id,
        "request_sha256": request_fingerprint(site_id, {"client_event_id": client_event_id}),
        "recorded_at": event.get("recorded_at"),
        # Where the visitor was and the banner's mode there, when the import knows them.
        "region": event.get("region"),
        "mode": event.get("mode"),
    }
