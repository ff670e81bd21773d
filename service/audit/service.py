"""Audit rules: query with keyset pagination, streamed export, proof bundles, erasure, retention,
statistics and the subject's own history. Plain functions over plain values; views only parse
and serialise.

Erasure keeps the ledger verifiable: a redacted row loses its ``body`` and ``subject`` (the
personal fields) but keeps ``entry_hash``, ``prev_hash`` and ``signature``, so the chain and the
Merkle tree still verify (``verify_ledger`` trusts a redacted row's stored hash). What was agreed
(action, choices, documents, method, gpc, time) is not personal and stays in columns.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer, String, Text, cast, func, type_coerce

from ..activity.service import record
from ..consents.models import Checkpoint, ConsentRecord, Erasure
from ..consents.service import cut_checkpoint, latest_checkpoint, pepper_for, signed
from ..crypto.jws import InvalidReceipt, attach_signature, verify_compact
from ..database import write_transaction
from ..errors import NotFound, Unauthorized, Unprocessable
from ..extensions import db
from ..ledger.canonical import canonical_json
from ..ledger.chain import user_ref
from ..ledger.merkle import MerkleTree
from ..ledger.vocabulary import ACTIONS, DOCUMENT_KINDS
from ..signing import keyring, read_subject_token
from ..sites.models import Site
from ..sites.service import get_site, list_sites
from ..timeutil import isoformat, utcnow

EXPORT_FORMAT = "consentry-export/v1"
BUNDLE_FORMAT = "consentry-proof-bundle/v1"
MAX_STATS_DAYS = 366
EXPORT_BATCH = 2_000
CSV_COLUMNS = (
    "seq",
    "id",
    "recorded_at",
    "subject",
    "action",
    "method",
    "gpc",
    "choices",
    "documents",
    "entry_hash",
    "prev_hash",
    "kid",
    "signature",
    "redacted",
    "body",
)


# Records ------------------------------------------------------------------------------------------


RECORD_COLUMNS = (
    ConsentRecord.id,
    ConsentRecord.seq,
    ConsentRecord.subject,
    ConsentRecord.action,
    ConsentRecord.choices,
    ConsentRecord.documents,
    ConsentRecord.method,
    ConsentRecord.gpc,
    ConsentRecord.recorded_at,
    ConsentRecord.redacted_at,
)


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
    if type(seq) is not int or seq < 0 or direction not in ("asc", "desc"):
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
    if document is not None:
        kind, version = document
        query = query.where(ConsentRecord.documents[kind]["version"].as_integer() == version)
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
    low, high = db.session.execute(
        db.select(func.min(records.seq), func.max(records.seq)).where(*conditions)
    ).one()
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


# Export -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportPlan:
    """What an export covers: entries ``first_seq..last_seq`` (none when ``last_seq`` is 0)."""

    site_id: str
    first_seq: int
    last_seq: int
    start: datetime | None
    end: datetime | None
    checkpoints: list[dict[str, Any]]


def plan_export(site_id: str, start: datetime | None, end: datetime | None) -> ExportPlan:
    """Turn a time range into a contiguous seq range, so the export verifies as a chain segment.
    A whole-ledger export first cuts a checkpoint and ends exactly at it: every entry in the file
    is then vouched for by a signed tree head."""
    get_site(site_id)
    records = ConsentRecord
    if end is None:
        checkpoint = cut_checkpoint(site_id)
        last = checkpoint.tree_size if checkpoint else 0
    else:
        last = db.session.execute(
            db.select(func.max(records.seq)).where(
                records.site_id == site_id, records.recorded_at < end
            )
        ).scalar_one_or_none()
    first = 1
    if start is not None:
        first = db.session.execute(
            db.select(func.min(records.seq)).where(
                records.site_id == site_id, records.recorded_at >= start
            )
        ).scalar_one_or_none()
    if first is None or last is None or first > last:
        first, last = 1, 0
    rows = db.session.execute(
        db.select(Checkpoint)
        .where(Checkpoint.site_id == site_id, Checkpoint.tree_size <= last)
        .order_by(Checkpoint.tree_size)
    ).scalars()
    plan = ExportPlan(site_id, first, last, start, end, [signed(row).to_dict() for row in rows])
    record("export.made", f"export:{site_id}", site=site_id, details={"seqs": [first, last]})
    return plan


def export_header(plan: ExportPlan) -> dict[str, Any]:
    return {
        "type": "header",
        "format": EXPORT_FORMAT,
        "site": plan.site_id,
        "exported_at": isoformat(utcnow()),
        "from": isoformat(plan.start) if plan.start else None,
        "to": isoformat(plan.end) if plan.end else None,
        "first_seq": plan.first_seq,
        "last_seq": plan.last_seq,
        "jwks": keyring().jwks(),
        "checkpoints": plan.checkpoints,
    }


# JSON and timestamps come back unparsed (text on SQLite, the driver's value on PostgreSQL) and
# are decoded only where a line needs them: decoding every row would halve the export rate.
_EXPORT_COLUMNS = (
    ConsentRecord.seq,
    ConsentRecord.id,
    type_coerce(ConsentRecord.recorded_at, String).label("recorded_at"),
    ConsentRecord.subject,
    ConsentRecord.action,
    ConsentRecord.method,
    ConsentRecord.gpc,
    cast(ConsentRecord.choices, Text).label("choices"),
    cast(ConsentRecord.documents, Text).label("documents"),
    ConsentRecord.entry_hash,
    ConsentRecord.prev_hash,
    ConsentRecord.kid,
    ConsentRecord.signature,
    ConsentRecord.body,
    ConsentRecord.redacted_at,
)


def _timestamp(value: Any) -> str:
    if isinstance(value, str):  # SQLite: naive UTC text
        value = datetime.fromisoformat(value)
    return isoformat(value)


def _json(value: str | None) -> Any:
    return json.loads(value) if value is not None else None


def export_rows(plan: ExportPlan) -> Iterator[Any]:
    """The plan's rows in seq order, fetched in batches (a server-side cursor on PostgreSQL)."""
    if plan.last_seq == 0:
        return iter(())
    return iter(
        db.session.execute(
            db.select(*_EXPORT_COLUMNS)
            .where(
                ConsentRecord.site_id == plan.site_id,
                ConsentRecord.seq >= plan.first_seq,
                ConsentRecord.seq <= plan.last_seq,
            )
            .order_by(ConsentRecord.seq)
            .execution_options(yield_per=EXPORT_BATCH)
        )
    )


