from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, true
from sqlalchemy.orm import Mapped, mapped_column, synonym

from ..extensions import db
from ..timeutil import utcnow

FIRST_LAYER_BUTTONS = ("accept_all", "reject_all", "settings")
FIRST_LAYER_DEFAULT = '["accept_all", "reject_all", "settings"]'


class Site(db.Model):
    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # public slug
    name: Mapped[str] = mapped_column(String(200))
    allowed_origins: Mapped[list[Any]]
    # The mode where no region rule applies (the API calls it ``default_mode``; ``mode`` is the
    # round 1 name of the same setting).
    mode: Mapped[str] = mapped_column(String(16), default="opt-in")
    default_mode = synonym("mode")
    # Ordered [{match, mode}] rules, before the built-in pack (jurisdictions/regions.py).
    regions: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    use_default_regions: Mapped[bool] = mapped_column(default=True, server_default=true())
    # {name, address, email, contact, dpo}: who is responsible (ISO/IEC TS 27560 "pii controller").
    controller: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # The buttons of the banner's first layer, in order (the linter requires reject_all where
    # consent is required).
    first_layer: Mapped[list[Any]] = mapped_column(
        default=lambda: list(FIRST_LAYER_BUTTONS), server_default=FIRST_LAYER_DEFAULT
    )
    # [{id, title, description, required, sale_or_sharing, sensitive, cookies: [{name, ...}],
    #   preselected, purposes, personal_data, retention, recipients, legal_basis}]
    categories: Mapped[list[Any]]
    default_locale: Mapped[str] = mapped_column(String(35), default="en")
    honour_gpc: Mapped[bool] = mapped_column(default=True)
    consent_lifetime_days: Mapped[int] = mapped_column(default=180)
    retention_days: Mapped[int] = mapped_column(default=365 * 3)
    # {"enabled": bool, "mapping": {signal: [category ids]}}
    consent_mode: Mapped[dict[str, Any]]
    # Where the banner links for each document kind, when the site hosts its own pages.
    policy_urls: Mapped[dict[str, Any]]
    # The banner's look: {accent, text, background, radius, position, logo_url}; part of the
    # banner config, so of its revision. Empty: the widget's default theme.
    theme: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # A parent domain (example.com) whose subdomains share the consent cookie and the subject.
    cookie_domain: Mapped[str | None] = mapped_column(String(253), default=None)
    # Bumped in the same transaction as any change to the site or its documents: caches of
    # derived data (the banner config) compare it with one cheap query.
    config_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
