"""Recording and verifying the activity log.

:func:`record` is the one way an admin action is written, called from the service functions that
make the change (sites, keys, documents, erasure, export, users) and from the console's sign-in,
so the API, the console and the CLI all leave the same trace. Entries are chained in ``seq``
order; appends are serialised (``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock
on PostgreSQL) so the chain never forks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import g, has_request_context
from sqlalchemy import text

from ..database import write_transaction
from ..errors import Unprocessable
from ..extensions import db
from ..ledger.canonical import canonical_json
from ..timeutil import as_utc, isoformat, utcnow
from .models import ActivityEntry

GENESIS = "0" * 64
# Any constant: the advisory lock that serialises activity appends on PostgreSQL.
APPEND_LOCK_KEY = 0x636F6E736F6C65
# Every action the log knows, so the console can offer them as a filter.
ACTIONS = (
    "site.created",
    "site.changed",
    "key.created",
    "key.revoked",
    "draft.created",
    "draft.edited",
    "draft.deleted",
    "version.published",
    "subject.erased",
    "retention.applied",
    "export.made",
    "proof.made",
    "user.created",
    "user.changed",
    "user.disabled",
    "user.password_reset",
    "user.totp_enabled",
    "login.succeeded",
    "login.failed",
    "integrity.verified",
    "scan.stored",
)


def current_actor() -> str:
    """Who is acting: the console user or API key of the request, else the command line."""
    if has_request_context():
        user = g.get("console_user")
        if user is not None:
            return f"user:{user.email}"
        key = g.get("api_key")
        if key is not None:
            return f"key:{key.id}:{key.prefix}"
        return "anonymous"
    return "cli"


def entry_hash(entry: dict[str, Any]) -> str:
    """The hash of an entry's fields (everything but ``entry_hash`` itself)."""
    return hashlib.sha256(canonical_json(entry)).hexdigest()


def entry_fields(row: ActivityEntry) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": isoformat(row.at),
        "actor": row.actor,
        "action": row.action,
        "object": row.object,
        "site": row.site_id,
        "details": row.details,
        "prev_hash": row.prev_hash,
    }


def record(
    action: str,
    obj: str,
    *,
    site: str | None = None,
    details: dict[str, Any] | None = None,
    actor: str | None = None,
) -> ActivityEntry:
    """Append one entry (in its own transaction, after the change it describes committed)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown activity action {action!r}")
    write_transaction()
    try:
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
        last = db.session.execute(
            db.select(ActivityEntry.seq, ActivityEntry.entry_hash)
            .order_by(ActivityEntry.seq.desc())
            .limit(1)
        ).first()
        row = ActivityEntry(
            seq=(last.seq + 1) if last else 1,
            at=utcnow(),
            actor=(actor or current_actor())[:300],
            action=action,
            object=obj[:300],
            site_id=site,
            details=details or {},
            prev_hash=last.entry_hash if last else GENESIS,
        )
        row.entry_hash = entry_hash(entry_fields(row))
        db.session.add(row)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return row


@dataclass(frozen=True)
class ActivityPage:
    items: list[ActivityEntry]
    next_before: int | None


def query_activity(
    *,
    site: str | None = None,
    all_sites: bool = True,
    actor: str | None = None,
    action: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    before: int | None = None,
    limit: int = 50,
) -> ActivityPage:
    """Newest first, keyset on ``seq``. A viewer bound to one site (``all_sites=False``) sees
    that site's entries only; ``site`` narrows an all-sites viewer to one site."""
    if action is not None and action not in ACTIONS:
        raise Unprocessable(
            f"Unknown action '{action}'.", {"fields": {"action": ["Not a known action."]}}
        )
    query = db.select(ActivityEntry)
    if site is not None or not all_sites:
        query = query.where(ActivityEntry.site_id == site)
    if actor:
        query = query.where(ActivityEntry.actor.contains(actor, autoescape=True))
    if action:
        query = query.where(ActivityEntry.action == action)
    if start is not None:
        query = query.where(ActivityEntry.at >= start)
    if end is not None:
        query = query.where(ActivityEntry.at < end)
    if before is not None:
        query = query.where(ActivityEntry.seq < before)
    rows = list(
        db.session.execute(query.order_by(ActivityEntry.seq.desc()).limit(limit + 1)).scalars()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return ActivityPage(rows, rows[-1].seq if more and rows else None)


def latest_entry(action: str, site: str | None = None) -> ActivityEntry | None:
    query = db.select(ActivityEntry).where(ActivityEntry.action == action)
    if site is not None:
        query = query.where(ActivityEntry.site_id == site)
    return db.session.execute(
        query.order_by(ActivityEntry.seq.desc()).limit(1)
    ).scalar_one_or_none()


@dataclass
class ActivityReport:
    """The outcome of :func:`verify_activity`."""

    entries: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def stored_activity(batch: int = 2_000) -> Iterator[ActivityEntry]:
    after = 0
    while True:
        rows = list(
            db.session.execute(
                db.select(ActivityEntry)
                .where(ActivityEntry.seq > after)
                .order_by(ActivityEntry.seq)
                .limit(batch)
            ).scalars()
        )
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].seq


def verify_activity(entries: Iterator[ActivityEntry] | None = None) -> ActivityReport:
    """Check that the log is a gap-free chain from seq 1 whose every hash matches its fields."""
    report = ActivityReport()
    expected_seq, prev = 1, GENESIS
    for row in stored_activity() if entries is None else entries:
        if row.seq != expected_seq:
            report.problems.append(f"entry {expected_seq} is missing (found {row.seq} next)")
        if row.prev_hash != prev:
            report.problems.append(f"entry {row.seq} does not point at the entry before it")
        if entry_hash(entry_fields(row)) != row.entry_hash:
            report.problems.append(f"entry {row.seq} was changed after it was written")
        report.entries += 1
        expected_seq, prev = row.seq + 1, row.entry_hash
    report.head = prev
    return report


def describe_time(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")
