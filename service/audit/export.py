"""Streamed exports of a site's ledger (NDJSON that verifies offline, or CSV), in seq order,
with constant memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, cast, func, type_coerce

from ..activity.service import record
from ..consents.models import Checkpoint, ConsentRecord
from ..consents.service import cut_checkpoint, erasure_log, signed
from ..extensions import db
from ..signing import keyring
from ..sites.service import get_site
from ..timeutil import isoformat, utcnow

EXPORT_FORMAT = "consentry-export/v1"


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


@dataclass(frozen=True)
class ExportPlan:
    """What an export covers: entries ``first_seq..last_seq`` (none when ``last_seq`` is 0)."""

    site_id: str
    first_seq: int
    last_seq: int
    start: datetime | None
    end: datetime | None
    checkpoints: list[dict[str, Any]]
    erasures: list[dict[str, Any]]


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
    checkpoints = [signed(row).to_dict() for row in rows]
    # The whole log: a verifier needs the entries that name the redacted rows in the file.
    erasures = [statement.to_dict() for statement in erasure_log(site_id)]
    plan = ExportPlan(site_id, first, last, start, end, checkpoints, erasures)
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
        "erasures": plan.erasures,
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
    ConsentRecord.region,
    ConsentRecord.mode,
    ConsentRecord.client_event_id,
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
    escaped by the C JSON string encoder. That keeps the export well above 50,000 entries/s.
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
            # No body left: what was agreed (not personal) comes from the columns, all of
            # them, as the erasure log's signed digest covers them.
            record = {
                "recorded_at": _timestamp(row.recorded_at),
                "action": row.action,
                "method": row.method,
                "gpc": row.gpc,
                "choices": _json(row.choices),
                "documents": _json(row.documents),
                "region": row.region,
                "mode": row.mode,
                "client_event_id": row.client_event_id,
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


# OWASP "CSV injection": a cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: str) -> str:
    """``value`` as a spreadsheet shows it: a leading ``'`` keeps a formula from running."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def export_csv(plan: ExportPlan) -> Iterator[str]:
    """Flat rows for spreadsheets; ``body`` holds the signed bytes, so the chain still verifies.
    Visitor-controlled cells (the subject) are neutralised against formula injection."""
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
                spreadsheet_text(row.subject or ""),
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
