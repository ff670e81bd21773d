"""Document rules: drafts are edited freely; a published version is never changed or deleted.

Every change to a document's versions runs under the lock of its :class:`Document` row
(:func:`lock_document`), so concurrent editors are put in order instead of answered 409: two drafts
get consecutive numbers; a version is published once; a draft is never edited or deleted after
its publication. A 409 is left for what a lone editor would also get.

"Current" is derived, never stored: the published version with the highest number whose
``effective_at`` has passed. A version published for a future date therefore becomes current at
that moment with no job to run, and "superseded" is simply "published, effective, not current".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..activity.service import record
from ..errors import Conflict, NotFound, PayloadTooLarge, Unprocessable
from ..extensions import db
from ..ledger.vocabulary import DOCUMENT_KINDS
from ..sites.compliance import check_publication
from ..sites.models import Site
from ..sites.service import bump_config_version, get_site
from ..timeutil import as_utc, utcnow
from .content import MAX_BRACKET_DEPTH, MAX_CONTAINER_DEPTH, nesting, render_markdown
from .diff import diff_blocks
from .digest import canonical_json, content_sha256, normalise_texts
from .locales import LABEL_KEYS, is_valid_locale, match_locale
from .models import DRAFT, PUBLISHED, Document, DocumentVersion
from .rendered import Previous, render_publication

# A publication may not be backdated: consents already given never pointed at it.
BACKDATE_TOLERANCE = timedelta(minutes=5)
KIND_TITLES = {
    "privacy": "Privacy Policy",
    "terms": "Terms of Use",
    "cookies": "Cookie Policy",
    "banner": "Banner",
}


@dataclass(frozen=True)
class VersionState:
    """A version with the status derived at read time."""

    document: DocumentVersion
    status: str  # draft | scheduled | published (current) | superseded
    current: bool


@dataclass(frozen=True)
class LocalisedVersion:
    """A version with its texts in one locale, rendered to sanitised HTML."""

    document: DocumentVersion
    status: str
    current: bool
    locale: str
    title: str
    body: str
    html: str
    url: str


def localised(state: VersionState, locale: str | None, base_url: str) -> LocalisedVersion:
    """``state`` in the best locale for ``locale`` (exact, language, then the default)."""
    doc = state.document
    chosen = match_locale(check_locale(locale), doc.texts, doc.default_locale)
    text = doc.texts[chosen]
    html = published_html(doc, chosen)
    return LocalisedVersion(
        doc,
        state.status,
        state.current,
        chosen,
        text["title"],
        text["body"],
        render_markdown(text["body"]) if html is None else html,
        f"{base_url}/p/{doc.site_id}/{doc.kind}/v/{doc.version}",
    )


def published_html(doc: DocumentVersion, locale: str) -> str | None:
    """The HTML stored when ``doc`` was published (None for a draft, or a locale it lacks)."""
    stored = doc.rendered["locales"].get(locale) if doc.rendered else None
    return stored["html"] if stored else None


def check_kind(kind: str) -> str:
    if kind not in DOCUMENT_KINDS:
        raise NotFound(f"No document kind '{kind}'; the kinds are {', '.join(DOCUMENT_KINDS)}.")
    return kind


def check_locale(locale: str | None) -> str | None:
    """``None`` or a well-formed locale; anything else is a 422."""
    if locale is not None and not is_valid_locale(locale):
        raise Unprocessable(
            "The locale is not a valid language tag (e.g. 'en', 'fr-CA').",
            {"fields": {"locale": ["Not a valid language tag."]}},
        )
    return locale


def _site_and_kind(site_id: str, kind: str) -> Site:
    site = get_site(site_id)
    check_kind(kind)
    return site


def _versions_query(site_id: str, kind: str):
    return db.select(DocumentVersion).where(
        DocumentVersion.site_id == site_id, DocumentVersion.kind == kind
    )


def _effective(now: datetime):
    return (DocumentVersion.status == PUBLISHED) & (DocumentVersion.effective_at <= now)


def current_version(site_id: str, kind: str, now: datetime | None = None) -> DocumentVersion | None:
    """The published version in force at ``now`` (default: now), or None."""
    query = (
        _versions_query(site_id, kind)
        .where(_effective(now or utcnow()))
        .order_by(DocumentVersion.version.desc())
        .limit(1)
    )
    return db.session.execute(query).scalar_one_or_none()


def texts_in_force(site_id: str, now: datetime) -> dict[str, dict[str, Any]]:
    """The texts of each kind in force at ``now`` (the compliance rules read them)."""
    return {kind: doc.texts for kind, doc in current_documents(site_id, now).items()}


def current_documents(site_id: str, now: datetime) -> dict[str, DocumentVersion]:
    """The current version of every kind of the site, in one query."""
    rows = db.session.execute(
        db.select(DocumentVersion)
        .where(DocumentVersion.site_id == site_id, _effective(now))
        .order_by(DocumentVersion.kind, DocumentVersion.version.desc())
    ).scalars()
    current: dict[str, DocumentVersion] = {}
    for row in rows:
        current.setdefault(row.kind, row)
    return current


def last_material_versions(site_id: str, now: datetime) -> dict[str, int]:
    """Per kind, the newest published-and-effective version marked material."""
    rows = db.session.execute(
        db.select(DocumentVersion.kind, func.max(DocumentVersion.version))
        .where(DocumentVersion.site_id == site_id, _effective(now), DocumentVersion.material)
        .group_by(DocumentVersion.kind)
    )
    return {kind: version for kind, version in rows}


def next_scheduled_at(site_id: str, now: datetime) -> datetime | None:
    """When the next published-but-not-yet-effective version of the site takes effect."""
    value = db.session.execute(
        db.select(func.min(DocumentVersion.effective_at)).where(
            DocumentVersion.site_id == site_id,
            DocumentVersion.status == PUBLISHED,
            DocumentVersion.effective_at > now,
        )
    ).scalar_one_or_none()
    return as_utc(value) if value is not None else None


def _with_states(versions: list[DocumentVersion], current: int | None, now: datetime):
    states = []
    for doc in versions:
        if doc.status == DRAFT:
            status = DRAFT
        elif as_utc(doc.effective_at) > now:
            status = "scheduled"
        elif doc.version == current:
            status = PUBLISHED
        else:
            status = "superseded"
        states.append(VersionState(doc, status, doc.version == current))
    return states


def list_versions(site_id: str, kind: str, include_drafts: bool = False) -> list[VersionState]:
    """All versions of a document, newest first; drafts only for admins."""
    _site_and_kind(site_id, kind)
    query = _versions_query(site_id, kind).order_by(DocumentVersion.version.desc())
    if not include_drafts:
        query = query.where(DocumentVersion.status == PUBLISHED)
    versions = list(db.session.execute(query).scalars())
    now = utcnow()
    current = current_version(site_id, kind, now)
    return _with_states(versions, current.version if current else None, now)


def get_version(
    site_id: str, kind: str, version: int, include_drafts: bool = False
) -> VersionState:
    _site_and_kind(site_id, kind)
    doc = db.session.execute(
        _versions_query(site_id, kind).where(DocumentVersion.version == version)
    ).scalar_one_or_none()
    if doc is None or (doc.status == DRAFT and not include_drafts):
        raise NotFound(f"No version {version} of the {kind} document of site '{site_id}'.")
    now = utcnow()
    current = current_version(site_id, kind, now)
    return _with_states([doc], current.version if current else None, now)[0]


def get_current(site_id: str, kind: str) -> VersionState:
    _site_and_kind(site_id, kind)
    now = utcnow()
    doc = current_version(site_id, kind, now)
    if doc is None:
        raise NotFound(f"Site '{site_id}' has no published {kind} document yet.")
    return VersionState(doc, PUBLISHED, True)


def check_texts(kind: str, texts: dict[str, Any], default_locale: str) -> dict[str, Any]:
    """Normalised texts, or a 422 naming what is wrong (a 413 when they are too long)."""
    problems: dict[str, Any] = {}
    if not texts:
        problems["texts"] = ["Give the text of at least one locale."]
    for locale, entry in texts.items():
        if not is_valid_locale(locale):
            problems[locale] = ["Not a valid language tag."]
        elif kind != "banner" and entry.get("labels"):
            problems[locale] = ["Only the banner document has labels."]
        elif set(entry.get("labels") or {}) - set(LABEL_KEYS):
            problems[locale] = [f"Unknown labels; the labels are {', '.join(LABEL_KEYS)}."]
    if texts and default_locale not in texts:
        problems["default_locale"] = [f"The texts have no '{default_locale}' (default) locale."]
    if problems:
        raise Unprocessable("The document texts are not valid.", {"fields": problems})
    texts = normalise_texts({locale: _drop_empty_labels(entry) for locale, entry in texts.items()})
    empty = {
        locale: [f"The {name} is empty."]
        for locale, entry in texts.items()
        for name in ("title", "body")
        if not entry.get(name)
    }
    if empty:
        raise Unprocessable("The document texts are not valid.", {"fields": {"texts": empty}})
    check_markdown({locale: entry["body"] for locale, entry in texts.items()})
    limit = current_app.config["DOCUMENT_MAX_CONTENT_LENGTH"]
    if len(canonical_json(texts)) > limit:
        raise PayloadTooLarge(f"The document texts are larger than {limit} bytes.")
    return texts


def check_markdown(bodies: dict[str, str]) -> None:
    """Each Markdown body (by locale) within what is rendered whole and fast: at most
    ``DOCUMENT_MAX_MARKDOWN_CHARS`` characters (413), and nested at most
    :data:`~service.documents.content.MAX_CONTAINER_DEPTH` blockquotes or lists and
    :data:`~service.documents.content.MAX_BRACKET_DEPTH` open '[' (422)."""
    limit = current_app.config["DOCUMENT_MAX_MARKDOWN_CHARS"]
    long = {locale: len(body) for locale, body in bodies.items() if len(body) > limit}
    if long:
        raise PayloadTooLarge(
            f"A document body may have at most {limit} characters.",
            {"fields": {"texts": {loc: {"body": [f"{n} characters."]} for loc, n in long.items()}}},
        )
    deep = {}
    for locale, body in bodies.items():
        measured = nesting(body)
        problems = []
        if measured.containers > MAX_CONTAINER_DEPTH:
            problems.append(
                f"Blockquotes and lists nested {measured.containers} deep "
                f"(at most {MAX_CONTAINER_DEPTH})."
            )
        if measured.brackets > MAX_BRACKET_DEPTH:
            problems.append(
                f"{measured.brackets} '[' open at once in a paragraph (at most "
                f"{MAX_BRACKET_DEPTH}); write a bracket that opens no link as \\[."
            )
        if problems:
            deep[locale] = {"body": problems}
    if deep:
        raise Unprocessable(
            "The document text is nested too deeply to be rendered.", {"fields": {"texts": deep}}
        )


def _drop_empty_labels(entry: dict[str, Any]) -> dict[str, Any]:
    entry = dict(entry)
    if not entry.get("labels"):
        entry.pop("labels", None)
    return entry


def document_object(doc: DocumentVersion) -> str:
    """How the activity log names a document version."""
    return f"document:{doc.site_id}/{doc.kind}/v{doc.version}"


def lock_document(site_id: str, kind: str) -> None:
    """Hold the document's lock until the transaction ends, creating its row on first use:
    ``SELECT ... FOR UPDATE`` on PostgreSQL (a first insert waits for a concurrent one of the same
    row, then finds it); on SQLite the transaction is a write transaction and holds the lock
    already. Take it before reading what the change depends on."""
    documents = Document.__table__
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(documents)
        .values(site_id=site_id, kind=kind, created_at=utcnow())
        .on_conflict_do_nothing()
    )
    db.session.execute(
        db.select(documents.c.site_id)
        .where(documents.c.site_id == site_id, documents.c.kind == kind)
        .with_for_update()
    )


def create_draft(
    site_id: str, kind: str, texts: dict[str, Any], default_locale: str | None = None
) -> VersionState:
    """A new draft with the next version number (taken under the document's lock)."""
    site = _site_and_kind(site_id, kind)
    default_locale = default_locale or site.default_locale
    texts = check_texts(kind, texts, default_locale)
    lock_document(site_id, kind)
    doc = _add_draft(site_id, kind, texts, default_locale)
    db.session.commit()
    record("draft.created", document_object(doc), site=site_id)
    return VersionState(doc, DRAFT, False)


def _add_draft(
    site_id: str, kind: str, texts: dict[str, Any], default_locale: str
) -> DocumentVersion:
    """Add the next version as a draft; the caller holds the document's lock."""
    latest = db.session.execute(
        db.select(func.max(DocumentVersion.version)).where(
            DocumentVersion.site_id == site_id, DocumentVersion.kind == kind
        )
    ).scalar_one_or_none()
    doc = DocumentVersion(
        site_id=site_id,
        kind=kind,
        version=(latest or 0) + 1,
        texts=texts,
        default_locale=default_locale,
        content_sha256=content_sha256(kind, texts),
        status=DRAFT,
    )
    db.session.add(doc)
    db.session.flush()
    return doc


def _draft_for_change(site_id: str, kind: str, version: int, action: str) -> DocumentVersion:
    """The draft ``version``, under the document's lock; 409 once it is published."""
    _site_and_kind(site_id, kind)
    lock_document(site_id, kind)
    doc = get_version(site_id, kind, version, include_drafts=True).document
    if doc.status != DRAFT:
        raise Conflict(
            f"Version {version} of the {kind} document is published: it can never be {action}. "
            "Create a new version instead.",
            {"version": version, "status": PUBLISHED},
        )
    return doc


def update_draft(site_id: str, kind: str, version: int, changes: dict[str, Any]) -> VersionState:
    """Change a draft's texts or default locale; a published version answers 409."""
    doc = _draft_for_change(site_id, kind, version, "changed")
    default_locale = changes.get("default_locale", doc.default_locale)
    texts = check_texts(kind, changes.get("texts", doc.texts), default_locale)
    doc.texts = texts
    doc.default_locale = default_locale
    doc.content_sha256 = content_sha256(kind, texts)
    doc.updated_at = utcnow()
    db.session.commit()
    record("draft.edited", document_object(doc), site=site_id, details={"locales": sorted(texts)})
    return VersionState(doc, DRAFT, False)


def delete_draft(site_id: str, kind: str, version: int) -> None:
    doc = _draft_for_change(site_id, kind, version, "deleted")
    db.session.delete(doc)
    db.session.commit()
    record("draft.deleted", document_object(doc), site=site_id)


def publish_version(
    site_id: str,
    kind: str,
    version: int,
    material: bool = False,
    summary: str = "",
    effective_at: datetime | None = None,
    now: datetime | None = None,
) -> VersionState:
    """Publish a draft, now or at ``effective_at``. The first version is always material.
    ``now`` is the clock (default: the time now); ``make demo`` publishes its history with
    past clocks, so each version is published and takes effect on its day of the month."""
    _site_and_kind(site_id, kind)
    lock_document(site_id, kind)
    doc = get_version(site_id, kind, version, include_drafts=True).document
    state = _published_state(doc, _publish(doc, material, summary, effective_at, now))
    db.session.commit()
    record_publication(doc)
    return state


def record_publication(doc: DocumentVersion) -> None:
    details = {"material": doc.material, "summary": doc.summary[:300]}
    record("version.published", document_object(doc), site=doc.site_id, details=details)


def _published_state(doc: DocumentVersion, now: datetime) -> VersionState:
    """The state of ``doc`` just published, read in its transaction (nothing is read after the
    commit: that would start another write transaction)."""
    current = current_version(doc.site_id, doc.kind, now)
    return _with_states([doc], current.version if current else None, now)[0]


def _publish(
    doc: DocumentVersion,
    material: bool,
    summary: str,
    effective_at: datetime | None,
    now: datetime | None = None,
) -> datetime:
    """Publish the draft ``doc`` at ``now`` (default: the time now); the caller holds the
    document's lock. Returns the time of publication. 409 for a version published already, or
    older than one published."""
    site_id, kind, version = doc.site_id, doc.kind, doc.version
    if doc.status == PUBLISHED:
        raise Conflict(
            f"Version {version} of the {kind} document is already published.",
            {"version": version, "status": PUBLISHED},
        )
    now = as_utc(now) if now else utcnow()
    effective_at = as_utc(effective_at) if effective_at else now
    if effective_at < now - BACKDATE_TOLERANCE:
        raise Unprocessable(
            "A version cannot take effect in the past.",
            {"fields": {"effective_at": ["Must be now or later."]}},
        )
    later = db.session.execute(
        db.select(func.max(DocumentVersion.version)).where(
            DocumentVersion.site_id == site_id,
            DocumentVersion.kind == kind,
            DocumentVersion.status == PUBLISHED,
        )
    ).scalar_one_or_none()
    if later is not None and later > version:
        raise Conflict(
            f"Version {later} is already published; version {version} can no longer be.",
            {"version": version, "latest_published": later},
        )
    check_publication(get_site(site_id), kind, doc.texts)
    # A draft saved before the bounds existed is held to them before its one rendering.
    check_markdown({locale: entry["body"] for locale, entry in doc.texts.items()})
    doc.rendered = render_publication(doc.texts, _previous(doc, later))
    doc.status = PUBLISHED
    doc.material = material or later is None
    doc.summary = summary.strip()
    doc.effective_at = effective_at
    doc.published_at = now
    doc.updated_at = now
    bump_config_version(get_site(site_id))
    return now


def _previous(doc: DocumentVersion, version: int | None) -> Previous | None:
    """The published ``version`` before ``doc``, which its page shows the changes since."""
    if version is None:
        return None
    row = db.session.execute(
        _versions_query(doc.site_id, doc.kind).where(DocumentVersion.version == version)
    ).scalar_one()
    return Previous(row.version, row.texts, row.default_locale)


def publish_text(
    site_id: str,
    kind: str,
    texts: dict[str, Any],
    default_locale: str | None = None,
    material: bool = False,
    summary: str = "",
    effective_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[VersionState, bool]:
    """Policy as code: publish ``texts`` as a new version unless the latest published version
    already has this exact content. Returns the version and whether it was created. The check
    and the publication are one transaction under the document's lock: two runs of the same
    text publish it once."""
    site = _site_and_kind(site_id, kind)
    default_locale = default_locale or site.default_locale
    texts = check_texts(kind, texts, default_locale)
    digest = content_sha256(kind, texts)
    lock_document(site_id, kind)
    latest = db.session.execute(
        _versions_query(site_id, kind)
        .where(DocumentVersion.status == PUBLISHED)
        .order_by(DocumentVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is not None and latest.content_sha256 == digest:
        state = get_version(site_id, kind, latest.version)
        db.session.commit()  # nothing written: only the lock to release
        return state, False
    try:
        doc = _add_draft(site_id, kind, texts, default_locale)
        state = _published_state(doc, _publish(doc, material, summary, effective_at, now))
        db.session.commit()
    except BaseException:
        # A refused publication leaves no draft, even for a caller whose session goes on (a
        # command's, the demo's): the draft and its publication are one transaction.
        db.session.rollback()
        raise
    record("draft.created", document_object(doc), site=site_id)
    record_publication(doc)
    return state, True


def diff_versions(
    site_id: str,
    kind: str,
    version: int,
    against: int | None = None,
    include_drafts: bool = False,
    locale: str | None = None,
) -> dict[str, Any]:
    """What changed from ``against`` (default: the version before) to ``version``."""
    new = get_version(site_id, kind, version, include_drafts).document
    if against is None:
        against = version - 1
    if against < 1:
        raise NotFound(f"Version {version} of the {kind} document has no previous version.")
    old = get_version(site_id, kind, against, include_drafts).document
    locale = match_locale(check_locale(locale), new.texts, new.default_locale)
    before = old.texts.get(locale) or old.texts[old.default_locale]
    after = new.texts[locale]
    return {
        "site": site_id,
        "kind": kind,
        "from_version": against,
        "to_version": version,
        "locale": locale,
        "title": {"before": before["title"], "after": after["title"]},
        "changes": diff_blocks(before["body"], after["body"]),
    }
