"""The scan report: a JSON document (schema in docs/scanner.md) built from a ScanOutcome.

Only JSON types canonical JSON accepts (no floats): times are RFC 3339 strings, durations
milliseconds. The report names the database that classified it, with its licence and checksum.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from ..jurisdictions import cookiedb
from .findings import SEVERITIES, Classifier, verdict
from .scan import ScanOptions, ScanOutcome

REPORT_TYPE = "consentry-scan-report"
REPORT_VERSION = 1


def _time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def database_note() -> dict[str, Any]:
    digest = hashlib.sha256(cookiedb.DATABASE_FILE.read_bytes()).hexdigest()
    return {
        "name": "Open Cookie Database",
        "licence": "Apache-2.0",
        "url": "https://github.com/jkwakman/Open-Cookie-Database",
        "sha256": digest,
        "entries": len(cookiedb.database().entries),
    }


def build_report(
    outcome: ScanOutcome, options: ScanOptions, categories: list[dict[str, Any]]
) -> dict[str, Any]:
    """The report document of a finished (or stopped) scan."""
    findings = [finding.as_dict() for finding in outcome.findings]
    for number, finding in enumerate(findings, start=1):
        finding["id"] = f"F{number}"
    counts = {severity: 0 for severity in SEVERITIES}
    for finding in findings:
        counts[finding["severity"]] += 1
    return {
        "type": REPORT_TYPE,
        "version": REPORT_VERSION,
        "site": outcome.site,
        "mode": outcome.mode,
        "started_at": _time(outcome.started_at),
        "finished_at": _time(outcome.finished_at),
        "duration_ms": int((outcome.finished_at - outcome.started_at) * 1000),
        "scanner": {"name": "consentry", "browser": outcome.browser_version},
        "database": database_note(),
        "options": {
            "start_urls": list(options.start_urls),
            "max_pages": options.max_pages,
            "timeout_seconds": int(options.timeout),
            "region": options.region,
        },
        "phases": list(outcome.phases),
        "stopped": outcome.stopped,
        "refused": outcome.refused,
        "pages": [_page(page) for page in outcome.pages],
        "cookies": _cookie_inventory(outcome, categories),
        "findings": findings,
        "summary": {
            "verdict": verdict(outcome.findings),
            "pages": len(outcome.pages),
            "findings": counts,
        },
    }


def _page(page) -> dict[str, Any]:
    phases = {}
    for name, observation in page.phases.items():
        data = asdict(observation)
        data.pop("links")
        phases[name] = data
    return {
        "url": page.url,
        "verdict": page.verdict,
        "error": page.error,
        "notes": page.notes,
        "findings": len(page.findings),
        "phases": phases,
    }


def _cookie_inventory(outcome: ScanOutcome, categories: list[dict[str, Any]]) -> list[dict]:
    """Every cookie seen, once per name and domain, with its classification and where seen."""
    classifier = Classifier(categories)
    inventory: dict[tuple[str, str], dict[str, Any]] = {}
    for page in outcome.pages:
        for phase, observation in page.phases.items():
            for cookie in observation.cookies:
                key = (cookie.name, cookie.domain)
                if key not in inventory:
                    placement = classifier.place_cookie(cookie.name, cookie.domain)
                    inventory[key] = {
                        "name": cookie.name,
                        "domain": cookie.domain,
                        "category": placement.category,
                        "kind": placement.kind,
                        "source": placement.source,
                        "declared": placement.source == "declaration",
                        "database": placement.database,
                        "expires": cookie.expires,
                        "seen": [],
                    }
                where = {"page": page.url, "phase": phase}
                if where not in inventory[key]["seen"]:
                    inventory[key]["seen"].append(where)
    return sorted(inventory.values(), key=lambda item: (item["name"], item["domain"]))
