"""Signed erasure-log entries: which entries an erasure redacted, and what stays visible of them.

A redacted row keeps its hashes (the chain and the Merkle tree need them) and what was agreed
(action, choices, documents, time, ...), but loses its body, so nothing signed vouches for those
columns any more, and nothing tells an erasure from someone clearing a row by hand. Each erasure
therefore signs one statement (Ed25519, the service's key ring, like checkpoints):

- ``seqs``: the entries it redacted, as ``[first, last]`` ranges, so a retention run over
  thousands of rows stays one small entry;
- ``visible_sha256``: SHA-256 over the visible parts of those entries (``VISIBLE_FIELDS``, one
  canonical JSON line per entry, in seq order), taken from each entry's signed body at erasure
  time: a column changed before or after the erasure no longer matches.

The signed payload is canonical JSON of the fields plus a fixed ``typ``, so the signature is never
taken for a receipt's or a checkpoint's. Standard library and ``cryptography`` only.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from service.crypto.keys import b64url_decode, b64url_encode, verify_signature
from service.ledger.canonical import canonical_json
from service.ledger.chain import format_timestamp
from service.ledger.checkpoint import Signer

ERASURE_TYPE = "consentry-erasure/v1"
REASONS = frozenset({"request", "retention"})
# What a redacted row still shows: its place in the chain, and what was agreed.
VISIBLE_FIELDS = (
    "seq", "id", "entry_hash", "prev_hash", "kid", "signature", "recorded_at", "action", "method",
    "gpc", "choices", "documents", "region", "mode", "client_event_id",
)  # fmt: skip
# Of those, the ones a row keeps in columns beside its place (``StoredEntry.columns``).
VISIBLE_COLUMNS = VISIBLE_FIELDS[6:]

_HEX64 = re.compile(r"[0-9a-f]{64}")
PublicKeyLookup = Callable[[str], Ed25519PublicKey | None]


def seq_ranges(seqs: Iterable[int]) -> list[list[int]]:
    """``[1, 2, 3, 7]`` -> ``[[1, 3], [7, 7]]``."""
    ranges: list[list[int]] = []
    for seq in sorted(seqs):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1][1] = seq
        else:
            ranges.append([seq, seq])
    return ranges


def _plain(value: Any) -> Any:
    # Databases hand back typed values; the digest takes them in the body's spelling.
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return format_timestamp(moment)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def visible_from_body(body: bytes, signature: str) -> dict[str, Any]:
    """What stays visible of an entry once redacted, read from its signed body (the erasure's
    side): a column that was changed before the erasure does not get signed."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    doc = doc if type(doc) is dict else {}
    visible = {name: doc.get(name) for name in VISIBLE_FIELDS}
    return visible | {"entry_hash": hashlib.sha256(body).hexdigest(), "signature": signature}


def visible_from_row(
    seq: int,
    id: object,
    entry_hash: str,
    prev_hash: str,
    kid: str,
    signature: str | None,
    columns: Mapping[str, Any],
) -> dict[str, Any]:
    """What a redacted row shows (the verifier's side), in the body's spelling."""
    visible = {name: columns.get(name) for name in VISIBLE_COLUMNS}
    # Only these come back from a database as other types (datetime, UUID) than the body's.
    visible["recorded_at"] = _plain(visible["recorded_at"])
    visible.update(seq=seq, id=_plain(id), entry_hash=entry_hash, prev_hash=prev_hash)
    visible.update(kid=kid, signature=signature)
    return visible


# Canonical JSON for the values an entry can hold (what ``canonical_json`` gives them), without
# its type walk: this runs once per redacted row in a full verification.
_LINE = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


class VisibleDigest:
    """SHA-256 over the visible parts of entries (one canonical JSON line each), in seq order."""

    __slots__ = ("_hash", "count")

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.count = 0

    def add(self, visible: dict[str, Any]) -> None:
        try:
            line = _LINE(visible).encode("utf-8")
        except (ValueError, TypeError):  # no entry holds such a value: it cannot match
            line = repr(sorted(visible.items(), key=str)).encode("utf-8", "replace")
        self._hash.update(line + b"\n")
        self.count += 1

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


@dataclass(frozen=True)
class ErasureStatement:
    """One erasure-log entry. ``signature`` (base64url Ed25519) is None for entries logged
    before erasures were signed (migration 0014): those are reported, never trusted."""

    site: str
    erased_at: str
    reason: str
    subject_hmac: str | None
    seqs: list[list[int]]
    records: int
    visible_sha256: str | None = None
    kid: str | None = None
    signature: str | None = None

    @property
    def signed(self) -> bool:
        return self.signature is not None

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON export."""
        return asdict(self)


def erasure_payload(statement: ErasureStatement) -> bytes:
    """The exact bytes an erasure signature covers."""
    return canonical_json(
        {
            "typ": ERASURE_TYPE,
            "site": statement.site,
            "erased_at": statement.erased_at,
            "reason": statement.reason,
            "subject_hmac": statement.subject_hmac,
            "seqs": statement.seqs,
            "records": statement.records,
            "visible_sha256": statement.visible_sha256,
            "kid": statement.kid,
        }
    )


def sign_erasure(
    site: str,
    erased_at: datetime,
    reason: str,
    subject_hmac: str | None,
    seqs: Iterable[int],
    visible_sha256: str,
    signer: Signer,
) -> ErasureStatement:
    """Sign the statement of an erasure that redacted ``seqs``."""
    ranges = seq_ranges(seqs)
    if reason not in REASONS or not _HEX64.fullmatch(visible_sha256):
        raise ValueError("an erasure has a known reason and a hex SHA-256 of what stays visible")
    unsigned = ErasureStatement(
        site=site,
        erased_at=format_timestamp(erased_at),
        reason=reason,
        subject_hmac=subject_hmac,
        seqs=ranges,
        records=sum(last - first + 1 for first, last in ranges),
        visible_sha256=visible_sha256,
        kid=signer.kid,
    )
    return replace(unsigned, signature=b64url_encode(signer.sign(erasure_payload(unsigned))))


def verify_erasure(statement: ErasureStatement, public_key_lookup: PublicKeyLookup) -> bool:
    """True when ``statement`` is signed by the published key it names."""
    if type(statement.signature) is not str or type(statement.kid) is not str:
        return False
    public_key = public_key_lookup(statement.kid)
    if public_key is None:
        return False
    try:
        payload = erasure_payload(statement)
        signature = b64url_decode(statement.signature)
    except (ValueError, TypeError):  # CanonicalJSONError is a ValueError too
        return False
    return verify_signature(public_key, signature, payload)


def statement_from_dict(data: Any) -> ErasureStatement | None:
    """An erasure statement read from JSON (an export's header); None when malformed."""
    if not isinstance(data, dict):
        return None
    try:
        statement = ErasureStatement(**data)
    except TypeError:
        return None
    ranges = statement.seqs
    well_formed = isinstance(ranges, list) and all(
        isinstance(pair, list) and len(pair) == 2 and all(type(n) is int for n in pair)
        for pair in ranges
    )
    return statement if well_formed else None
