"""The erasure log: audit owns erasure and retention, and their record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class Erasure(db.Model):
    """The log of erasures and retention runs: what was redacted, when and why.

    The subject is kept only as an HMAC under the site's pepper (``subject_hmac``), so the log
    answers "was this subject erased, and when?" without holding the identifier itself.
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
