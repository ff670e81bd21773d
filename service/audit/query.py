"""The ledger read back: records by filter with keyset pagination, one record with its
verification, and a visitor's own history (by subject token)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import func

from ..consents.models import ConsentRecord, LedgerHead, VersionSpan
from ..consents.service import latest_checkpoint
from ..crypto.jws import InvalidReceipt, attach_signature, verify_compact
from ..errors import Unauthorized, Unprocessable
from ..extensions import db
from ..inputs import MAX_DATABASE_INT
from ..ledger.canonical import canonical_json
from ..signing import keyring, subject_of_token
from ..sites.models import Site
from ..sites.service import get_site
from ..timeutil import isoformat

RECORD_COLUMNS = (
    ConsentRecord.id,
    ConsentRecord.seq,
    ConsentRecord.subject,
    ConsentRecord.action,
    ConsentRecord.choices,
    ConsentRecord.documents,
    ConsentRecord.method,
    ConsentRecord.gpc,
    ConsentRecord.region,
    ConsentRecord.mode,
    ConsentRecord.recorded_at,
    ConsentRecord.redacted_at,
)


def region_condition(region: str) -> Any:
    """Records of ``region``: ``unknown`` (none known), a subdivision (``US-CA``), or a country
    with all its subdivisions (``US``)."""
    column = ConsentRecord.region
    if region == "unknown":
        return column.is_(None)
    if len(region) == 2:
        return (column == region) | column.like(f"{region}-%")
    return column == region


def record_view(row: Any) -> dict[str, Any]:
    """What an auditor sees of one record (no body: see the proof bundle and the export)."""
    return {
        "id": row.id,
        "seq": row.seq,
        "subject": row.subject,
        "action": row.action,
        "choices": row.choices,
        "documents": row.documents,
        "method": row.method,
        "gpc": row.gpc,
        "region": row.region,
        "mode": row.mode,
        "recorded_at": isoformat(row.recorded_at),
        "redacted": row.redacted_at is not None,
        "redacted_at": isoformat(row.redacted_at) if row.redacted_at else None,
    }


def encode_cursor(seq: int, order: str) -> str:
    raw = canonical_json({"d": order, "s": seq})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(text: str, order: str) -> int:
    """The seq a cursor points after; 422 for anything we did not make or another order."""
    problem = Unprocessable(
        "The cursor is not valid: pass next_cursor from the previous page unchanged.",
        {"fields": {"cursor": ["Not a valid cursor."]}},
    )
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise problem from None
    if not isinstance(data, dict) or set(data) != {"d", "s"}:
        raise problem
    seq, direction = data["s"], data["d"]
    if type(seq) is not int or not 0 <= seq <= MAX_DATABASE_INT or direction not in ("asc", "desc"):
        raise problem
    if direction != order:
        raise Unprocessable(
            f"This cursor pages in {direction} order; ask with order={direction}.",
            {"fields": {"cursor": [f"Made for order={direction}."]}},
        )
    return seq


def query_records(
    site_id: str,
    *,
    subject: str | None = None,
    action: str | None = None,
    method: str | None = None,
    document: tuple[str, int] | None = None,
    region: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
    order: str = "asc",
) -> dict[str, Any]:
    """One page of a site's records, filtered, in seq order. Keyset on seq: new records only
    append, so a cursor stays correct while records arrive (ascending pages reach them)."""
    query = db.select(*RECORD_COLUMNS).where(ConsentRecord.site_id == site_id)
    if subject is not None:
        query = query.where(ConsentRecord.subject == subject)
    if action is not None:
        query = query.where(ConsentRecord.action == action)
    if method is not None:
        query = query.where(ConsentRecord.method == method)
    if region is not None:
        query = query.where(region_condition(region))
    if document is not None:
        query = query.where(*version_range(site_id, *document))
    if start is not None or end is not None:
        query = query.where(*time_range(site_id, start, end))
    if cursor is not None:
        after = decode_cursor(cursor, order)
        query = query.where(
            ConsentRecord.seq > after if order == "asc" else ConsentRecord.seq < after
        )
    ordering = ConsentRecord.seq.asc() if order == "asc" else ConsentRecord.seq.desc()
    rows = list(db.session.execute(query.order_by(ordering).limit(limit + 1)))
    if not rows:
        get_site(site_id)  # an empty page of a site that does not exist is a 404
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [record_view(row) for row in rows],
        "next_cursor": encode_cursor(rows[-1].seq, order) if more else None,
    }


def version_range(site_id: str, kind: str, version: int) -> list[Any]:
    """Conditions for records naming ``version`` of ``kind``, with the seq span they lie in:
    the version's :class:`VersionSpan` (exact for the entries a checkpoint covers, imports
    included) widened by those naming it after the last checkpoint (a few hundred at most,
    read through the seq index). A page then walks that span instead of the whole ledger."""
    records = ConsentRecord
    named = records.documents[kind]["version"].as_integer() == version
    # The head first: a checkpoint committed between the two reads only widens the spans.
    covered = db.session.execute(
        db.select(LedgerHead.last_checkpoint_size).where(LedgerHead.site_id == site_id)
    ).scalar_one_or_none()
    span = db.session.execute(
        db.select(VersionSpan.first_seq, VersionSpan.last_seq).where(
            VersionSpan.site_id == site_id, VersionSpan.kind == kind, VersionSpan.version == version
        )
    ).one_or_none()
    tail = db.session.execute(
        db.select(func.min(records.seq), func.max(records.seq)).where(
            records.site_id == site_id, records.seq > (covered or 0), named
        )
    ).one()
    bounds = [bound for bound in (*(span or ()), *tail) if bound is not None]
    if not bounds:
        return [named, records.seq < 0]  # no record names it
    return [named, records.seq >= min(bounds), records.seq <= max(bounds)]


def time_range(site_id: str, start: datetime | None, end: datetime | None) -> list[Any]:
    """Conditions for records recorded in ``[start, end)``, with the exact seq span of that time
    range added (one scan of the time index): a page then walks the seq index from the span's end
    instead of sorting the whole range."""
    records = ConsentRecord
    conditions = [records.site_id == site_id]
    if start is not None:
        conditions.append(records.recorded_at >= start)
    if end is not None:
        conditions.append(records.recorded_at < end)
    # seq + 0: PostgreSQL would answer a bare min/max by walking the seq index from either end and
    # filtering on the time, past every record outside the range (docs/performance.md).
    seq = records.seq + 0
    low, high = db.session.execute(db.select(func.min(seq), func.max(seq)).where(*conditions)).one()
    if low is None:
        return [*conditions, records.seq < 0]  # nothing in the range
    return [*conditions, records.seq >= low, records.seq <= high]


def record_detail(site_id: str, record_id: str) -> dict[str, Any]:
    """One record, its receipt and how it verifies: receipt signature, body hash, and whether a
    signed checkpoint covers it (the full inclusion proof is at ``.../proof``)."""
    from ..consents.service import get_record

    get_site(site_id)
    row = get_record(site_id, record_id)
    checkpoint = latest_checkpoint(site_id)
    covered = checkpoint is not None and checkpoint.tree_size >= row.seq
    receipt = None
    receipt_valid = entry_hash_ok = None
    if row.body is not None:
        receipt = attach_signature(row.body, row.kid, row.signature)
        receipt_valid = receipt_is_valid(receipt, row.body)
        entry_hash_ok = hashlib.sha256(row.body).hexdigest() == row.entry_hash
    return {
        **record_view(row),
        "entry_hash": row.entry_hash,
        "prev_hash": row.prev_hash,
        "kid": row.kid,
        "receipt": receipt,
        "verification": {
            "receipt_valid": receipt_valid,
            "entry_hash_ok": entry_hash_ok,
            "in_checkpoint": covered,
            "checkpoint_tree_size": checkpoint.tree_size if checkpoint else None,
        },
    }


def receipt_is_valid(receipt: str, body: bytes) -> bool:
    try:
        return verify_compact(receipt, keyring().public_key) == body
    except InvalidReceipt:
        return False


def subject_from_token(site_id: str, token: str | None) -> str:
    """The subject a self-service token names; 401 when it is missing, forged, expired or made
    for another site."""
    site: Site = get_site(site_id)
    if not token:
        raise Unauthorized("Send the subject_token of a receipt as 'Authorization: Bearer ...'.")
    subject = subject_of_token(site_id, token, site.consent_lifetime_days * 86_400)
    if subject is None:
        raise Unauthorized("The subject token is not valid for this site (forged or expired).")
    return subject


def subject_history(site_id: str, token: str | None) -> dict[str, Any]:
    """The token holder's own records with their receipts; nothing about anyone else."""
    subject = subject_from_token(site_id, token)
    rows = subject_records(site_id, subject)
    return {
        "site": site_id,
        "subject": subject,
        "items": [
            {
                **record_view(row),
                "receipt": attach_signature(row.body, row.kid, row.signature),
            }
            for row in rows
        ],
    }


def subject_records(site_id: str, subject: str) -> list[ConsentRecord]:
    return list(
        db.session.execute(
            db.select(ConsentRecord)
            .where(ConsentRecord.site_id == site_id, ConsentRecord.subject == subject)
            .order_by(ConsentRecord.seq)
        ).scalars()
    )
