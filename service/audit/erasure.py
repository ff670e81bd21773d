"""Erasure and retention. A redacted row loses its ``body`` and ``subject`` (the personal fields)
but keeps ``entry_hash``, ``prev_hash`` and ``signature``, so the chain and the Merkle tree still
verify (``verify_ledger`` trusts a redacted row's stored hash). What was agreed (action, choices,
documents, method, gpc, time) is not personal and stays in columns. Each erasure is logged
(:class:`~service.audit.models.Erasure`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func

from ..activity.service import record
from ..consents.models import ConsentRecord
from ..consents.service import pepper_for
from ..database import checkpoint_wal, write_transaction
from ..errors import NotFound
from ..extensions import db
from ..ledger.chain import user_ref
from ..sites.service import get_site, list_sites
from ..timeutil import isoformat, utcnow
from .models import Erasure


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
