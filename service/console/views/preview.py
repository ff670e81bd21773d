"""Banner preview: the real widget on a sample page, in sandboxed frames (desktop and 375 px).

It shows the site's configuration as it is, or as a draft would make it: a banner text version
not in force yet (a draft or a scheduled one), and, for owners, unsaved settings (the settings
form's values, and theme colours edited here). A draft's config is built by the banner's own
builder from a copy of the site that is never saved, checked by the rules a save would apply; it
is handed to each frame on its element (``data-preview-config``), and the frame's guard answers
the widget's config request with it. Nothing is stored and the widget runs unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import g, render_template, request
from marshmallow import ValidationError

from ...documents.banner import build_banner_config
from ...documents.locales import is_valid_locale
from ...documents.models import DocumentVersion
from ...documents.service import current_documents, get_version, list_versions
from ...documents.views import base_url
from ...errors import DomainError, NotFound, Unprocessable
from ...sites.models import Site
from ...sites.schemas import SiteSchema, SiteSettingsSchema, normalise_origin
from ...sites.service import draft_site, get_site
from ...timeutil import utcnow
from .base import bp, page
from .forms import parse_int, problem_lines
from .sites import SETTINGS, messages_of, read_form

# The sample page may be framed by the console (and only by it); otherwise as strict as the rest,
# but for images from the site's own origins (a theme's logo must come from one of them).
FRAME_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{origins}; "
    "connect-src 'self'; frame-ancestors 'self'; form-action 'none'; base-uri 'none'"
)
# The theme settings this page edits directly (the settings page has the whole theme).
THEME_FIELDS = ("accent", "text", "background", "position", "radius")
POSITIONS = ("bar", "box", "modal")


@dataclass
class Draft:
    """What the frames show instead of the site as it is; empty: the site as it is."""

    banner: DocumentVersion | None = None  # a banner text version other than the current one
    settings: dict[str, str] = field(default_factory=dict)  # the settings form's raw values
    changed: list[str] = field(default_factory=list)  # the settings that differ
    problems: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.banner is not None or bool(self.changed)


def preview_locale(site: Site) -> str:
    locale = request.args.get("locale") or request.form.get("locale") or site.default_locale
    locale = locale.strip()
    if not is_valid_locale(locale):
        raise Unprocessable(f"'{locale[:40]}' is not a language tag (like en or pt-BR).")
    return locale


def banner_versions(site_id: str) -> list[Any]:
    """The banner text versions one may preview: newest first, drafts included."""
    try:
        return list_versions(site_id, "banner", include_drafts=True)
    except NotFound:
        return []


def chosen_banner(site_id: str) -> DocumentVersion | None:
    """The banner version asked for (``banner=N``: a draft, a scheduled or an older one), None
    for the one in force."""
    number = parse_int(request.values.get("banner"), "banner", low=1)
    if number is None:
        return None
    state = get_version(site_id, "banner", number, include_drafts=True)
    return None if state.current else state.document


def theme_changes(theme: dict[str, Any]) -> dict[str, Any]:
    """``theme`` with the fields edited on this page (an empty field unsets its setting)."""
    edited = {key: value for key, value in theme.items() if key not in THEME_FIELDS}
    for key in THEME_FIELDS:
        value = request.form.get(f"theme_{key}", "").strip()
        if value:
            edited[key] = value
    return edited


def draft_settings(site: Site, draft: Draft) -> Site:
    """The site with the submitted settings, checked as a save checks them; the site as it is
    when nothing was submitted or something is wrong (``draft.problems`` says what)."""
    schema = SiteSettingsSchema(partial=SETTINGS)
    submitted: dict[str, Any] = {}
    if request.form.get("settings") == "1":  # the settings form's own fields
        submitted, draft.problems = read_form(schema, SETTINGS)
        draft.settings = {name: request.form[name] for name in SETTINGS if name in request.form}
    if "theme_accent" in request.form:
        submitted["theme"] = theme_changes(submitted.get("theme", site.theme or {}))
    if draft.problems or not submitted:
        return site
    try:
        changes = schema.load(submitted)
        drafted = draft_site(site.id, changes)
    except ValidationError as error:
        draft.problems = messages_of(error)
        return site
    except DomainError as error:
        draft.problems = problem_lines(error)
        return site
    saved = as_loaded(schema, site, list(changes))
    draft.changed = sorted(name for name in changes if changes[name] != saved.get(name))
    return drafted


def as_loaded(schema: SiteSettingsSchema, site: Site, names: list[str]) -> dict[str, Any]:
    """The site's saved ``names`` as the form would load them (the schema fills defaults in), to
    tell the settings a draft changes from those it only repeats."""
    dumped = SiteSchema().dump(site)
    try:
        return schema.load({name: dumped[name] for name in names if name in dumped})
    except ValidationError:  # saved before a rule it now breaks: compare as stored
        return {name: getattr(site, name, None) for name in names}


def render_preview(site_id: str, draft: Draft, shown: Site):
    site = get_site(site_id)
    locale = preview_locale(site)
    versions = banner_versions(site_id)
    config = None
    if draft.active:
        now = utcnow()
        documents = current_documents(site_id, now)
        if draft.banner is not None:
            documents["banner"] = draft.banner
        config = build_banner_config(shown, locale, base_url(), now, None, documents)
    theme = shown.theme or {}
    # Origins the draft adds: the frame may show a draft logo from them too.
    drafted_origins = [
        origin for origin in shown.allowed_origins if origin not in site.allowed_origins
    ]
    return render_template(
        "console/preview.html",
        site=site_id,
        drafted_origins=drafted_origins,
        locale=locale,
        locales=preview_locales(site, versions),
        versions=versions,
        draft=draft,
        theme={key: theme.get(key, "") for key in THEME_FIELDS},
        positions=POSITIONS,
        can_draft_settings=g.console_user.can("sites:admin"),
        config=json.dumps(config, ensure_ascii=False, separators=(",", ":")) if config else None,
    ), (422 if draft.problems else 200)


def preview_locales(site: Site, versions: list[Any]) -> list[str]:
    locales = {locale for state in versions for locale in state.document.texts}
    return sorted(locales or {site.default_locale})


@bp.route("/sites/<site>/preview", endpoint="preview")
@page("documents:publish", "sites:admin")
def preview_page(site: str):
    return render_preview(site, Draft(banner=chosen_banner(site)), get_site(site))


@bp.route("/sites/<site>/preview", methods=["POST"], endpoint="preview_draft")
@page("sites:admin")
def preview_draft(site: str):
    """A draft of unsaved settings (the settings form's values, theme colours)."""
    draft = Draft(banner=chosen_banner(site))
    shown = draft_settings(get_site(site), draft)
    return render_preview(site, draft, shown)


MAX_DRAFTED_ORIGINS = 100  # as many as a site may have


def origins_from_draft() -> list[str]:
    """The origins a settings draft adds (``?origin=``, from the preview page), checked as a
    save checks them: the frame's images may come from them too (a draft logo), nothing else."""
    values = request.args.getlist("origin")
    if len(values) > MAX_DRAFTED_ORIGINS:
        raise Unprocessable(f"A draft previews at most {MAX_DRAFTED_ORIGINS} new origins.")
    try:
        return [normalise_origin(value) for value in values]
    except ValidationError as error:
        raise Unprocessable(
            f"Not an origin the settings would accept: {error.messages[0]}"
        ) from error


@bp.route("/sites/<site>/preview/frame")
@page("documents:publish", "sites:admin")
def preview_frame(site: str):
    row = get_site(site)
    html = render_template(
        "console/preview_frame.html", site=site, locale=preview_locale(row), name=row.name
    )
    origins = "".join(f" {origin}" for origin in [*row.allowed_origins, *origins_from_draft()])
    return html, 200, {"Content-Security-Policy": FRAME_CSP.format(origins=origins)}
