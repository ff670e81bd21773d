"""Running the compliance linter (:mod:`service.jurisdictions.linter`) where it matters: site
changes, region rule changes and publications.

Each check builds the facts as they would be after the change, lints them, refuses the change
on any error (422 ``compliance_violation`` with ``details.rules``) and returns the warnings. The
documents in force come from the documents feature, which sits above sites: it registers its
reader (:func:`register_documents_reader`) when it is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from ..errors import DomainError
from ..extensions import db
from ..jurisdictions import cookiedb
from ..jurisdictions.linter import Finding, SiteFacts, lint
from ..timeutil import utcnow

# The texts of each kind of document in force at a time: {kind: {locale: {title, body}}}.
DocumentsReader = Callable[[str, datetime], Mapping[str, Mapping[str, Any]]]

# The site settings the rules read (``mode`` is the stored name of ``default_mode``).
SETTINGS = (
    "mode",
    "regions",
    "use_default_regions",
    "categories",
    "consent_lifetime_days",
    "honour_gpc",
    "consent_mode",
    "policy_urls",
    "controller",
    "first_layer",
    "theme",  # widget v2 (i18), once the site has it
)


class ComplianceViolation(DomainError, status=422, code="compliance_violation"): ...


def site_settings(site: Any) -> dict[str, Any]:
    return {name: getattr(site, name) for name in SETTINGS if hasattr(site, name)}


def banner_texts(texts: Mapping[str, Any]) -> dict[str, str]:
    """A banner document's texts per locale, as the linter reads them (title and body)."""
    return {locale: f"{entry['title']}\n{entry['body']}" for locale, entry in texts.items()}


def site_facts(
    site_id: str,
    settings: Mapping[str, Any],
    replaced: Mapping[str, Mapping[str, Any]] | None = None,
) -> SiteFacts:
    """The facts of ``site_id`` with ``settings``; ``replaced`` gives the texts of documents
    about to be published (kind: texts), which count as in force."""
    now = utcnow()
    documents = dict(documents_in_force(site_id, now)) | dict(replaced or {})
    return SiteFacts(
        site_id=site_id,
        settings=settings,
        privacy_published="privacy" in documents,
        banner_texts=banner_texts(documents["banner"]) if "banner" in documents else {},
        today=now.date(),
        cookies=cookie_database(current_app.config.get("COOKIE_DATABASE")),
    )


def enforce(findings: list[Finding]) -> list[Finding]:
    """Refuse on any error; otherwise the warnings."""
    errors = [finding for finding in findings if finding.severity == "error"]
    if errors:
        raise ComplianceViolation(
            "This change would break the compliance rules: "
            + "; ".join(error.message for error in errors),
            {"rules": [finding.to_dict() for finding in findings]},
        )
    return findings


def check_site_settings(site_id: str, settings: Mapping[str, Any]) -> list[Finding]:
    """Lint a site's settings as they would be saved."""
    return enforce(lint(site_facts(site_id, settings)))


def check_publication(site: Any, kind: str, texts: Mapping[str, Any]) -> list[Finding]:
    """Lint ``site`` as it would be once ``texts`` of ``kind`` are published."""
    return enforce(lint(site_facts(site.id, site_settings(site), {kind: texts})))


def lint_site(site: Any) -> list[Finding]:
    """Every finding for ``site`` as it is (``consentry lint``, ``GET .../compliance``)."""
    findings = lint(site_facts(site.id, site_settings(site)))
    # End the read: on SQLite an open read transaction keeps its snapshot, and the session's
    # next write would then fail once another connection has written.
    db.session.commit()
    return findings


def warning_header(findings: list[Finding]) -> dict[str, str]:
    """The warnings of an accepted change, named in a response header."""
    ids = sorted({finding.id for finding in findings if finding.severity == "warning"})
    return {"Consentry-Compliance-Warnings": ", ".join(ids)} if ids else {}


def register_documents_reader(app: Flask, reader: DocumentsReader) -> None:
    app.extensions["consentry_documents_in_force"] = reader


def documents_in_force(site_id: str, now: datetime) -> Mapping[str, Mapping[str, Any]]:
    """The texts of the site's documents in force, or none without the documents feature."""
    reader = current_app.extensions.get("consentry_documents_in_force")
    return reader(site_id, now) if reader else {}


def cookie_database(configured: str | None) -> cookiedb.CookieDatabase | None:
    """The vendored Open Cookie Database, or the copy ``COOKIE_DATABASE`` names; None when that
    file is missing (the rule that needs it is then skipped)."""
    path = Path(configured) if configured else cookiedb.DATABASE_FILE
    return cookiedb.database(path) if path.exists() else None
