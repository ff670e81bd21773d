"""The banner config: everything the widget shows, in one response, and its ``revision``.

Built from the site, its current documents and the built-in labels, then cached per process.
Each request validates a cached entry with one query of ``sites.config_version`` (bumped in the
same transaction as any change to the site or its documents, so every worker process sees it)
and an entry expires by itself when the site's next scheduled version takes effect.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy.engine import Dialect, Engine

from ..database import BatchStatement, Compiled, direct_connections
from ..extensions import db
from ..jurisdictions.regions import gpc_required, site_mode
from ..jurisdictions.revisions import remember_revision
from ..ledger.vocabulary import POLICY_KINDS
from ..sites.models import Site
from ..sites.service import (
    CONFIG_VERSION,
    CONFIG_VERSION_PREPARED_AS,
    get_site,
    site_not_found,
)
from ..timeutil import isoformat, utcnow
from . import service
from .digest import canonical_json
from .locales import DEFAULT_BANNER_TEXTS, LABEL_KEYS, default_banner_texts, direction, match_locale
from .models import DocumentVersion

CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=600"
CATEGORY_FLAGS = ("required", "sale_or_sharing", "sensitive", "preselected")
CATEGORY_KEYS = ("id", "title", "description", *CATEGORY_FLAGS)
# The standard-record declarations (ISO/IEC TS 27560): in the revision, so a consent names them.
CATEGORY_RECORDS = {
    "purposes": list,
    "personal_data": list,
    "retention": str,
    "recipients": list,
    "legal_basis": lambda: None,
}
CONTROLLER_KEYS = ("name", "address", "email", "contact", "dpo")
COOKIE_KEYS = ("name", "provider", "duration", "purpose")


CacheKey = tuple[str, str, str, str | None]


@dataclass(frozen=True)
class SiteOrigins:
    """What CORS needs of a site, kept with a cached entry so a hit costs no second query."""

    id: str
    allowed_origins: list[str]


@dataclass(frozen=True)
class BannerEntry:
    config_version: int
    expires_at: datetime | None  # the next scheduled effective_at of the site
    revision: str
    body: bytes  # the JSON response, serialised once
    site: SiteOrigins

    @property
    def headers(self) -> dict[str, str]:
        return {"ETag": f'"{self.revision}"', "Cache-Control": CACHE_CONTROL}


class BannerCache:
    """A small per-process LRU of serialised banner configs, keyed by (site, locale, base URL,
    region)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._entries: OrderedDict[CacheKey, BannerEntry] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def get(self, key: CacheKey, config_version: int, now: datetime):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.config_version != config_version or (
                entry.expires_at is not None and now >= entry.expires_at
            ):
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def peek(self, key: CacheKey, config_version: int, now: datetime):
        """The entry if it is still valid, without touching the LRU order or evicting."""
        entry = self._entries.get(key)
        if entry is None or entry.config_version != config_version:
            return None
        if entry.expires_at is not None and now >= entry.expires_at:
            return None
        return entry

    def put(self, key: CacheKey, entry: BannerEntry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def banner_cache(app: Flask | None = None) -> BannerCache:
    app = app or current_app
    return app.extensions.setdefault("consentry_banner_cache", BannerCache())


def read_config_version(engine: Engine, site_id: str, prepare: bool) -> int | None:
    """``sites.config_version`` read on the thread's direct connection (autocommit).

    The check runs on every banner request, so it skips the ORM session, the pool checkout and
    the transaction around it: one indexed primary-key read on a connection kept open, with the
    statement prepared there (PostgreSQL, ``prepare``: the ``PREPARED_STATEMENTS`` setting).
    """
    try:
        cursor = direct_connections.query(
            engine, version_probe(engine.dialect, prepare), {"site_id": site_id}
        )
        row = cursor.fetchone()
        cursor.close()
    except Exception:
        direct_connections.discard()
        raise
    return row[0] if row else None


_version_probes: dict[tuple[str, bool], Compiled | BatchStatement] = {}


def version_probe(dialect: Dialect, prepare: bool) -> Compiled | BatchStatement:
    probe = _version_probes.get((dialect.name, prepare))
    if probe is None:
        probe = Compiled(CONFIG_VERSION, dialect)
        if dialect.name == "postgresql":
            probe = BatchStatement(probe, CONFIG_VERSION_PREPARED_AS if prepare else None)
        _version_probes[dialect.name, prepare] = probe
    return probe


def cache_key(site_id: str, locale: str | None, base_url: str, region: str | None) -> CacheKey:
    return (site_id, (locale or "").lower(), base_url, region)


def banner_entry(
    site_id: str, locale: str | None, base_url: str, region: str | None
) -> BannerEntry:
    """The banner config of ``site_id`` for ``locale`` and the visitor's ``region`` (None:
    unknown), from the cache when still valid."""
    prepare = current_app.config["PREPARED_STATEMENTS"]
    config_version = read_config_version(db.engine, site_id, prepare)
    if config_version is None:
        raise site_not_found(site_id)
    cache = banner_cache()
    key = cache_key(site_id, locale, base_url, region)
    now = utcnow()
    entry = cache.get(key, config_version, now)
    if entry is None:
        entry = build_entry(site_id, locale, base_url, region, now)
        cache.put(key, entry)
    return entry


def build_entry(
    site_id: str, locale: str | None, base_url: str, region: str | None, now: datetime
) -> BannerEntry:
    site = get_site(site_id)
    # Read the version first: data read after it is at least as new, so a racing change can
    # only make this entry look older than it is (and be rebuilt), never newer.
    config_version = site.config_version
    config = build_banner_config(site, locale, base_url, now, region)
    body = canonical_json(config)
    remember_revision(site.id, config["revision"], body, now)
    return BannerEntry(
        config_version=config_version,
        expires_at=service.next_scheduled_at(site_id, now),
        revision=config["revision"],
        body=body,
        site=SiteOrigins(site.id, list(site.allowed_origins)),
    )


def build_banner_config(
    site: Site,
    requested: str | None,
    base_url: str,
    now: datetime,
    region: str | None,
    documents: dict[str, DocumentVersion] | None = None,
) -> dict[str, Any]:
    """The config as the widget protocol describes it, for a visitor from ``region`` (None:
    unknown, which gets the strictest mode the site uses); ``revision`` hashes all of the rest,
    the region and its mode included. ``documents``: the versions to show instead of those in
    force (a console preview of a draft)."""
    if documents is None:
        documents = service.current_documents(site.id, now)
    banner = documents.get("banner")
    if banner is not None:
        fallback = (
            site.default_locale if site.default_locale in banner.texts else banner.default_locale
        )
        locale = match_locale(requested, banner.texts, fallback)
        entry = banner.texts[locale]
        overrides = {
            "title": entry["title"],
            "description": entry["body"],
            **entry.get("labels", {}),
        }
    else:
        locale = match_locale(requested, DEFAULT_BANNER_TEXTS, site.default_locale)
        overrides = {}
    texts = default_banner_texts(locale) | overrides
    mode = site_mode(site, region)
    if mode == "opt-out":
        # The opt-out notice says what happens and that the visitor can opt out; a site words
        # it with its banner document's `opt_out_description` label.
        texts["description"] = texts["opt_out_description"]
    # The acknowledge button's label: "I agree" to a notice, "Close" on the opt-out notice
    texts["acknowledge"] = texts["close" if mode == "opt-out" else "agree"]
    material = service.last_material_versions(site.id, now)
    config: dict[str, Any] = {
        "site": site.id,
        "region": region,
        "mode": mode,
        "locale": locale,
        "dir": direction(locale),
        "texts": {key: texts[key] for key in ("title", "description", "acknowledge", *LABEL_KEYS)},
        "categories": [_category(category) for category in site.categories],
        "documents": [
            _document(site, documents[kind], requested or locale, material, base_url)
            for kind in POLICY_KINDS
            if kind in documents
        ],
        "banner_document": (
            {"version": banner.version, "sha256": banner.content_sha256} if banner else None
        ),
        "gpc": {
            "honour": site.honour_gpc,
            "required": gpc_required(region, now.date().isoformat()),
        },
        "consent_mode": {
            "enabled": bool(site.consent_mode.get("enabled")),
            "mapping": site.consent_mode.get("mapping", {}),
        },
        "consent_lifetime_days": site.consent_lifetime_days,
        "theme": site.theme or {},
        "cookie_domain": site.cookie_domain,
        "first_layer": first_layer(site, mode),
        "controller": {key: site.controller.get(key, "") for key in CONTROLLER_KEYS},
        # The widget fills in the record id and the subject token of a receipt it holds.
        "receipt_url": f"{base_url}/r/{site.id}/{{id}}?token={{subject_token}}",
    }
    config["revision"] = hashlib.sha256(canonical_json(config)).hexdigest()
    return config


def first_layer(site: Site, mode: str) -> list[str]:
    """The first layer's buttons for the visitor's mode, in order: the site's own choice where
    consent is asked (opt-in); "I agree" to a notice; on the opt-out notice "Do Not Sell or
    Share My Personal Information", "Limit the Use of My Sensitive Personal Information" when
    a choosable category is sensitive (Cal. Civ. Code § 1798.121, § 1798.135(a)), Settings, and
    Close, which acknowledges the notice."""
    if mode == "notice":
        return ["acknowledge"]
    if mode == "opt-out":
        sensitive = any(c.get("sensitive") and not c.get("required") for c in site.categories)
        return ["opt_out", *(["limit_sensitive"] if sensitive else []), "settings", "acknowledge"]
    return list(site.first_layer)


def _category(category: dict[str, Any]) -> dict[str, Any]:
    shaped = {
        key: category.get(key, False if key in CATEGORY_FLAGS else "") for key in CATEGORY_KEYS
    }
    shaped |= {key: category.get(key, empty()) for key, empty in CATEGORY_RECORDS.items()}
    shaped["cookies"] = [
        {key: cookie.get(key, "") for key in COOKIE_KEYS} for cookie in category.get("cookies", [])
    ]
    return shaped


def hosted_url(base_url: str, site_id: str, kind: str, version: int | None = None) -> str:
    url = f"{base_url}/p/{site_id}/{kind}"
    return url if version is None else f"{url}/v/{version}"


def _document(
    site: Site,
    doc: DocumentVersion,
    locale: str,
    material: dict[str, int],
    base_url: str,
) -> dict[str, Any]:
    text = doc.texts[match_locale(locale, doc.texts, doc.default_locale)]
    return {
        "kind": doc.kind,
        "version": doc.version,
        "sha256": doc.content_sha256,
        "title": text["title"],
        "url": site.policy_urls.get(doc.kind) or hosted_url(base_url, site.id, doc.kind),
        "material": doc.material,
        "last_material_version": material.get(doc.kind, 1),
        "summary": doc.summary,
        "published_at": isoformat(doc.published_at),
        "effective_at": isoformat(doc.effective_at),
        "diff_url": (
            hosted_url(base_url, site.id, doc.kind, doc.version) + "#changes"
            if doc.version > 1
            else None
        ),
    }


def consent_documents(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """From a banner config, the ``documents`` a consent must name: every policy shown and the
    banner text itself (what the widget's ``documentsOf`` sends)."""
    documents = {
        doc["kind"]: {"version": doc["version"], "sha256": doc["sha256"]}
        for doc in config["documents"]
    }
    if config.get("banner_document"):
        documents["banner"] = config["banner_document"]
    return documents