def export_ndjson(plan: ExportPlan) -> Iterator[str]:
    """Header line, one line per entry, and an end line (its count tells a cut-off file).

    Entry lines are built as text: every value but the body is a number, hex, a UUID or base64url,
    and the body (canonical JSON, UTF-8, so its text round-trips to the signed bytes exactly) is
    escaped by the C JSON string encoder: the export's rate is in docs/performance.md.
    """
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    quote = json.encoder.encode_basestring  # type: ignore[attr-defined]
    yield dumps(export_header(plan)) + "\n"
    count = 0
    lines: list[str] = []
    for row in export_rows(plan):
        start = (
            f'{{"type":"entry","seq":{row.seq},"id":"{row.id}","entry_hash":"{row.entry_hash}",'
            f'"prev_hash":"{row.prev_hash}","kid":"{row.kid}","signature":"{row.signature}",'
        )
        if row.body is not None:
            lines.append(f'{start}"redacted":false,"body":{quote(row.body.decode("utf-8"))}}}')
        else:
            # No body left: what was agreed (not personal) comes from the columns.
            record = {
                "recorded_at": _timestamp(row.recorded_at),
                "action": row.action,
                "method": row.method,
                "gpc": row.gpc,
                "choices": _json(row.choices),
                "documents": _json(row.documents),
            }
            lines.append(f'{start}"redacted":true,"body":null,"record":{dumps(record)}}}')
        count += 1
        if len(lines) == 1_000:
            lines.append("")
            yield "\n".join(lines)
            lines.clear()
    if lines:
        lines.append("")
        yield "\n".join(lines)
    yield dumps({"type": "end", "entries": count}) + "\n"


