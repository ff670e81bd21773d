from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow


class ScanReport(db.Model):
    """A signed scan report; append-only (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "scan_reports"
    __table_args__ = (Index("ix_scan_reports_site_created", "site_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64), ForeignKey("sites.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    verdict: Mapped[str] = mapped_column(String(16))
    pages: Mapped[int]
    findings: Mapped[int]
    stopped: Mapped[str | None] = mapped_column(String(16))
    # The report exactly as signed: canonical JSON (sorted keys, no spaces, UTF-8).
    report: Mapped[str] = mapped_column(Text)
    report_sha256: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))  # base64url Ed25519 over the JWS input
