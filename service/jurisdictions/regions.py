"""Regions and modes: which banner (opt-in, opt-out or notice) a visitor's region gets.

A region is an ISO 3166-1 alpha-2 country (``FR``) or an ISO 3166-2 subdivision (``US-CA``), or
None when unknown. A site maps regions to modes with ordered rules ``{match, mode}``: its own
``regions`` first, then the built-in pack (``data/default_regions.json``) unless the site turns
it off, then its ``default_mode``. The first rule that matches wins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import pycountry

MODES = ("opt-in", "opt-out", "notice")  # the ledger's MODES (ledger/chain.py), strictest first
# Strictest first: an unknown region gets the first of these the site uses.
STRICTNESS = {"opt-in": 0, "opt-out": 1, "notice": 2}
PACK_FILE = Path(__file__).resolve().parent / "data" / "default_regions.json"

EU = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})  # fmt: skip
EEA = EU | {"IS", "LI", "NO"}
GROUPS = {"EU": EU, "EEA": EEA}
COUNTRY = re.compile(r"^[A-Z]{2}$")
SUBDIVISION = re.compile(r"^([A-Z]{2})-([A-Z0-9]{1,3})$")


@dataclass(frozen=True)
class RegionRule:
    match: str
    mode: str


def is_country(code: str) -> bool:
    return COUNTRY.match(code) is not None and pycountry.countries.get(alpha_2=code) is not None


def is_subdivision(code: str) -> bool:
    return SUBDIVISION.match(code) is not None and pycountry.subdivisions.get(code=code) is not None


def valid_match(code: str) -> bool:
    """A rule's ``match``: ``*``, ``EU``, ``EEA``, a country or a subdivision (upper case)."""
    return code == "*" or code in GROUPS or is_country(code) or is_subdivision(code)


def normalise_region(value: str | None) -> str | None:
    """A region as a header or a query gives it, upper-cased and checked; None when it is not a
    real country or subdivision (CDNs send ``XX``, ``T1`` for Tor, or nothing)."""
    if not value or len(value) > 16:
        return None
    return _known_region(value.strip().upper())


@lru_cache(maxsize=4096)
def _known_region(code: str) -> str | None:
    return code if is_country(code) or is_subdivision(code) else None


def country_of(region: str) -> str:
    return region[:2]


def rule_matches(match: str, region: str) -> bool:
    """Whether a known ``region`` falls under the rule code ``match``."""
    if match == "*":
        return True
    if match in GROUPS:
        return country_of(region) in GROUPS[match]
    if len(match) == 2:
        return country_of(region) == match
    return region == match


@cache
def default_pack() -> dict[str, Any]:
    """The built-in pack: ``{version, note, rules: [{match, mode, law, source, url, effective,
    gpc_required_from}]}``."""
    return json.loads(PACK_FILE.read_text(encoding="utf-8"))


def pack_rules() -> tuple[RegionRule, ...]:
    return tuple(RegionRule(rule["match"], rule["mode"]) for rule in default_pack()["rules"])


def pack_entry(match: str) -> dict[str, Any] | None:
    return next((rule for rule in default_pack()["rules"] if rule["match"] == match), None)


def effective_rules(site_rules: Iterable[dict[str, str]], use_default: bool) -> list[RegionRule]:
    rules = [RegionRule(rule["match"], rule["mode"]) for rule in site_rules]
    return rules + list(pack_rules()) if use_default else rules


def strictest(modes: Iterable[str]) -> str:
    return min(modes, key=STRICTNESS.__getitem__)


def modes_used(rules: Sequence[RegionRule], default_mode: str) -> set[str]:
    return {rule.mode for rule in rules} | {default_mode}


def mode_for(rules: Sequence[RegionRule], default_mode: str, region: str | None) -> str:
    """The mode for ``region``: the first matching rule, else ``default_mode``.

    An unknown region gets the strictest mode the site uses. A country known without its
    subdivision (``US`` from a header that carries no state) gets the strictest of what its
    subdivisions' rules and the country itself would give, so a Californian whose CDN sends only
    the country is never shown less than California requires."""
    if region is None:
        return strictest(modes_used(rules, default_mode))
    mode = first_match(rules, region) or default_mode
    if len(region) == 2:
        prefix = region + "-"
        narrower = [rule.mode for rule in rules if rule.match.startswith(prefix)]
        if narrower:
            mode = strictest([mode, *narrower])
    return mode


def first_match(rules: Sequence[RegionRule], region: str) -> str | None:
    for rule in rules:
        if rule_matches(rule.match, region):
            return rule.mode
    return None


def region_name(region: str | None) -> str:
    """A human name for a region code (for pages and docs)."""
    if region is None:
        return "unknown region"
    if region in GROUPS:
        return {"EU": "European Union", "EEA": "European Economic Area"}[region]
    if region == "*":
        return "everywhere else"
    if len(region) == 2:
        country = pycountry.countries.get(alpha_2=region)
        return country.name if country else region
    subdivision = pycountry.subdivisions.get(code=region)
    return f"{subdivision.name}, {country_of(region)}" if subdivision else region


def site_rules(site: Any) -> list[RegionRule]:
    """A site's effective rules: its own, then the pack unless it opted out of it."""
    return effective_rules(site.regions or [], site.use_default_regions)


def site_rules_of(settings: Any) -> list[RegionRule]:
    """The same, from a site's settings as a mapping (the linter checks them before saving)."""
    return effective_rules(settings.get("regions") or [], settings.get("use_default_regions", True))


def site_mode(site: Any, region: str | None) -> str:
    return mode_for(site_rules(site), site.mode, region)


def gpc_required(region: str | None, today: str) -> bool:
    """Whether a law of the pack requires honouring Global Privacy Control for ``region`` on
    ``today`` (``YYYY-MM-DD``). An unknown region, or a country without its subdivision, counts
    as requiring it when any of its possible places does: the safe reading."""

    def requires(rule: dict[str, Any]) -> bool:
        start = rule.get("gpc_required_from")
        return start is not None and start <= today

    rules = default_pack()["rules"]
    if region is None:
        return any(requires(rule) for rule in rules)
    if len(region) == 2:
        return any(requires(r) for r in rules if r["match"].startswith(region + "-"))
    return any(requires(r) for r in rules if r["match"] == region)
