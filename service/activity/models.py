from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class ActivityEntry(db.Model):
    """One admin action. ``entry_hash`` is SHA-256 over the canonical JSON of every other column
    and ``prev_hash`` (the previous entry's hash), so an edit, a deletion or a reordering breaks
    the chain; the table is append-only (migration 0005)."""

    __tablename__ = "activity_log"
    __table_args__ = (Index("ix_activity_log_site_seq", "site_id", "seq"),)

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(40))
    object: Mapped[str] = mapped_column(String(300))
    site_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
