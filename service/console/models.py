from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow

# The API scopes each role holds: the console checks these with the API's own guard.
ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "owner": ("sites:admin", "documents:publish", "audit:read"),
    "editor": ("documents:publish",),
    "auditor": ("audit:read",),
}
ROLES = tuple(ROLE_SCOPES)


class User(db.Model):
    """A person who signs in to the console. Their role maps to API scopes (``ROLE_SCOPES``)
    and, like an API key, they are bound to one site or to all."""

    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, PHC string
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # The time step of the last TOTP code accepted: a code is good once (migration 0015).
    totp_last_step: Mapped[int | None]
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped by a password reset or a disable: every session signed in before it ends.
    session_epoch: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def scopes(self) -> tuple[str, ...]:
        return ROLE_SCOPES[self.role]

    def can(self, scope: str) -> bool:
        return scope in self.scopes
