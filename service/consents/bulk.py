"""The bulk path into the ledger: many entries per transaction, for imports, benchmarks and tests.

Entries are exactly what :func:`service.consents.service.append_entry` makes (canonical body,
chain, Ed25519 signature, Merkle frontier, checkpoints every ``CHECKPOINT_EVERY``), inserted with
one ``executemany`` per batch under the site's write lock. Unlike the HTTP path, the caller may
give ``recorded_at`` (historical imports); it must not go backwards. Not exposed over HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from flask import current_app
from sqlalchemy import insert

from ..crypto.jws import detached_signature, sign_compact
from ..database import write_transaction
from ..extensions import db
from ..ledger.chain import build_entry_body, entry_hash, format_timestamp
from ..signing import keyring
from ..sites.service import get_site
from ..timeutil import utcnow
from .models import ConsentRecord
from .service import accumulator, add_checkpoint, lock_head, request_fingerprint


def _batches(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def bulk_append(site_id: str, events: Iterable[dict[str, Any]], batch_size: int = 5_000) -> int:
    """Append ``events`` (fields of ``ConsentEventSchema`` plus optional ``recorded_at`` and
    ``user_agent``) to the site's ledger; returns how many were appended. Events are trusted:
    categories and documents are not checked against the site."""
    site = get_site(site_id)
    every = current_app.config["CHECKPOINT_EVERY"]
    appended = 0
    for batch in _batches(events, batch_size):
        write_transaction()
        try:
            head = lock_head(site.id)
            tree = accumulator(head)
            signer = keyring().current
            rows = []
            for event in batch:
                seq = head.seq + 1
                moment: datetime = event.get("recorded_at") or utcnow()
                record_id = str(uuid.uuid4())
                client_event_id = str(event.get("client_event_id") or uuid.uuid4())
                body = build_entry_body(
                    id=record_id,
                    site=site.id,
                    seq=seq,
                    prev_hash=head.head_hash,
                    recorded_at=format_timestamp(moment),
                    subject=event["subject"],
                    action=event["action"],
                    choices=event["choices"],
                    documents=event["documents"],
                    revision=event["revision"],
                    method=event["method"],
                    gpc=event.get("gpc", False),
                    locale=event.get("locale") or "en",
                    page=event.get("page"),
                    user_agent=event.get("user_agent"),
                    user_ref=None,
                    client_event_id=client_event_id,
                    kid=signer.kid,
                )
                digest = entry_hash(body)
                rows.append(
                    {
                        "id": record_id,
                        "site_id": site.id,
                        "seq": seq,
                        "subject": event["subject"],
                        "action": event["action"],
                        "method": event["method"],
                        "gpc": event.get("gpc", False),
                        "choices": event["choices"],
                        "documents": event["documents"],
                        "recorded_at": moment,
                        "client_event_id": client_event_id,
                        "request_sha256": request_fingerprint({"client_event_id": client_event_id}),
                        "body": body,
                        "entry_hash": digest,
                        "prev_hash": head.head_hash,
                        "kid": signer.kid,
                        "signature": detached_signature(sign_compact(body, signer)),
                    }
                )
                tree.append(bytes.fromhex(digest))
                head.seq, head.head_hash = seq, digest
                if head.seq - head.last_checkpoint_size >= every:
                    # The frontier must be the one of this size when the checkpoint is signed.
                    add_checkpoint(head, tree, moment)
            db.session.execute(insert(ConsentRecord), rows)
            head.frontier = [node.hex() for node in tree.stack]
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        appended += len(batch)
    return appended
