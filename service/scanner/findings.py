"""From what the pages did to findings: classification of cookies and requests, then the rules.

Each cookie and third-party request is put in one of the site's categories when something says
which: the site's own declarations first (declared cookie names, and the hosts of its gated
elements), then the Open Cookie Database (cookie names, and hosts by the domains of its cookies).
A thing is *necessary* when it falls in a required category; it *needs consent* when it falls in
another category or the database calls it analytics or marketing. Unknown things are listed but
only an undeclared cookie makes a finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..jurisdictions import cookiedb
from .browser import CookieSeen, PhaseObservation, RequestSeen

SEVERITIES = ("high", "medium", "low", "info")
FINDING_TYPES = (
    "set_before_choice",
    "set_after_refusal",
    "undeclared_cookie",
    "declared_not_seen",
    "category_mismatch",
    "gpc_ignored",
)
# The widget's own cookie: its consent state, strictly necessary wherever it is embedded.
WIDGET_COOKIE = "consentry"
TRACKER_KINDS = ("analytics", "marketing")


@dataclass
class Finding:
    type: str
    severity: str
    message: str
    page: str | None
    phase: str | None
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Placement:
    """Where a cookie or request falls: a site category (if any), a kind, and why."""

    category: str | None
    kind: str | None
    source: str | None  # "declaration", "database", "gated element", "widget" or None
    necessary: bool
    needs_consent: bool
    sale_or_sharing: bool
    database: dict[str, Any] | None = None


class Classifier:
    """The site's declarations and the database, asked together."""

    def __init__(self, categories: Iterable[Mapping[str, Any]]) -> None:
        self.categories = {str(c["id"]): dict(c) for c in categories}
        self.exact: dict[str, str] = {}
        self.prefixes: list[tuple[str, str]] = []
        for category in self.categories.values():
            for cookie in category.get("cookies") or []:
                name = str(cookie.get("name", ""))
                if name.endswith("*"):
                    self.prefixes.append((name[:-1], category["id"]))
                elif name:
                    self.exact.setdefault(name, category["id"])
        self.gated_hosts: dict[str, str] = {}
        self.gated_scripts: dict[str, str] = {}

    def learn_gated(self, page_url: str, observation: PhaseObservation) -> None:
        """Hosts and scripts of the page's gated elements are declarations of their category."""
        for element in observation.gated:
            if not element.src or len(element.categories) != 1:
                continue
            url = urljoin(page_url, element.src)
            self.gated_scripts.setdefault(url, element.categories[0])
            host = urlsplit(url).hostname
            if host and urlsplit(url)[:2] != urlsplit(page_url)[:2]:
                self.gated_hosts.setdefault(host, element.categories[0])

    def declared_category(self, name: str) -> str | None:
        if name in self.exact:
            return self.exact[name]
        for prefix, category in self.prefixes:
            if name.startswith(prefix):
                return category
        return None

    def category_of_kind(self, kind: str | None) -> str | None:
        """The site's first category of a kind (e.g. its marketing category)."""
        for category_id, category in self.categories.items():
            if kind and cookiedb.category_kind(category) == kind:
                return category_id
        return None

    def _placement(self, category: str | None, kind: str | None, source: str | None, database):
        chosen = self.categories.get(category) if category else None
        if chosen is not None:
            necessary = bool(chosen.get("required"))
            sale = bool(chosen.get("sale_or_sharing"))
            kind = cookiedb.category_kind(chosen) or kind
        else:
            necessary = kind == "necessary"
            sale = False
        needs_consent = not necessary and (chosen is not None or kind in TRACKER_KINDS)
        return Placement(category, kind, source, necessary, needs_consent, sale, database)

    def place_cookie(self, name: str, domain: str) -> Placement:
        match = cookiedb.classify(name, domain)
        database = match.as_dict() if match else None
        declared = self.declared_category(name)
        if declared is not None:
            return self._placement(
                declared, match.entry.kind if match else None, "declaration", database
            )
        if name == WIDGET_COOKIE:
            return Placement(None, "necessary", "widget", True, False, False, database)
        if match is not None:
            kind = match.entry.kind
            return self._placement(self.category_of_kind(kind), kind, "database", database)
        return Placement(None, None, None, False, False, False, None)

    def place_request(self, request: RequestSeen) -> Placement:
        category = self.gated_scripts.get(request.initiator or "") or self.gated_hosts.get(
            request.host
        )
        if category is not None:
            return self._placement(category, None, "gated element", None)
        host = cookiedb.classify_host(request.host)
        if host is not None:
            database = {"platform": host.platform, "category": host.category, "domain": host.domain}
            return self._placement(
                self.category_of_kind(host.category), host.category, "database", database
            )
        return Placement(None, None, None, False, False, False, None)


