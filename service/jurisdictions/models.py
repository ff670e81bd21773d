from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class BannerRevision(db.Model):
    """What a banner revision showed: the banner config (canonical JSON) whose hash is the
    ``revision`` a consent names. Kept so the proof bundle and the ISO/IEC TS 27560 export can
    say which controller, purposes and personal data a visitor agreed to, by hash."""

    __tablename__ = "banner_revisions"
    __table_args__ = (UniqueConstraint("site_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    revision: Mapped[str] = mapped_column(String(64))
    config: Mapped[bytes] = mapped_column(LargeBinary)
    first_served_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
