"""Erasure and retention. A redacted row loses its ``body``, ``subject`` and ``request_sha256``
(the personal fields, and a hash of the request that would confirm a guessed subject) but keeps
``entry_hash``, ``prev_hash`` and ``signature``, so the chain and the Merkle tree still verify.
What was agreed (action, choices, documents, method, gpc, time) is not personal and stays in
columns. Each erasure signs one erasure-log entry (:class:`~service.consents.models.Erasure`,
``service.ledger.erasure``) naming the seqs it redacted and a digest of what they still show:
verification refuses a redaction without one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func

from ..activity.service import record
from ..consents.models import ConsentRecord, Erasure
from ..consents.service import pepper_for
from ..database import checkpoint_wal, write_transaction
from ..errors import NotFound
from ..extensions import db
from ..ledger.chain import user_ref
from ..ledger.erasure import VisibleDigest, sign_erasure, visible_from_body
from ..signing import keyring
from ..sites.service import get_site, list_sites
from ..timeutil import isoformat, utcnow

RECORDS = ConsentRecord.__table__
REDACT_BATCH = 2_000


def subject_hmac(site_id: str, subject: str) -> str:
    """The erasure log keeps only this: the same peppered HMAC as a site's own user ids."""
    return user_ref(pepper_for(site_id), subject)


@dataclass(frozen=True)
class Redaction:
    """The seqs one erasure redacted and the SHA-256 of what they still show."""

    seqs: list[int]
    visible_sha256: str


def redact_where(site_id: str, now: datetime, *conditions: Any) -> Redaction:
    """Redact the site's unredacted rows matching ``conditions`` (in the caller's write
    transaction): body, subject and request hash cleared, every hash kept. The only UPDATE the
    database triggers allow. What stays visible is digested from each row's signed body first,
    so a column changed before the erasure does not get signed."""
    where = (RECORDS.c.site_id == site_id, RECORDS.c.redacted_at.is_(None), *conditions)
    rows = db.session.execute(
        db.select(RECORDS.c.seq, RECORDS.c.body, RECORDS.c.signature)
        .where(*where)
        .order_by(RECORDS.c.seq)
        .with_for_update()  # PostgreSQL; SQLite's write transaction holds the whole database
        .execution_options(yield_per=REDACT_BATCH)
    )
    digest, seqs = VisibleDigest(), []
    for seq, body, signature in rows:
        digest.add(visible_from_body(bytes(body or b""), signature))
        seqs.append(seq)
    if seqs:
        # Appends made meanwhile come after the last seq read: they are not this erasure's.
        statement = (
            RECORDS.update()
            .where(*where, RECORDS.c.seq <= seqs[-1])
            .values(body=None, subject=None, request_sha256=None, redacted_at=now)
            .returning(RECORDS.c.seq)
        )
        if sorted(db.session.execute(statement).scalars()) != seqs:
            raise RuntimeError("the rows to redact changed during the erasure")
    return Redaction(seqs, digest.hexdigest())


def log_erasure(
    site_id: str, now: datetime, reason: str, subject_digest: str | None, redaction: Redaction
) -> Erasure:
    """Sign the erasure's log entry with the service's current key and add it to the session."""
    signer = keyring().current
    statement = sign_erasure(
        site_id, now, reason, subject_digest, redaction.seqs, redaction.visible_sha256, signer
    )
    entry = Erasure(
        site_id=site_id,
        reason=reason,
        subject_hmac=subject_digest,
        records_redacted=statement.records,
        redacted_seqs=statement.seqs,
        erased_at=now,
        visible_sha256=statement.visible_sha256,
        kid=statement.kid,
        signature=statement.signature,
    )
    db.session.add(entry)
    return entry


def erase_subject(site_id: str, subject: str, reason: str = "") -> dict[str, Any]:
    """Redact every record of ``subject``; idempotent (a second call reports the first erasure).
    A subject never seen answers 404. ``reason`` goes to the activity log."""
    get_site(site_id)
    digest = subject_hmac(site_id, subject)
    write_transaction()
    try:
        now = utcnow()
        redaction = redact_where(site_id, now, RECORDS.c.subject == subject)
        seqs = redaction.seqs
        if seqs:
            entry = log_erasure(site_id, now, "request", digest, redaction)
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
        db.session.commit()  # the session's read snapshot would hold the log back
        checkpoint_wal(db.engine)
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
            redaction = redact_where(site.id, now, RECORDS.c.recorded_at < cutoff)
            seqs = redaction.seqs
            if seqs:
                log_erasure(site.id, now, "retention", None, redaction)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        if seqs:
            record(
                "retention.applied", f"site:{site.id}", site=site.id, details={"records": len(seqs)}
            )
            db.session.commit()
            checkpoint_wal(db.engine)  # as after an erasure: old page images leave the disk
        results.append({"site": site.id, "cutoff": isoformat(cutoff), "records": len(seqs)})
    return results