def cookie_evidence(cookie: CookieSeen, placement: Placement) -> dict[str, Any]:
    return {"cookie": asdict(cookie), "classification": asdict(placement)}


def request_evidence(request: RequestSeen, placement: Placement) -> dict[str, Any]:
    return {"request": asdict(request), "classification": asdict(placement)}


def _gated_evidence(element: Any) -> dict[str, Any]:
    return {"gated_element": asdict(element)}


@dataclass(frozen=True)
class Placed:
    """A cookie or request one visit saw, placed, with the words a finding says it with."""

    what: str  # "Cookie _ga (analytics) was set"
    after_choice: bool
    placement: Placement
    evidence: dict[str, Any]


def _placed(classifier: Classifier, seen: PhaseObservation) -> Iterator[Placed]:
    """The visit's cookies, then its requests, each with its placement."""
    for cookie in seen.cookies:
        placement = classifier.place_cookie(cookie.name, cookie.domain)
        what = f"Cookie {cookie.name} ({placement.category or placement.kind}) was set"
        yield Placed(what, cookie.after_choice, placement, cookie_evidence(cookie, placement))
    for request in seen.requests:
        placement = classifier.place_request(request)
        what = f"A request went to {request.host} ({placement.category or placement.kind})"
        yield Placed(what, request.after_choice, placement, request_evidence(request, placement))


def page_findings(
    classifier: Classifier, page_url: str, phases: Mapping[str, PhaseObservation], mode: str
) -> list[Finding]:
    """The findings one page's visits show (each rule on the phase it is about)."""
    found: list[Finding] = []
    none, reject, gpc = phases.get("none"), phases.get("reject"), phases.get("gpc")
    if none is not None and none.error is None and mode == "opt-in":
        found += _consent_breaches(classifier, page_url, none, "set_before_choice", False)
    if reject is not None and reject.error is None and reject.clicked:
        found += _consent_breaches(classifier, page_url, reject, "set_after_refusal", True)
    if gpc is not None and gpc.error is None:
        found += _gpc_breaches(classifier, page_url, gpc)
    return found


_MESSAGES = {
    "set_before_choice": "{what} before any choice was made",
    "set_after_refusal": "{what} after Reject all",
}


def _consent_breaches(
    classifier: Classifier, page: str, seen: PhaseObservation, kind: str, only_after: bool
) -> list[Finding]:
    found = []

    def breach(what: str, evidence: dict[str, Any]) -> None:
        message = _MESSAGES[kind].format(what=what)
        found.append(Finding(kind, "high", message, page, seen.phase, evidence))

    for item in _placed(classifier, seen):
        if item.placement.needs_consent and (item.after_choice or not only_after):
            breach(item.what, item.evidence)
    for element in seen.gated:
        optional = [
            c for c in element.categories if not classifier.categories.get(c, {}).get("required")
        ]
        if element.ran and optional:
            breach(f"A gated {element.tag} for {' '.join(optional)} ran", _gated_evidence(element))
    return found


