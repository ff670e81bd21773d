"""Site rules: creation with sensible defaults, updates that keep the settings consistent."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.exc import IntegrityError

from ..activity.service import record
from ..database import write_transaction
from ..errors import Conflict, NotFound, Unprocessable
from ..extensions import db
from .compliance import check_site_settings, site_settings
from .models import FIRST_LAYER_BUTTONS, Site
from .origins import origin_in

# A site's config_version (bumped by every change to the site or its documents), by ``site_id``:
# the banner's per-request probe and the ledger's locking read, each on its direct connection.
# On PostgreSQL both prepare it under this one name.
CONFIG_VERSION = select(Site.__table__.c.config_version).where(
    Site.__table__.c.id == bindparam("site_id")
)
CONFIG_VERSION_PREPARED_AS = "consentry_config_version"

DEFAULT_CATEGORIES: list[dict[str, Any]] = [
    {
        "id": "necessary",
        "title": "Strictly necessary",
        "description": "Needed for the site to work: security, load balancing, your choices here.",
        "required": True,
        "sale_or_sharing": False,
        "cookies": [],
    },
    {
        "id": "analytics",
        "title": "Analytics",
        "description": "Counts visits and traffic sources so we can measure and improve the site.",
        "required": False,
        "sale_or_sharing": False,
        "cookies": [],
    },
    {
        "id": "marketing",
        "title": "Marketing",
        "description": "Lets advertising partners build a profile of your interests.",
        "required": False,
        "sale_or_sharing": True,
        "cookies": [],
    },
]

DEFAULT_CONSENT_MODE: dict[str, Any] = {
    "enabled": False,
    "mapping": {
        "analytics_storage": ["analytics"],
        "ad_storage": ["marketing"],
        "ad_user_data": ["marketing"],
        "ad_personalization": ["marketing"],
        "functionality_storage": ["necessary"],
        "personalization_storage": [],
        "security_storage": ["necessary"],
    },
}


def site_not_found(site_id: str) -> NotFound:
    """The one 404 for a site, whether it is missing or belongs to another tenant."""
    return NotFound(f"Site '{site_id}' not found.")


def get_site(site_id: str, lock: bool = False) -> Site:
    """The site; with ``lock``, its row is locked until the transaction ends (PostgreSQL
    ``FOR NO KEY UPDATE``, which leaves the inserts that refer to the site free; on SQLite the
    write transaction holds the database's lock already)."""
    site = db.session.get(Site, site_id, with_for_update={"key_share": True} if lock else None)
    if site is None:
        raise site_not_found(site_id)
    return site


def list_sites(only_site: str | None = None) -> list[Site]:
    query = db.select(Site).order_by(Site.id)
    if only_site is not None:
        query = query.where(Site.id == only_site)
    return list(db.session.execute(query).scalars())


def create_site(data: dict[str, Any]) -> Site:
    data = merge_mode_names(data)
    data.setdefault("mode", "opt-in")
    data.setdefault("regions", [])
    data.setdefault("controller", {})
    data.setdefault("first_layer", list(FIRST_LAYER_BUTTONS))
    data.setdefault("categories", DEFAULT_CATEGORIES)
    data.setdefault("consent_mode", DEFAULT_CONSENT_MODE)
    data.setdefault("policy_urls", {})
    data.setdefault("theme", {})
    check_consistency(data)
    if db.session.get(Site, data["id"]) is not None:
        raise Conflict(f"Site '{data['id']}' already exists.")
    check_site_settings(data["id"], data)
    site = Site(**data)
    db.session.add(site)
    try:
        db.session.commit()
    except IntegrityError as error:  # PostgreSQL: created by a concurrent request meanwhile
        db.session.rollback()
        if db.session.get(Site, data["id"]) is None:
            raise
        raise Conflict(f"Site '{data['id']}' already exists.") from error
    record("site.created", f"site:{site.id}", site=site.id)
    return site


def update_site(site_id: str, changes: dict[str, Any]) -> Site:
    """Apply ``changes``, checked against the site as it is under its row lock: two concurrent
    updates are applied one after the other, each checked against the other's result."""
    changes = merge_mode_names(changes)
    # Reads (the site, its documents for the linter), then writes: take the write lock first.
    write_transaction()
    site = get_site(site_id, lock=True)
    check_changes(site, changes)
    for name, value in changes.items():
        setattr(site, name, value)
    bump_config_version(site)
    db.session.commit()
    record("site.changed", f"site:{site_id}", site=site_id, details={"fields": sorted(changes)})
    return site


def check_changes(site: Site, changes: dict[str, Any]) -> None:
    """The rules a change must pass, checked on the site as it would be (``update_site``)."""
    merged = {name: getattr(site, name) for name in CONSISTENT_FIELDS} | site_settings(site)
    merged |= changes
    check_consistency(merged)
    check_site_settings(site.id, merged)


def draft_site(site_id: str, changes: dict[str, Any]) -> Site:
    """The site as it would be with ``changes``, checked as :func:`update_site` checks them but
    not saved: a copy outside the session (a console preview of unsaved settings)."""
    changes = merge_mode_names(changes)
    site = get_site(site_id)
    check_changes(site, changes)
    columns = {attr.key: getattr(site, attr.key) for attr in inspect(Site).column_attrs}
    return Site(**(columns | changes))


# The fields check_consistency reads together
CONSISTENT_FIELDS = ("categories", "consent_mode", "allowed_origins", "theme", "cookie_domain")


def merge_mode_names(data: dict[str, Any]) -> dict[str, Any]:
    """``default_mode`` and its round 1 name ``mode`` (the schema refuses two different values)
    as the one ``mode`` attribute."""
    data = dict(data)
    default_mode = data.pop("default_mode", None)
    if default_mode is not None:
        data["mode"] = default_mode
    return data


def check_consistency(data: dict[str, Any]) -> None:
    """Rules across fields: Consent Mode may only name the site's own categories; the theme's
    logo comes from an allowed origin; the cookie domain is a parent of an allowed host."""
    known = {category["id"] for category in data["categories"]}
    mapping = (data.get("consent_mode") or {}).get("mapping", {})
    unknown = sorted({cat for cats in mapping.values() for cat in cats} - known)
    if unknown:
        raise Unprocessable(
            "Consent Mode maps to categories the site does not have.",
            {"fields": {"consent_mode": {"mapping": [f"Unknown categories: {unknown}"]}}},
        )
    origins = data.get("allowed_origins") or []
    logo = (data.get("theme") or {}).get("logo_url")
    if logo and not any(origin_matches(origin, logo) for origin in origins):
        raise Unprocessable(
            "The logo must be served from one of the site's allowed origins.",
            {"fields": {"theme": {"logo_url": ["Not on an allowed origin."]}}},
        )
    domain = data.get("cookie_domain")
    hosts = [urlsplit(origin).hostname or "" for origin in origins]
    if domain and not any(h == domain or h.endswith(f".{domain}") for h in hosts):
        raise Unprocessable(
            "The cookie domain must be an allowed origin's host or one of its parent domains.",
            {"fields": {"cookie_domain": [f"No allowed origin is on {domain}."]}},
        )


def origin_matches(origin: str, url: str) -> bool:
    """True when ``url`` is on ``origin`` (``scheme://*.example.com``: any subdomain)."""
    parts = urlsplit(url)
    scheme, _, host = origin.partition("://")
    netloc = (parts.netloc or "").lower()
    if parts.scheme != scheme:
        return False
    if host.startswith("*."):
        return netloc.endswith(host[1:])
    return netloc == host


def bump_config_version(site: Site) -> None:
    """Mark the site's derived data stale; an SQL increment, so concurrent bumps never merge."""
    site.config_version = Site.config_version + 1


def origin_allowed(site: Site, origin: str | None) -> bool:
    """True when ``origin`` (as browsers send it) is one of the site's allowed origins; an entry
    ``https://*.example.com`` allows every subdomain of example.com, not example.com itself."""
    return origin_in(site.allowed_origins, origin)
