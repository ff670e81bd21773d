"""Scan reports: run a scan of a site, sign and store its report, list, read and verify them.

A report is stored as its canonical JSON with a detached Ed25519 signature; the compact JWS
(``typ`` ``consentry-scan+jws``) is rebuilt from both, so anyone can check a report against the
JWKS at ``/.well-known/jwks.json``. The console calls these functions too.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import render_template

from ..activity.service import record
from ..crypto.jws import attach_signature, detached_signature, sign_compact, verify_compact
from ..errors import NotFound
from ..extensions import db
from ..ledger.canonical import canonical_json
from ..signing import keyring
from ..sites.service import get_site
from .models import ScanReport
from .report import build_report
from .scan import Progress, ScanOptions, ScanOutcome, run_scan

SCAN_TYP = "consentry-scan+jws"
REPORT_CSS = (Path(__file__).resolve().parent / "templates" / "scanner" / "report.css").read_text(
    encoding="utf-8"
)
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class CompletedScan:
    row: ScanReport
    outcome: ScanOutcome
    report: dict[str, Any]


def site_config(site_id: str) -> dict[str, Any]:
    """What the scanner needs of a site (404 when it does not exist)."""
    site = get_site(site_id)
    return {
        "id": site.id,
        "allowed_origins": list(site.allowed_origins),
        "categories": list(site.categories),
        "mode": site.mode,
        "honour_gpc": site.honour_gpc,
    }


def scan_site(site_id: str, options: ScanOptions, progress: Progress | None = None):
    """Scan the site, then sign and store the report; a CompletedScan."""
    config = site_config(site_id)
    db.session.rollback()  # no transaction stays open through a long scan
    outcome = run_scan(config, options, progress)
    report = build_report(outcome, options, config["categories"])
    return CompletedScan(store_report(site_id, report), outcome, report)


def store_report(site_id: str, report: dict[str, Any]) -> ScanReport:
    """Sign ``report`` (canonical JSON) with the current key and append it."""
    payload = canonical_json(report)
    key = keyring().current
    token = sign_compact(payload, key, SCAN_TYP)
    summary = report["summary"]
    row = ScanReport(
        site_id=site_id,
        verdict=summary["verdict"],
        pages=summary["pages"],
        findings=sum(summary["findings"].values()),
        stopped=report.get("stopped"),
        report=payload.decode("utf-8"),
        report_sha256=hashlib.sha256(payload).hexdigest(),
        kid=key.kid,
        signature=detached_signature(token),
    )
    db.session.add(row)
    db.session.commit()
    details = {"verdict": row.verdict, "pages": row.pages, "findings": row.findings}
    record("scan.stored", f"scan:{row.id}", site=site_id, details=details)
    return row


def report_jws(row: ScanReport) -> str:
    """The compact JWS of a stored report."""
    return attach_signature(row.report.encode("utf-8"), row.kid, row.signature, SCAN_TYP)


def report_document(row: ScanReport) -> dict[str, Any]:
    return json.loads(row.report)


def list_reports(site_id: str, limit: int = DEFAULT_PAGE_SIZE, before: int | None = None):
    """The site's reports, newest first."""
    get_site(site_id)
    query = db.select(ScanReport).where(ScanReport.site_id == site_id)
    if before is not None:
        query = query.where(ScanReport.id < before)
    return list(db.session.execute(query.order_by(ScanReport.id.desc()).limit(limit)).scalars())


# Report ids are 32-bit integers on PostgreSQL; a larger one names no report.
MAX_REPORT_ID = 2**31 - 1


def get_report(site_id: str, report_id: int) -> ScanReport:
    get_site(site_id)
    row = db.session.get(ScanReport, report_id) if report_id <= MAX_REPORT_ID else None
    if row is None or row.site_id != site_id:
        raise NotFound(f"Scan report {report_id} of site '{site_id}' not found.")
    return row


def verify_report(token: str) -> dict[str, Any]:
    """Check a report's JWS against the published keys; its report, or InvalidReceipt."""
    return json.loads(verify_compact(token, keyring().public_key, SCAN_TYP))


def report_detail(row: ScanReport) -> dict[str, Any]:
    """A stored report with its summary, its JWS and the document itself (the API's answer)."""
    return {
        "id": row.id,
        "site": row.site_id,
        "created_at": row.created_at,
        "verdict": row.verdict,
        "pages": row.pages,
        "findings": row.findings,
        "stopped": row.stopped,
        "report_sha256": row.report_sha256,
        "kid": row.kid,
        "jws": report_jws(row),
        "report": report_document(row),
    }


def style_hash() -> str:
    digest = hashlib.sha256(REPORT_CSS.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def html_policy() -> str:
    """The report page's CSP: no script at all, only its own stylesheet (by hash)."""
    return (
        f"default-src 'none'; style-src '{style_hash()}'; img-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


def render_report_html(row: ScanReport) -> str:
    """A readable, self-contained page of the report (no script; works under a strict CSP)."""
    report = report_document(row)
    by_page: dict[str | None, list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        by_page.setdefault(finding["page"], []).append(finding)
    return render_template(
        "scanner/report.html",
        row=row,
        report=report,
        by_page=by_page,
        css=REPORT_CSS,
        jws=report_jws(row),
    )
