"""Builds in-memory ledgers for the verification tests."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from service.crypto.jws import detached_signature, sign_compact
from service.crypto.keys import KeyRing, SigningKey, generate_signing_key
from service.ledger.chain import GENESIS_HASH, build_entry_body, entry_hash
from service.ledger.checkpoint import Checkpoint, sign_checkpoint
from service.ledger.erasure import (
    VISIBLE_COLUMNS,
    ErasureStatement,
    VisibleDigest,
    sign_erasure,
    visible_from_body,
)
from service.ledger.merkle import merkle_root
from service.ledger.verify import StoredEntry

SITE = "news-example"
COLUMNS = ("subject", "action", "method", "recorded_at", "client_event_id")


def entry_fields(seq: int, prev_hash: str, key: SigningKey, **overrides) -> dict:
    fields = {
        "id": str(uuid.UUID(int=seq)),
        "site": SITE,
        "seq": seq,
        "prev_hash": prev_hash,
        "recorded_at": f"2026-11-28T18:{seq // 60 % 60:02d}:{seq % 60:02d}.{seq % 10**6:06d}Z",
        "subject": f"s_{seq % 97:024x}",
        "action": ("accept_all", "reject_all", "custom")[seq % 3],
        "choices": {"necessary": True, "analytics": seq % 2 == 0, "marketing": False},
        "documents": {"privacy": {"version": 3, "sha256": "ab" * 32}},
        "revision": "cd" * 32,
        "method": "banner",
        "gpc": False,
        "locale": "en",
        "page": "https://news.example.com/article/1",
        "user_agent": "Firefox 140 / Linux",
        "user_ref": None,
        "client_event_id": str(uuid.UUID(int=10**9 + seq)),
        "kid": key.kid,
    }
    fields.update(overrides)
    return fields


def stored_entry(body: bytes, key: SigningKey, sign: bool) -> StoredEntry:
    import json

    doc = json.loads(body)
    signature = detached_signature(sign_compact(body, key)) if sign else None
    return StoredEntry(
        seq=doc["seq"],
        id=doc["id"],
        body=body,
        entry_hash=entry_hash(body),
        prev_hash=doc["prev_hash"],
        kid=doc["kid"],
        signature=signature,
        columns={name: doc[name] for name in COLUMNS},
    )


@dataclass
class Ledger:
    ring: KeyRing
    entries: list[StoredEntry] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    erasures: list[ErasureStatement] = field(default_factory=list)

    @property
    def key(self) -> SigningKey:
        return self.ring.current

    def checkpoint(self, size: int | None = None) -> Checkpoint:
        size = len(self.entries) if size is None else size
        root = merkle_root([bytes.fromhex(e.entry_hash) for e in self.entries[:size]])
        cp = sign_checkpoint(SITE, size, root, "2026-11-28T19:00:00.000000Z", self.key)
        self.checkpoints.append(cp)
        return cp


def make_ledger(n: int, sign: bool = True, checkpoint_every: int | None = None) -> Ledger:
    ledger = Ledger(KeyRing(generate_signing_key()))
    append(ledger, n, sign, checkpoint_every)
    return ledger


def append(ledger: Ledger, n: int, sign: bool = True, checkpoint_every: int | None = None):
    for _ in range(n):
        prev = ledger.entries[-1].entry_hash if ledger.entries else GENESIS_HASH
        seq = len(ledger.entries) + 1
        body = build_entry_body(**entry_fields(seq, prev, ledger.key))
        ledger.entries.append(stored_entry(body, ledger.key, sign))
        if checkpoint_every and seq % checkpoint_every == 0:
            ledger.checkpoint()


def rechain_from(ledger: Ledger, start_index: int, edit) -> None:
    """Rewrite history like an attacker with database access but no signing key: edit one body,
    then recompute every later hash and link so the chain is internally consistent again."""
    import json

    for i in range(start_index, len(ledger.entries)):
        old = ledger.entries[i]
        doc = json.loads(old.body)
        doc["prev_hash"] = ledger.entries[i - 1].entry_hash if i else GENESIS_HASH
        if i == start_index:
            edit(doc)
        body = build_entry_body(**doc)
        new = stored_entry(body, ledger.key, sign=False)
        new.signature = old.signature  # the attacker cannot sign; the old signature stays
        ledger.entries[i] = new


ERASED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def redacted(entry: StoredEntry) -> StoredEntry:
    """The row as erasure leaves it: no body, what was agreed kept in columns."""
    doc = json.loads(entry.body)
    return StoredEntry(
        seq=entry.seq,
        id=entry.id,
        body=None,
        entry_hash=entry.entry_hash,
        prev_hash=entry.prev_hash,
        kid=entry.kid,
        signature=entry.signature,
        columns={name: doc.get(name) for name in VISIBLE_COLUMNS},
        redacted=True,
    )


def erase(ledger: Ledger, seqs: list[int], reason: str = "request") -> ErasureStatement:
    """Redact ``seqs`` as the service does: one signed erasure-log entry for all of them."""
    digest = VisibleDigest()
    for seq in sorted(seqs):
        entry = ledger.entries[seq - 1]
        digest.add(visible_from_body(entry.body, entry.signature))
        ledger.entries[seq - 1] = redacted(entry)
    statement = sign_erasure(SITE, ERASED_AT, reason, None, seqs, digest.hexdigest(), ledger.key)
    ledger.erasures.append(statement)
    return statement
