"""What the Open Cookie Database says a cookie is, for the compliance linter.

The database (Apache-2.0) is vendored once, by the scanner (``service/scanner/data/``); this
reads that copy (or the file ``COOKIE_DATABASE`` names) and answers one question: which of its
categories a cookie name falls in. Names listed with ``Wildcard match`` 1 are prefixes.

A site declares cookies by name only, so entries that could name someone else's cookie are left
out: an entry tied to a domain (``sessionid`` on instagram.com), unless its name starts with an
underscore (trackers set ``_fbp`` and ``_ga`` on the visited site's own domain), and prefixes
shorter than three characters (``_s``, ``tp``), which would match half of all names.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
CANDIDATES = (
    PACKAGE / "scanner" / "data" / "open-cookie-database.csv",
    PACKAGE / "data" / "open-cookie-database" / "open-cookie-database.csv",
)
MIN_PREFIX = 3
CREDIT = "Open Cookie Database (Apache-2.0), https://github.com/jkwakman/Open-Cookie-Database"


@dataclass(frozen=True)
class CookieClass:
    category: str  # lower case: marketing, analytics, functional, necessary, security, ...
    platform: str


class CookieDatabase:
    def __init__(self, exact: dict[str, CookieClass], prefixes: list[tuple[str, CookieClass]]):
        self.exact = exact
        # Longest prefix first: the most specific entry wins.
        self.prefixes = sorted(prefixes, key=lambda item: -len(item[0]))

    def classify(self, name: str) -> CookieClass | None:
        found = self.exact.get(name)
        if found is not None:
            return found
        for prefix, entry in self.prefixes:
            if name.startswith(prefix):
                return entry
        return None


def database_path(configured: str | None = None) -> Path | None:
    if configured:
        return Path(configured)
    return next((path for path in CANDIDATES if path.exists()), None)


@cache
def load_database(path: Path) -> CookieDatabase:
    exact: dict[str, CookieClass] = {}
    prefixes: list[tuple[str, CookieClass]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            name = (row.get("Cookie / Data Key name") or "").strip()
            domain = (row.get("Domain") or "").strip()
            if not name or (domain and not name.startswith("_")):
                continue
            entry = CookieClass(row["Category"].strip().lower(), row["Platform"].strip())
            if (row.get("Wildcard match") or "0").strip() == "1":
                if len(name) >= MIN_PREFIX:
                    prefixes.append((name, entry))
            else:
                exact.setdefault(name, entry)
    return CookieDatabase(exact, prefixes)


def cookie_database(configured: str | None = None) -> CookieDatabase | None:
    """The database, or None when no copy is installed (the rule that needs it says so)."""
    path = database_path(configured)
    return load_database(path) if path is not None and path.exists() else None
