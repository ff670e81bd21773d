"""Banner preview: the real widget on a sample page, in sandboxed frames (desktop and 375 px)."""

from __future__ import annotations

from flask import render_template, request

from ...documents.locales import is_valid_locale
from ...documents.service import get_current
from ...errors import NotFound, Unprocessable
from ...sites.service import get_site
from .base import bp, page

# The sample page may be framed by the console (and only by it); otherwise as strict as the rest.
FRAME_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'self'; form-action 'none'; base-uri 'none'"
)


def preview_locale(site) -> str:
    locale = (request.args.get("locale") or site.default_locale).strip()
    if not is_valid_locale(locale):
        raise Unprocessable(f"'{locale[:40]}' is not a language tag (like en or pt-BR).")
    return locale


@bp.route("/sites/<site>/preview", endpoint="preview")
@page("documents:publish", "sites:admin")
def preview_page(site: str):
    row = get_site(site)
    try:
        locales = sorted(get_current(site, "banner").document.texts)
    except NotFound:  # no banner document yet: the widget's built-in texts
        locales = [row.default_locale]
    return render_template(
        "console/preview.html", site=site, locale=preview_locale(row), locales=locales
    )


@bp.route("/sites/<site>/preview/frame")
@page("documents:publish", "sites:admin")
def preview_frame(site: str):
    row = get_site(site)
    html = render_template(
        "console/preview_frame.html", site=site, locale=preview_locale(row), name=row.name
    )
    return html, 200, {"Content-Security-Policy": FRAME_CSP}
