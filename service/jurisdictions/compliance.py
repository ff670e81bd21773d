"""Running the linter where it matters: site changes, region rule changes and publications.

Each check builds the facts as they would be after the change, lints them, refuses the change
on any error (422 ``compliance_violation`` with ``details.rules``) and returns the warnings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..database import write_transaction
from ..errors import DomainError
from ..extensions import db
from ..timeutil import utcnow
from .cookies import cookie_database
from .linter import Finding, SiteFacts, lint

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


class ComplianceViolation(DomainError):
    status = 422
    code = "compliance_violation"


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
    from ..documents.service import current_documents

    now = utcnow()
    documents = {kind: doc.texts for kind, doc in current_documents(site_id, now).items()}
    documents |= dict(replaced or {})
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


def check_publication(site_id: str, kind: str, texts: Mapping[str, Any]) -> list[Finding]:
    """Lint the site as it would be once ``texts`` of ``kind`` are published."""
    from ..sites.service import get_site

    settings = site_settings(get_site(site_id))
    return enforce(lint(site_facts(site_id, settings, {kind: texts})))


def lint_site(site_id: str) -> list[Finding]:
    """Every finding for the site as it is (``consentry lint``, ``GET .../compliance``)."""
    from ..sites.service import get_site

    findings = lint(site_facts(site_id, site_settings(get_site(site_id))))
    # End the read: on SQLite an open read transaction keeps its snapshot, and the session's
    # next write would then fail once another connection has written.
    db.session.commit()
    return findings


def warning_header(findings: list[Finding]) -> dict[str, str]:
    """The warnings of an accepted change, named in a response header."""
    ids = sorted({finding.id for finding in findings if finding.severity == "warning"})
    return {"Consentry-Compliance-Warnings": ", ".join(ids)} if ids else {}


def remember_revision(site_id: str, revision: str, config: bytes, now: datetime) -> None:
    """Keep what ``revision`` showed, once per site and revision (any worker may serve it
    first; the unique constraint keeps one row)."""
    from .models import BannerRevision

    write_transaction()  # served by a GET, whose own transaction only reads
    table = BannerRevision.__table__
    dialect = db.engine.dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(site_id=site_id, revision=revision, config=config, first_served_at=now)
        .on_conflict_do_nothing(index_elements=["site_id", "revision"])
    )
    db.session.execute(statement)
    db.session.commit()


def revision_configs(site_id: str, revisions: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The banner configs of ``revisions`` that were served (revision: config)."""
    from .models import BannerRevision

    wanted = sorted(set(revisions))
    if not wanted:
        return {}
    rows = db.session.execute(
        db.select(BannerRevision.revision, BannerRevision.config).where(
            BannerRevision.site_id == site_id, BannerRevision.revision.in_(wanted)
        )
    )
    return {revision: json.loads(config) for revision, config in rows}
