"""Hosted policy pages: ``/p/{site}/{kind}`` (current) and ``/p/{site}/{kind}/v/{n}``.

Plain server-rendered HTML with no JavaScript: the text, its version and dates, what changed
since the previous version, and the version history. The banner links here unless the site
hosts its own pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from markupsafe import Markup

from ..documents import service
from ..documents.locales import direction, is_valid_locale
from ..documents.models import DocumentVersion
from ..sites.models import Site
from ..sites.service import get_site
from ..timeutil import as_utc, isoformat

bp = Blueprint(
    "policy_pages",
    __name__,
    url_prefix="/p",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"
)


def policy_page_csp(site: Site) -> str:
    """The page's policy; only the site's own pages may frame it (a policy shown in a dialog)."""
    ancestors = " ".join(["'self'", *site.allowed_origins])
    return f"{CONTENT_SECURITY_POLICY}; frame-ancestors {ancestors}"


@bp.app_template_filter("iso")
def iso_filter(value: datetime | None) -> str:
    return isoformat(value) if value else ""


@bp.app_template_filter("day")
def day_filter(value: datetime | None) -> str:
    """A date people read the same everywhere: 28 November 2026 (UTC)."""
    return f"{as_utc(value):%-d %B %Y}" if value else ""


@bp.get("/<site>/<kind>")
def current_policy(site: str, kind: str) -> Response:
    """The version in force now."""
    return _page(site, kind, service.get_current(site, kind))


@bp.get("/<site>/<kind>/v/<int:version>")
def policy_version(site: str, kind: str, version: int) -> Response:
    """One published version, current or not."""
    return _page(site, kind, service.get_version(site, kind, version))


def stored_diff(doc: DocumentVersion, version: service.LocalisedVersion) -> dict[str, Any] | None:
    """What changed since the version before, as rendered when ``doc`` was published."""
    previous = doc.rendered["previous"]
    stored = doc.rendered["locales"][version.locale]["diff"]
    if previous is None or stored is None:
        return None
    return {
        "from_version": previous,
        "title": {"before": stored["title_before"], "after": version.title},
        "changes": stored["changed"],
        "html": Markup(stored["html"]),  # sanitised by nh3 when it was rendered
    }


def _page(site_id: str, kind: str, state: service.VersionState) -> Response:
    site = get_site(site_id)
    requested = request.args.get("locale")
    if requested is not None and not is_valid_locale(requested):
        requested = None  # a page is for people: show the default rather than an error
    base = (current_app.config.get("PUBLIC_URL") or request.url_root).rstrip("/")
    version = service.localised(state, requested, base)
    history = service.list_versions(site_id, kind)
    doc = state.document
    diff = stored_diff(doc, version)
    current = next((item for item in history if item.current), None)
    html = render_template(
        "policy/page.html",
        site=site,
        kind=kind,
        kind_title=service.KIND_TITLES[kind],
        version=version,
        doc=doc,
        diff=diff,
        history=history,
        current=current,
        lang=version.locale,
        dir=direction(version.locale),
        canonical=(
            f"{base}/p/{site_id}/{kind}"
            if state.current
            else f"{base}/p/{site_id}/{kind}/v/{doc.version}"
        ),
        locales=sorted(doc.texts),
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = policy_page_csp(site)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "public, max-age=300"
    response.vary.add("Accept-Language")
    return response
