"""A scan report built by the real scanner code from the observations of one leaky page."""

from __future__ import annotations

import time

from service.scanner.browser import CookieSeen, PhaseObservation, RequestSeen
from service.scanner.findings import Classifier, page_findings, site_findings
from service.scanner.report import build_report
from service.scanner.scan import PageResult, ScanOptions, ScanOutcome

CATEGORIES = [
    {"id": "necessary", "title": "Necessary", "required": True, "cookies": [{"name": "consentry"}]},
    {"id": "analytics", "title": "Analytics", "cookies": [{"name": "_ga"}]},
]


def scan_report(site: str = "news-example") -> dict:
    """A report built by the real code from observations of one leaky page."""
    url = "https://news.example.com/"
    ga = CookieSeen(
        "_ga", ".news.example.com", "/", None, False, False, "Lax", url + "a.js", "script"
    )
    pixel = RequestSeen("https://ads.pubmatic.com/p.gif", "ads.pubmatic.com", "image", None, False)
    phases = {"none": PhaseObservation("none", url, url, True, cookies=[ga], requests=[pixel])}
    classifier = Classifier(CATEGORIES)
    page = PageResult(url, phases, page_findings(classifier, url, phases, "opt-in"))
    now = time.time()
    outcome = ScanOutcome(
        site,
        "opt-in",
        ("none",),
        [page],
        site_findings(classifier, [(url, phases)]),
        [],
        None,
        now,
        now + 3,
        "Chromium test",
    )
    return build_report(outcome, ScanOptions([url]), CATEGORIES)