def export_csv(plan: ExportPlan) -> Iterator[str]:
    """Flat rows for spreadsheets; ``body`` holds the signed bytes, so the chain still verifies."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
    for index, row in enumerate(export_rows(plan), 1):
        writer.writerow(
            (
                row.seq,
                row.id,
                _timestamp(row.recorded_at),
                row.subject or "",
                row.action,
                row.method,
                "true" if row.gpc else "false",
                dumps(_json(row.choices)) if row.choices is not None else "",
                dumps(_json(row.documents)),
                row.entry_hash,
                row.prev_hash,
                row.kid,
                row.signature,
                "true" if row.redacted_at is not None else "false",
                row.body.decode("utf-8") if row.body is not None else "",
            )
        )
        if index % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# Proof bundle -------------------------------------------------------------------------------------


def subject_records(site_id: str, subject: str) -> list[ConsentRecord]:
    return list(
        db.session.execute(
            db.select(ConsentRecord)
            .where(ConsentRecord.site_id == site_id, ConsentRecord.subject == subject)
            .order_by(ConsentRecord.seq)
        ).scalars()
    )


def proof_bundle(site_id: str, subject: str) -> dict[str, Any]:
    """Everything needed to prove a subject's consent history, checkable offline with the JWKS
    inside (see :mod:`service.audit.offline`)."""
    from ..consents.service import leaf_hashes
    from ..documents.models import DocumentVersion
    from .offline import verify_bundle

    get_site(site_id)
    rows = subject_records(site_id, subject)
    if not rows:
        raise NotFound("No consent records for this subject (never seen, or erased).")
    checkpoint = latest_checkpoint(site_id)
    if checkpoint is None or checkpoint.tree_size < rows[-1].seq:
        checkpoint = cut_checkpoint(site_id)
    # One tree for the whole bundle: its levels answer every record's proof.
    tree = MerkleTree(leaf_hashes(site_id, checkpoint.tree_size))
    records = []
    refs: set[tuple[str, int]] = set()
    revisions: dict[str, list[int]] = {}
    for row in rows:
        body = json.loads(row.body)
        refs.update((kind, ref["version"]) for kind, ref in body["documents"].items())
        revisions.setdefault(body["revision"], []).append(row.seq)
        records.append(
            {
                **record_view(row),
                "entry_hash": row.entry_hash,
                "prev_hash": row.prev_hash,
                "kid": row.kid,
                "revision": body["revision"],
                "locale": body["locale"],
                "body": row.body.decode("utf-8"),
                "receipt": attach_signature(row.body, row.kid, row.signature),
                "inclusion_proof": {
                    "leaf_index": row.seq - 1,
                    "tree_size": checkpoint.tree_size,
                    "path": [node.hex() for node in tree.inclusion_proof(row.seq - 1)],
                },
            }
        )
    documents: dict[str, Any] = {}
    for kind, version in sorted(refs):
        doc = db.session.execute(
            db.select(DocumentVersion).where(
                DocumentVersion.site_id == site_id,
                DocumentVersion.kind == kind,
                DocumentVersion.version == version,
            )
        ).scalar_one_or_none()
        documents[f"{kind}:{version}"] = (
            None
            if doc is None
            else {
                "kind": kind,
                "version": version,
                "sha256": doc.content_sha256,
                "material": doc.material,
                "summary": doc.summary,
                "effective_at": isoformat(doc.effective_at) if doc.effective_at else None,
                "published_at": isoformat(doc.published_at) if doc.published_at else None,
                "texts": doc.texts,
            }
        )
    bundle: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "site": site_id,
        "subject": subject,
        "generated_at": isoformat(utcnow()),
        "records": records,
        "documents": documents,
        "banner_revisions": [
            {"revision": revision, "seqs": seqs} for revision, seqs in revisions.items()
        ],
        "checkpoint": signed(checkpoint).to_dict(),
        "jwks": keyring().jwks(),
    }
    # The server runs the same offline check a regulator would run on the saved file.
    bundle["verification"] = verify_bundle(bundle).to_dict()
    digest = subject_hmac(site_id, subject)
    record("proof.made", f"subject:{digest}", site=site_id, details={"records": len(records)})
    return bundle


# Erasure and retention ----------------------------------------------------------------------------


def subject_hmac(site_id: str, subject: str) -> str:
    """The erasure log keeps only this: the same peppered HMAC as a site's own user ids."""
    return user_ref(pepper_for(site_id), subject)