def _gpc_breaches(classifier: Classifier, page: str, seen: PhaseObservation) -> list[Finding]:
    """With GPC on and no click, nothing of a sale/sharing category may run."""
    found = []

    def breach(what: str, evidence: dict[str, Any]) -> None:
        message = f"{what} with the Global Privacy Control signal on"
        found.append(Finding("gpc_ignored", "high", message, page, seen.phase, evidence))

    for item in _placed(classifier, seen):
        if item.placement.sale_or_sharing:  # only a site category sells or shares: it is named
            breach(item.what, item.evidence)
    for element in seen.gated:
        sold = [
            c for c in element.categories if classifier.categories.get(c, {}).get("sale_or_sharing")
        ]
        if element.ran and sold:
            breach(f"A gated {element.tag} for {' '.join(sold)} ran", _gated_evidence(element))
    return found


def site_findings(
    classifier: Classifier, pages: Iterable[tuple[str, Mapping[str, PhaseObservation]]]
) -> list[Finding]:
    """Findings about the declarations as a whole: undeclared, not seen, other category."""
    first_seen: dict[str, tuple[str, str, CookieSeen]] = {}
    for page_url, phases in pages:
        for phase, seen in phases.items():
            for cookie in seen.cookies:
                first_seen.setdefault(cookie.name, (page_url, phase, cookie))
    found = []
    for name, (page_url, phase, cookie) in first_seen.items():
        placement = classifier.place_cookie(name, cookie.domain)
        if placement.source in ("database", None):
            message = f"Cookie {name} is set but not declared in any category"
            found.append(
                Finding(
                    "undeclared_cookie",
                    "medium",
                    message,
                    page_url,
                    phase,
                    cookie_evidence(cookie, placement),
                )
            )
    found += _declared_not_seen(classifier, first_seen)
    found += _category_mismatches(classifier, first_seen)
    return found


def _declarations(classifier: Classifier) -> Iterable[tuple[str, dict[str, Any], dict[str, Any]]]:
    for category_id, category in classifier.categories.items():
        for cookie in category.get("cookies") or []:
            yield category_id, category, cookie


def _declared_not_seen(classifier: Classifier, seen: Mapping[str, Any]) -> list[Finding]:
    found = []
    for category_id, _category, cookie in _declarations(classifier):
        name = str(cookie.get("name", ""))
        prefix = name[:-1] if name.endswith("*") else None
        if name in seen or (prefix is not None and any(n.startswith(prefix) for n in seen)):
            continue
        message = f"Cookie {name} is declared in {category_id} but no scanned page set it"
        evidence = {"declaration": {"category": category_id, **cookie}}
        found.append(Finding("declared_not_seen", "info", message, None, None, evidence))
    return found


def _category_mismatches(classifier: Classifier, seen: Mapping[str, Any]) -> list[Finding]:
    found = []
    for category_id, category, cookie in _declarations(classifier):
        name = str(cookie.get("name", ""))
        declared_kind = cookiedb.category_kind(category)
        sighting = seen.get(name)
        match = cookiedb.classify(name.rstrip("*"), sighting[2].domain if sighting else None)
        if (
            match is None
            or declared_kind is None
            or cookiedb.kinds_agree(declared_kind, match.entry.kind)
        ):
            continue
        # A tracker filed as necessary escapes the consent it needs; other slips only mislabel.
        severity = (
            "high" if category.get("required") and match.entry.kind in TRACKER_KINDS else "low"
        )
        message = (
            f"Cookie {name} is declared in {category_id} ({declared_kind}); the Open Cookie "
            f"Database files it as {match.entry.kind} ({match.entry.platform})"
        )
        evidence = {"declaration": {"category": category_id, **cookie}, "database": match.as_dict()}
        page, phase = (sighting[0], sighting[1]) if sighting else (None, None)
        found.append(Finding("category_mismatch", severity, message, page, phase, evidence))
    return found


def verdict(findings: Iterable[Finding]) -> str:
    """``fail`` with any high finding, ``warn`` with medium or low ones, else ``clean``."""
    severities = {finding.severity for finding in findings}
    if "high" in severities:
        return "fail"
    if severities & {"medium", "low"}:
        return "warn"
    return "clean"
