from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class ConsentRecord(db.Model):
    """One ledger entry. ``body`` is the canonical JSON that was hashed and signed; the other
    columns are copies of body fields kept for querying, checked against the body on verify."""

    __tablename__ = "consent_records"
    __table_args__ = (
        UniqueConstraint("site_id", "seq"),
        UniqueConstraint("site_id", "client_event_id"),
        Index("ix_consent_records_site_subject", "site_id", "subject", "seq"),
        Index("ix_consent_records_site_recorded", "site_id", "recorded_at", "seq"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    seq: Mapped[int]
    subject: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    gpc: Mapped[bool]
    # Where the visitor was (ISO 3166 code; null when unknown or before jurisdictions) and the
    # banner's mode there; copies of the body's fields, for queries and stats by region.
    region: Mapped[str | None] = mapped_column(String(6))
    mode: Mapped[str | None] = mapped_column(String(8))
    documents: Mapped[dict[str, Any]]
    # Not personal, so it outlives erasure: an audit still shows what was agreed (migration 0004).
    choices: Mapped[dict[str, Any] | None]
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    client_event_id: Mapped[str] = mapped_column(String(36))
    # HMAC-SHA256 (the site's pepper; named for its size) of the client's request, to tell a retry
    # from a different event reusing its id; keyed, so it confirms no guess without the pepper;
    # cleared on redaction (it would confirm a guessed subject), the one column erasure clears
    # besides the personal ones (migration 0014).
    request_sha256: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    entry_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))
    redacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LedgerHead(db.Model):
    """Per site: the last entry and the Merkle frontier. Appends lock this row (PostgreSQL) or
    the database (SQLite ``BEGIN IMMEDIATE``), so a chain can never fork."""

    __tablename__ = "ledger_heads"

    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    # Roots of the perfect subtrees of the site's Merkle tree (hex), at most log2(seq) + 1.
    frontier: Mapped[list[Any]]
    last_checkpoint_size: Mapped[int] = mapped_column(default=0)
    last_checkpoint_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VersionSpan(db.Model):
    """Per site and document version: the first and last seq of the entries naming it, among
    those a checkpoint covers (``ledger_heads.last_checkpoint_size``). The ledger writer merges
    it when it cuts a checkpoint (:mod:`.writer`), so a search by version walks one seq span and
    the short tail after the checkpoint instead of the whole ledger. An index, not proof: it is
    derived from the entries and only ever widened."""

    __tablename__ = "consent_version_spans"

    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    first_seq: Mapped[int]
    last_seq: Mapped[int]


class Checkpoint(db.Model):
    """A signed tree head over the first ``tree_size`` entries of a site."""

    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("site_id", "tree_size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    tree_size: Mapped[int]
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[str] = mapped_column(String(32))
    kid: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))


class Erasure(db.Model):
    """The erasure log: what each erasure or retention run redacted, when and why, signed.

    It lives with the ledger's other proving tables because verification reads it: a row
    without a body is valid only when a signed entry here names it and the digest of what it
    still shows (``service.ledger.erasure``). The subject is kept only as an HMAC under the
    site's pepper (``subject_hmac``). ``visible_sha256``, ``kid`` and ``signature`` are None for
    entries logged before erasures were signed (migration 0014): verification reports those.
    """

    __tablename__ = "erasures"
    __table_args__ = (Index("ix_erasures_site_subject", "site_id", "subject_hmac"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    reason: Mapped[str] = mapped_column(String(16))  # "request" or "retention"
    subject_hmac: Mapped[str | None] = mapped_column(String(64))
    records_redacted: Mapped[int]
    redacted_seqs: Mapped[list[Any]]
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    visible_sha256: Mapped[str | None] = mapped_column(String(64))
    kid: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(100))
