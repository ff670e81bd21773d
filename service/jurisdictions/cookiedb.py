"""The Open Cookie Database, vendored in ``data/open-cookie-database/``: classify cookies by name
and hosts by domain.

The database (Apache-2.0, see its ``SOURCE.md``) lists cookie names, or name prefixes when
``Wildcard match`` is 1, with the platform that sets them, a category, a retention period and the
data controller. Some entries name the domain the cookie lives on; an entry with a domain matches
only a cookie on that domain (``sessionid`` on instagram.com says nothing about a site's own
``sessionid``), except for underscore names such as ``_fbp``, which trackers set on the visited
site's own domain although the database files them under the tracker's.

``classify(name, domain)`` is the one entry point: the scanner classifies the cookies it sees,
the compliance linter the cookies a site declares (by name only, and with prefixes of at least
three characters: ``_s`` or ``tp`` would match half of all names).
"""

from __future__ import annotations

import csv
import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data" / "open-cookie-database"
DATABASE_FILE = DATA_DIR / "open-cookie-database.csv"
COLUMNS = (
    "ID",
    "Platform",
    "Category",
    "Cookie / Data Key name",
    "Domain",
    "Description",
    "Retention period",
    "Data Controller",
    "User Privacy & GDPR Rights Portals",
    "Wildcard match",
)
CREDIT = "Open Cookie Database (Apache-2.0), https://github.com/jkwakman/Open-Cookie-Database"

# Our four kinds of purpose, from the database's categories.
KINDS = ("necessary", "functional", "analytics", "marketing")
DATABASE_KINDS = {
    "necessary": "necessary",
    "security": "necessary",
    "functional": "functional",
    "personalization": "functional",
    "personalisation": "functional",
    "analytics": "analytics",
    "marketing": "marketing",
}
# Words in a site's category id or title that say which kind it is.
KIND_WORDS = {
    "necessary": ("necessary", "essential", "required", "security", "strictly"),
    "functional": (
        "functional",
        "functionality",
        "preferences",
        "personalisation",
        "personalization",
        "comfort",
    ),
    "analytics": ("analytics", "statistics", "stats", "measurement", "performance", "audience"),
    "marketing": ("marketing", "advertising", "ads", "targeting", "tracking", "social", "sale"),
}
_WORD = re.compile(r"[a-z]+")
_DOMAIN_SPLIT = re.compile(r"\s+or\s+|[,;\s]+")


@dataclass(frozen=True)
class CookieEntry:
    """One line of the database."""

    id: str
    platform: str
    category: str  # as the database spells it: Functional, Marketing, Analytics, ...
    name: str
    domains: tuple[str, ...]
    description: str
    retention: str
    controller: str
    privacy_url: str
    wildcard: bool

    @property
    def kind(self) -> str:
        """necessary, functional, analytics or marketing."""
        return DATABASE_KINDS.get(self.category.strip().lower(), "functional")


@dataclass(frozen=True)
class CookieMatch:
    """What the database says about one cookie: the entry and how it matched."""

    entry: CookieEntry
    match: str  # "exact" or "prefix"

    def as_dict(self) -> dict[str, Any]:
        entry = self.entry
        return {
            "database_id": entry.id,
            "platform": entry.platform,
            "category": entry.kind,
            "database_category": entry.category,
            "description": entry.description,
            "retention": entry.retention,
            "controller": entry.controller,
            "privacy_url": entry.privacy_url,
            "match": self.match,
            "pattern": entry.name + ("*" if entry.wildcard else ""),
        }


@dataclass(frozen=True)
class HostMatch:
    """What the database says about a host, from the domains its cookies live on."""

    domain: str
    platform: str
    category: str  # one of KINDS
    controller: str


def parse_domains(text: str) -> tuple[str, ...]:
    """The domains of a database entry: ``".bing.com (3rd party) or .microsoft.com (3rd party)"``
    gives ``("bing.com", "microsoft.com")``."""
    cleaned = text.lower().replace("(3rd party)", " ")
    parts = (part.strip().lstrip(".").strip() for part in _DOMAIN_SPLIT.split(cleaned))
    return tuple(part for part in parts if "." in part)


def host_in_domain(host: str, domain: str) -> bool:
    """True when ``host`` is ``domain`` or one of its subdomains."""
    host = host.lower().lstrip(".")
    return host == domain or host.endswith("." + domain)