def seq_ranges(seqs: list[int]) -> list[list[int]]:
    """``[1, 2, 3, 7]`` -> ``[[1, 3], [7, 7]]``: compact enough for a retention run."""
    ranges: list[list[int]] = []
    for seq in sorted(seqs):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1][1] = seq
        else:
            ranges.append([seq, seq])
    return ranges


def redact_where(site_id: str, *conditions: Any) -> list[int]:
    """Redact the site's unredacted rows matching ``conditions`` (in the caller's transaction):
    body and subject cleared, every hash kept. The only UPDATE the database triggers allow."""
    table = ConsentRecord.__table__
    statement = (
        table.update()
        .where(table.c.site_id == site_id, table.c.redacted_at.is_(None), *conditions)
        .values(body=None, subject=None, redacted_at=utcnow())
        .returning(table.c.seq)
    )
    return sorted(db.session.execute(statement).scalars())


def erase_subject(site_id: str, subject: str, reason: str = "") -> dict[str, Any]:
    """Redact every record of ``subject``; idempotent (a second call reports the first erasure).
    A subject never seen answers 404. ``reason`` goes to the activity log."""
    get_site(site_id)
    digest = subject_hmac(site_id, subject)
    write_transaction()
    try:
        seqs = redact_where(site_id, ConsentRecord.__table__.c.subject == subject)
        if seqs:
            entry = Erasure(
                site_id=site_id,
                reason="request",
                subject_hmac=digest,
                records_redacted=len(seqs),
                redacted_seqs=seq_ranges(seqs),
                erased_at=utcnow(),
            )
            db.session.add(entry)
        else:
            entry = db.session.execute(
                db.select(Erasure)
                .where(Erasure.site_id == site_id, Erasure.subject_hmac == digest)
                .order_by(Erasure.id)
                .limit(1)
            ).scalar_one_or_none()
            if entry is None:
                raise NotFound("No consent records for this subject.")
        answer = {
            "site": site_id,
            "subject": subject,
            "erased_at": isoformat(entry.erased_at),
            "records_redacted": len(seqs),
            "redacted_seqs": seqs,
            "already_erased": not seqs,
        }
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if seqs:
        # The subject only as its keyed hash: the log must not keep what erasure removed.
        details = {"records": len(seqs), "reason": reason[:500]}
        record("subject.erased", f"subject:{digest}", site=site_id, details=details)
    return answer


def apply_retention(
    site_id: str | None = None, now: datetime | None = None, dry_run: bool = False
) -> list[dict[str, Any]]:
    """Redact records older than each site's ``retention_days`` (one site or all)."""
    now = now or utcnow()
    results = []
    sites = [get_site(site_id)] if site_id else list_sites()
    for site in sites:
        cutoff = now - timedelta(days=site.retention_days)
        if dry_run:
            count = db.session.execute(
                db.select(func.count()).where(
                    ConsentRecord.site_id == site.id,
                    ConsentRecord.redacted_at.is_(None),
                    ConsentRecord.recorded_at < cutoff,
                )
            ).scalar_one()
            results.append({"site": site.id, "cutoff": isoformat(cutoff), "records": count})
            continue
        write_transaction()
        try:
            seqs = redact_where(site.id, ConsentRecord.__table__.c.recorded_at < cutoff)
            if seqs:
                db.session.add(
                    Erasure(
                        site_id=site.id,
                        reason="retention",
                        subject_hmac=None,
                        records_redacted=len(seqs),
                        redacted_seqs=seq_ranges(seqs),
                        erased_at=now,
                    )
                )
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        if seqs:
            record(
                "retention.applied", f"site:{site.id}", site=site.id, details={"records": len(seqs)}
            )
        results.append({"site": site.id, "cutoff": isoformat(cutoff), "records": len(seqs)})
    return results


