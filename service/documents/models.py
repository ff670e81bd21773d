"""Documents: one row per (site, kind), the lock its versions change under; and one row per
(site, kind, version) of a document's versions, whose published rows never change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..ledger.vocabulary import DOCUMENT_KINDS
from ..timeutil import utcnow

DRAFT = "draft"
PUBLISHED = "published"


class Document(db.Model):
    """A site's document of one kind. Its row is the lock that orders every change to the
    document's versions (a draft's number, a publication, an edit): ``SELECT ... FOR UPDATE`` on
    PostgreSQL; on SQLite the write transaction (``BEGIN IMMEDIATE``) holds the database's lock."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("kind IN ('privacy', 'terms', 'cookies', 'banner')", name="kind"),
    )

    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DocumentVersion(db.Model):
    __tablename__ = "document_versions"
    __table_args__ = (
        UniqueConstraint("site_id", "kind", "version"),
        CheckConstraint(f"kind IN ({', '.join(map(repr, DOCUMENT_KINDS))})", name="kind"),
        CheckConstraint("status IN ('draft', 'published')", name="status"),
        CheckConstraint("version >= 1", name="version"),
        Index("ix_document_versions_site_effective", "site_id", "status", "effective_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No cascade: a site with published documents cannot silently take them with it.
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int]
    # {locale: {"title": str, "body": markdown, "labels": {...} (banner only, optional)}}
    texts: Mapped[dict[str, Any]]
    default_locale: Mapped[str] = mapped_column(String(35))
    content_sha256: Mapped[str] = mapped_column(String(64))
    material: Mapped[bool] = mapped_column(default=False)
    summary: Mapped[str] = mapped_column(String(1000), default="")
    # Stored: draft or published. Scheduled / current / superseded are derived at read time.
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    effective_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when published (service.documents.rendered): its HTML per locale and the changes since
    # the version before. NULL for a draft, whose HTML is rendered when it is shown.
    rendered: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