def read_entries(path: Path = DATABASE_FILE) -> list[CookieEntry]:
    """Read and check a database CSV; raise ValueError when a column is missing."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in COLUMNS if column not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(missing)}")
        return [entry for row in reader if (entry := _entry(row)) is not None]


def _entry(row: Mapping[str, str | None]) -> CookieEntry | None:
    name = (row["Cookie / Data Key name"] or "").strip()
    if not name:
        return None
    return CookieEntry(
        id=(row["ID"] or "").strip(),
        platform=(row["Platform"] or "").strip(),
        category=(row["Category"] or "").strip(),
        name=name,
        domains=parse_domains(row["Domain"] or ""),
        description=(row["Description"] or "").strip(),
        retention=(row["Retention period"] or "").strip(),
        controller=(row["Data Controller"] or "").strip(),
        privacy_url=(row["User Privacy & GDPR Rights Portals"] or "").strip(),
        wildcard=(row["Wildcard match"] or "").strip() == "1",
    )


class CookieDatabase:
    """Indexes over the entries: exact names, prefixes (longest first), and domains."""

    def __init__(self, entries: Iterable[CookieEntry]) -> None:
        self.entries = list(entries)
        self.exact: dict[str, list[CookieEntry]] = {}
        prefixes: list[CookieEntry] = []
        for entry in self.entries:
            if entry.wildcard:
                prefixes.append(entry)
            else:
                self.exact.setdefault(entry.name, []).append(entry)
        self.prefixes = sorted(prefixes, key=lambda entry: len(entry.name), reverse=True)
        self.hosts = _host_index(self.entries)

    def classify(
        self, name: str, domain: str | None = None, min_prefix: int = 1
    ) -> CookieMatch | None:
        """The entry for cookie ``name`` on ``domain`` (exact name first, then the longest
        prefix of at least ``min_prefix`` characters)."""
        chosen = _pick(self.exact.get(name, ()), name, domain)
        if chosen is not None:
            return CookieMatch(chosen, "exact")
        candidates = [
            entry
            for entry in self.prefixes
            if len(entry.name) >= min_prefix and name.startswith(entry.name)
        ]
        chosen = _pick(candidates, name, domain)
        return CookieMatch(chosen, "prefix") if chosen is not None else None

    def classify_host(self, host: str) -> HostMatch | None:
        """The platform and kind of a host, by the most specific database domain it falls in."""
        labels = host.lower().strip(".").split(".")
        for start in range(len(labels) - 1):
            match = self.hosts.get(".".join(labels[start:]))
            if match is not None:
                return match
        return None


def _pick(entries: Iterable[CookieEntry], name: str, domain: str | None) -> CookieEntry | None:
    """Prefer an entry on the cookie's domain, then one for any domain, then (for ``_`` names)
    one on another domain."""
    anywhere = elsewhere = None
    for entry in entries:
        if not entry.domains:
            anywhere = anywhere or entry
        elif domain and any(host_in_domain(domain, d) for d in entry.domains):
            return entry
        else:
            elsewhere = elsewhere or entry
    if anywhere is not None:
        return anywhere
    return elsewhere if name.startswith("_") else None


_KIND_RANK = {"marketing": 0, "analytics": 1, "functional": 2, "necessary": 3}


def _host_index(entries: Iterable[CookieEntry]) -> dict[str, HostMatch]:
    """Per database domain: its most frequent kind (ties go to the more intrusive one) and the
    most frequent platform among that kind's entries."""
    by_domain: dict[str, list[CookieEntry]] = {}
    for entry in entries:
        for domain in entry.domains:
            by_domain.setdefault(domain, []).append(entry)
    index = {}
    for domain, listed in by_domain.items():
        kinds = Counter(entry.kind for entry in listed)
        kind = min(kinds, key=lambda k: (-kinds[k], _KIND_RANK[k]))
        platforms = Counter((e.platform, e.controller) for e in listed if e.kind == kind)
        (platform, controller), _count = platforms.most_common(1)[0]
        index[domain] = HostMatch(domain, platform, kind, controller)
    return index


@functools.lru_cache(maxsize=4)
def database(path: Path = DATABASE_FILE) -> CookieDatabase:
    """The vendored database (or another copy of it, ``COOKIE_DATABASE``), read once per
    process."""
    return CookieDatabase(read_entries(path))


def classify(name: str, domain: str | None = None) -> CookieMatch | None:
    """Classify a cookie (or web-storage key) by name, and by its domain when known."""
    return database().classify(name, domain)


def classify_host(host: str) -> HostMatch | None:
    """Classify a third-party host through the database's cookie domains."""
    return database().classify_host(host)


def category_kind(category: Mapping[str, Any]) -> str | None:
    """The kind (necessary, functional, analytics, marketing) a site category stands for, from
    its ``required`` flag, id and title; None when nothing says."""
    if category.get("required"):
        return "necessary"
    for text in (str(category.get("id", "")), str(category.get("title", ""))):
        words = set(_WORD.findall(text.lower()))
        for kind in KINDS:
            if words.intersection(KIND_WORDS[kind]):
                return kind
    if category.get("sale_or_sharing"):
        return "marketing"
    return None


def kinds_agree(declared: str, database_kind: str) -> bool:
    """Whether a cookie declared as ``declared`` fits what the database says. The database files
    many strictly necessary cookies (sessions, consent state) as Functional, so a necessary
    declaration of a functional cookie is not a contradiction."""
    return declared == database_kind or (declared, database_kind) == ("necessary", "functional")