# Statistics ---------------------------------------------------------------------------------------


def day_of(column: Any) -> Any:
    """The UTC calendar day of a timestamp column, on either database."""
    if db.engine.dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)  # SQLite stores naive UTC text


def _bucket(counts: dict[str, int]) -> dict[str, Any]:
    total = sum(counts[action] for action in ACTIONS)
    rates = {name: round(counts[name] / total, 4) if total else 0.0 for name in counts}
    return {"total": total, "counts": counts, "rates": rates}


def _empty_counts() -> dict[str, int]:
    return {**dict.fromkeys(ACTIONS, 0), "gpc": 0}


def consent_stats(site_id: str, first_day: date, last_day: date) -> dict[str, Any]:
    """Counts and rates of each action (and of GPC signals) per UTC day and per document
    version, for the days ``first_day..last_day`` (both included)."""
    get_site(site_id)
    if first_day > last_day:
        raise Unprocessable(
            "'from' is after 'to'.", {"fields": {"from": ["Must not be after 'to'."]}}
        )
    if (last_day - first_day).days + 1 > MAX_STATS_DAYS:
        raise Unprocessable(
            f"Ask for at most {MAX_STATS_DAYS} days at a time.",
            {"fields": {"to": [f"At most {MAX_STATS_DAYS} days after 'from'."]}},
        )
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    end = start + timedelta(days=(last_day - first_day).days + 1)
    records = ConsentRecord
    in_range = (records.site_id == site_id, records.recorded_at >= start, records.recorded_at < end)
    day = day_of(records.recorded_at).label("day")
    gpc_count = func.sum(cast(records.gpc, Integer)).label("gpc")

    days: dict[str, dict[str, int]] = {}
    for row in db.session.execute(
        db.select(day, records.action, func.count().label("n"), gpc_count)
        .where(*in_range)
        .group_by(day, records.action)
    ):
        counts = days.setdefault(str(row.day), _empty_counts())
        counts[row.action] += row.n
        counts["gpc"] += int(row.gpc or 0)

    versions: dict[tuple[str, int], dict[str, int]] = {}
    for kind in DOCUMENT_KINDS:
        version = records.documents[kind]["version"].as_integer().label("version")
        for row in db.session.execute(
            db.select(version, records.action, func.count().label("n"), gpc_count)
            .where(*in_range, version.is_not(None))
            .group_by(version, records.action)
        ):
            counts = versions.setdefault((kind, row.version), _empty_counts())
            counts[row.action] += row.n
            counts["gpc"] += int(row.gpc or 0)

    totals = _empty_counts()
    for counts in days.values():
        for name, value in counts.items():
            totals[name] += value
    return {
        "site": site_id,
        "from": first_day.isoformat(),
        "to": last_day.isoformat(),
        "interval": "day",
        "totals": _bucket(totals),
        "days": [{"date": key, **_bucket(days[key])} for key in sorted(days)],
        "documents": [
            {"kind": kind, "version": version, **_bucket(versions[(kind, version)])}
            for kind, version in sorted(versions)
        ],
    }


# Subject self-service -----------------------------------------------------------------------------


def subject_from_token(site_id: str, token: str | None) -> str:
    """The subject a self-service token names; 401 when it is missing, forged, expired or made
    for another site."""
    site: Site = get_site(site_id)
    if not token:
        raise Unauthorized("Send the subject_token of a receipt as 'Authorization: Bearer ...'.")
    data = read_subject_token(token, site.consent_lifetime_days * 86_400)
    if data is None or data.get("site") != site_id or not isinstance(data.get("subject"), str):
        raise Unauthorized("The subject token is not valid for this site (forged or expired).")
    return data["subject"]


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
