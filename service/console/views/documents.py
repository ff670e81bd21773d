"""Documents: versions per kind with their status, the draft editor (per locale, with the
rendered preview and the diff against the current version), publishing and deleting drafts."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, redirect, render_template, request, url_for
from markupsafe import Markup

from ...documents import service as documents
from ...documents.content import render_markdown
from ...documents.diff import diff_blocks, render_changes
from ...documents.locales import is_valid_locale
from ...documents.models import DRAFT
from ...errors import DomainError, NotFound, Unprocessable, accepts_body_up_to, envelope
from ...ledger.vocabulary import DOCUMENT_KINDS
from ...sites.service import get_site
from .base import bp, page
from .forms import problem_lines

STATUS_LABELS = {
    "draft": "draft",
    "scheduled": "scheduled",
    "published": "current",
    "superseded": "superseded",
}


def check_kind(kind: str) -> str:
    if kind not in DOCUMENT_KINDS:
        raise NotFound(
            f"There is no '{kind[:40]}' document kind; the kinds are {', '.join(DOCUMENT_KINDS)}."
        )
    return kind


@bp.route("/sites/<site>/documents", endpoint="documents")
@page("documents:publish", "audit:read")
def documents_index(site: str):
    get_site(site)
    kinds = {
        kind: documents.list_versions(site, kind, include_drafts=True) for kind in DOCUMENT_KINDS
    }
    return render_template("console/documents.html", site=site, kinds=kinds, labels=STATUS_LABELS)


@bp.route("/sites/<site>/documents/render", methods=["POST"])
@page("documents:publish")
@accepts_body_up_to("DOCUMENT_MAX_CONTENT_LENGTH")
def render_preview(site: str):
    """The editor's live preview: Markdown rendered and sanitised as the hosted pages do."""
    get_site(site)
    body = request.form.get("body", "")
    try:
        documents.check_markdown({"body": body})
    except DomainError as error:  # the editor shows the message in place of the preview
        return Response(envelope(error), status=error.status, mimetype="application/json")
    return {"html": render_markdown(body)}


def rendered_draft(
    body: str, before: str | None, stored: str | None = None
) -> tuple[Markup, Markup | None]:
    """A version's preview (``stored`` when published) and its changes since ``before`` (the
    current text, if any); a text beyond the Markdown bounds is not rendered: the preview says
    why."""
    try:
        documents.check_markdown({"body": body})
    except DomainError as error:
        if stored is not None:
            return Markup(stored), None
        return Markup('<p class="notice">{}</p>').format(f"No preview: {error.message}"), None
    changes = None if before is None else render_changes(diff_blocks(before, body))
    return Markup(stored if stored is not None else render_markdown(body)), changes


@bp.route("/sites/<site>/documents/<kind>/drafts", methods=["POST"])
@page("documents:publish")
def new_draft(site: str, kind: str):
    """A new draft, starting from the current text (or a stub for a first version)."""
    check_kind(kind)
    site_row = get_site(site)
    try:
        base = documents.get_current(site, kind).document
        texts, default_locale = base.texts, base.default_locale
    except NotFound:
        default_locale = site_row.default_locale
        title = documents.KIND_TITLES[kind]
        texts = {default_locale: {"title": title, "body": f"Write the {title.lower()} here."}}
    state = documents.create_draft(site, kind, texts, default_locale)
    return redirect(
        url_for("console.document_version", site=site, kind=kind, version=state.document.version)
    )


def current_for_diff(site: str, kind: str):
    try:
        return documents.get_current(site, kind).document
    except NotFound:
        return None


def pick_locale(doc, requested: str | None) -> str:
    if requested and is_valid_locale(requested):
        return requested
    if requested:
        raise Unprocessable(f"'{requested[:40]}' is not a language tag (like en or pt-BR).")
    return doc.default_locale


@bp.route("/sites/<site>/documents/<kind>/<int:version>")
@page("documents:publish", "audit:read")
def document_version(site: str, kind: str, version: int, errors=None, draft_text=None):
    check_kind(kind)
    state = documents.get_version(site, kind, version, include_drafts=True)
    doc = state.document
    locale = pick_locale(doc, request.values.get("locale"))
    text = draft_text or doc.texts.get(locale) or {"title": "", "body": ""}
    current = current_for_diff(site, kind)
    before = None
    if current is not None and current.version != doc.version:
        before = (current.texts.get(locale) or current.texts[current.default_locale])["body"]
    # A published version's HTML was rendered (and sanitised) when it was published.
    stored = documents.published_html(doc, locale) if draft_text is None else None
    preview, changes = rendered_draft(text.get("body", ""), before, stored)
    return render_template(
        "console/document.html",
        site=site,
        kind=kind,
        state=state,
        doc=doc,
        locale=locale,
        text=text,
        preview=preview,
        current=current,
        changes=changes,
        labels=STATUS_LABELS,
        errors=errors or [],
        saved=request.args.get("saved") == "1",
        is_draft=doc.status == DRAFT,
    ), (422 if errors else 200)


@bp.route("/sites/<site>/documents/<kind>/<int:version>", methods=["POST"])
@page("documents:publish")
@accepts_body_up_to("DOCUMENT_MAX_CONTENT_LENGTH")
def save_draft(site: str, kind: str, version: int):
    check_kind(kind)
    doc = documents.get_version(site, kind, version, include_drafts=True).document
    locale = pick_locale(doc, request.form.get("locale"))
    entry = {
        **doc.texts.get(locale, {}),
        "title": request.form.get("title", ""),
        "body": request.form.get("body", ""),
    }
    texts = {**doc.texts, locale: entry}
    try:
        documents.update_draft(site, kind, version, {"texts": texts})
    except DomainError as error:
        return document_version(
            site=site, kind=kind, version=version, errors=problem_lines(error), draft_text=entry
        )
    return redirect(
        url_for(
            "console.document_version",
            site=site,
            kind=kind,
            version=version,
            locale=locale,
            saved=1,
        )
    )


def parse_effective(value: str | None) -> datetime | None:
    """A ``datetime-local`` value, read as UTC; empty means now."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise Unprocessable(f"'{value[:40]}' is not a date and time.") from None


@bp.route("/sites/<site>/documents/<kind>/<int:version>/publish", methods=["POST"])
@page("documents:publish")
def publish(site: str, kind: str, version: int):
    check_kind(kind)
    try:
        documents.publish_version(
            site,
            kind,
            version,
            material="material" in request.form,
            summary=request.form.get("summary", "")[:1000],
            effective_at=parse_effective(request.form.get("effective_at")),
        )
    except DomainError as error:
        return document_version(site=site, kind=kind, version=version, errors=problem_lines(error))
    return redirect(url_for("console.document_version", site=site, kind=kind, version=version))


@bp.route("/sites/<site>/documents/<kind>/<int:version>/delete", methods=["POST"])
@page("documents:publish")
def delete(site: str, kind: str, version: int):
    check_kind(kind)
    documents.delete_draft(site, kind, version)
    return redirect(url_for("console.documents", site=site))
