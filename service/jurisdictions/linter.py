"""The compliance linter: rules over a site's settings and documents, each with its legal source.

Pure functions over a :class:`SiteFacts` (no Flask, no database): ``lint(facts)`` returns the
findings of every rule. An ``error`` blocks the change that would cause it (422
``compliance_violation``); a ``warning`` is reported and allowed. docs/compliance.md lists the
rules; a test checks that it lists each one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from .cookiedb import CookieDatabase
from .regions import EEA, default_pack, mode_for, region_name, site_rules_of

CONSENT_MODE_V2 = ("ad_storage", "analytics_storage", "ad_user_data", "ad_personalization")
FIRST_LAYER_BUTTONS = ("accept_all", "reject_all", "settings")
THIRTEEN_MONTHS_DAYS = 395
SIX_MONTHS_DAYS = 183
TRACKING_CATEGORIES = ("marketing", "analytics")
DECLARED_MIN_PREFIX = 3  # ``_s`` or ``tp`` would match half of all cookie names
HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class SiteFacts:
    """What the rules read: the site's settings as they would be stored, its documents in force
    (after the change being checked), the day, and the cookie database when installed."""

    site_id: str
    settings: Mapping[str, Any]
    privacy_published: bool = False
    banner_texts: Mapping[str, str] = field(default_factory=dict)  # locale: banner text
    today: date = field(default_factory=date.today)
    cookies: CookieDatabase | None = None

    def mode(self, region: str | None) -> str:
        return mode_for(site_rules_of(self.settings), self.settings["mode"], region)

    @property
    def categories(self) -> list[dict[str, Any]]:
        return list(self.settings.get("categories") or [])

    @property
    def consent_lifetime_days(self) -> int:
        return self.settings.get("consent_lifetime_days", 180)  # the sites schema's default


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str  # "error" or "warning"
    message: str
    citation: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    summary: str  # what the rule refuses, for docs and the CLI
    citation: str
    check: Callable[[SiteFacts], Iterable[str]]  # yields one message per problem found


RULES: list[Rule] = []


def rule(rule_id: str, severity: str, summary: str, citation: str):
    def register(check: Callable[[SiteFacts], Iterable[str]]):
        RULES.append(Rule(rule_id, severity, summary, citation, check))
        return check

    return register


def lint(facts: SiteFacts) -> list[Finding]:
    """Every rule's findings, errors first."""
    findings = [
        Finding(r.id, r.severity, message, r.citation) for r in RULES for message in r.check(facts)
    ]
    return sorted(findings, key=lambda finding: finding.severity != "error")


# Regions


def opt_in_places() -> list[str]:
    """Every country where the built-in pack requires prior consent."""
    places = []
    for entry in default_pack()["rules"]:
        if entry["mode"] == "opt-in":
            places += sorted(EEA) if entry["match"] in ("EU", "EEA") else [entry["match"]]
    return list(dict.fromkeys(places))


def opt_out_places(today: date) -> list[dict[str, Any]]:
    """The pack's opt-out entries whose law is in force on ``today``."""
    return [
        entry
        for entry in default_pack()["rules"]
        if entry["mode"] == "opt-out" and entry["effective"] <= today.isoformat()
    ]


def serves_opt_in_region(facts: SiteFacts) -> bool:
    return any(facts.mode(place) == "opt-in" for place in opt_in_places())


@rule(
    "opt-in-region-without-consent",
    "error",
    "A region whose law requires prior consent (EU/EEA, UK, Switzerland) gets notice or opt-out.",
    "Directive 2002/58/EC art. 5(3); GDPR art. 4(11), 6(1)(a), 7; EDPB Guidelines 05/2020 "
    "§§ 79-86 (continuing to browse is not consent); PECR reg. 6; CJEU C-673/17 Planet49",
)
def check_opt_in_regions(facts: SiteFacts) -> Iterator[str]:
    wrong: dict[str, list[str]] = {}
    for place in opt_in_places():
        mode = facts.mode(place)
        if mode != "opt-in":
            wrong.setdefault(mode, []).append(place)
    for mode, places in wrong.items():
        yield (
            f"Visitors from {', '.join(places)} would get the '{mode}' banner; the law there "
            "requires consent before non-essential cookies (mode 'opt-in')."
        )


@rule(
    "opt-out-region-with-notice",
    "error",
    "A US state with a consumer privacy law gets a notice without a 'Do Not Sell or Share' choice.",
    "Cal. Civ. Code §§ 1798.120, 1798.135; and each state's act, listed in the region pack",
)
def check_opt_out_regions(facts: SiteFacts) -> Iterator[str]:
    for entry in opt_out_places(facts.today):
        if facts.mode(entry["match"]) == "notice":
            yield (
                f"Visitors from {region_name(entry['match'])} would get the notice banner; the "
                f"{entry['law']} ({entry['source']}) gives them a right to opt out: use "
                "'opt-out' or 'opt-in' there."
            )


# Categories


@rule(
    "pre-ticked-category",
    "error",
    "A category that is not required is ticked in advance where consent is required.",
    "CJEU C-673/17 Planet49 (2019) § 62-65; GDPR recital 32; EDPB Guidelines 05/2020 § 79",
)
def check_pre_ticked(facts: SiteFacts) -> Iterator[str]:
    if not serves_opt_in_region(facts):
        return
    for category in facts.categories:
        if category.get("preselected") and not category.get("required"):
            yield (
                f"The category '{category['id']}' is ticked in advance; in opt-in regions "
                "silence or a pre-ticked box is not consent."
            )


@rule(
    "reject-not-on-first-layer",
    "error",
    "Refusing is not offered on the banner's first layer where consent is required.",
    "CNIL deliberation 2020-091 art. 2 and 2020-092 § 31-35; EDPB Cookie Banner Taskforce "
    "report (2023) § 2-6; GDPR art. 7(3) (as easy to refuse as to give)",
)
def check_first_layer(facts: SiteFacts) -> Iterator[str]:
    buttons = facts.settings.get("first_layer") or list(FIRST_LAYER_BUTTONS)
    if "reject_all" not in buttons and serves_opt_in_region(facts):
        yield (
            "The first layer has no 'Reject all' button: in opt-in regions refusing must be "
            "as easy as accepting, on the same layer."
        )


@rule(
    "required-category-tracks",
    "error",
    "A required (always on) category declares cookies the Open Cookie Database classes as "
    "marketing or analytics.",
    "Directive 2002/58/EC art. 5(3) (only strictly necessary storage is exempt); Article 29 "
    "Working Party Opinion 04/2012 on cookie consent exemption",
)
def check_required_cookies(facts: SiteFacts) -> Iterator[str]:
    if facts.cookies is None:
        return
    for category in facts.categories:
        if not category.get("required"):
            continue
        for cookie in category.get("cookies") or []:
            # Declared by name only: no domain, and no prefix too short to say anything.
            found = facts.cookies.classify(cookie["name"], min_prefix=DECLARED_MIN_PREFIX)
            if found is not None and found.entry.kind in TRACKING_CATEGORIES:
                yield (
                    f"The required category '{category['id']}' declares '{cookie['name']}', "
                    f"which the Open Cookie Database lists as {found.entry.kind} "
                    f"({found.entry.platform}): move it to a category visitors can refuse."
                )


@rule(
    "no-sale-or-sharing-category",
    "warning",
    "The site serves opt-out regions but no category is marked sale_or_sharing, so 'Do Not "
    "Sell or Share' and GPC switch nothing off.",
    "Cal. Civ. Code § 1798.120; 11 CCR § 7025",
)
def check_sale_categories(facts: SiteFacts) -> Iterator[str]:
    serves_opt_out = any(facts.mode(e["match"]) == "opt-out" for e in opt_out_places(facts.today))
    if serves_opt_out and not any(c.get("sale_or_sharing") for c in facts.categories):
        yield "No category is marked sale_or_sharing; mark those that sell or share data."


@rule(
    "category-without-purpose",
    "warning",
    "An optional category declares no purpose (needed for informed consent and the records).",
    "GDPR art. 13(1)(c); ISO/IEC TS 27560:2023 (purpose is a mandatory field)",
)
def check_purposes(facts: SiteFacts) -> Iterator[str]:
    for category in facts.categories:
        if not category.get("required") and not category.get("purposes"):
            yield f"The category '{category['id']}' declares no purposes."


# Lifetime, GPC, Consent Mode


@rule(
    "consent-lifetime-over-13-months",
    "error",
    "A choice is kept more than 13 months where consent is required.",
    "CNIL deliberation 2020-091 art. 2 and its recommendation 2020-092 § 50 (13 months at most "
    "for the cookies, choices renewed at regular intervals)",
)
def check_lifetime(facts: SiteFacts) -> Iterator[str]:
    days = facts.consent_lifetime_days
    if days > THIRTEEN_MONTHS_DAYS and serves_opt_in_region(facts):
        yield (
            f"consent_lifetime_days is {days}; in the EU a choice must be asked again within 13 "
            f"months ({THIRTEEN_MONTHS_DAYS} days)."
        )


@rule(
    "consent-lifetime-over-6-months",
    "warning",
    "A choice is kept more than 6 months where consent is required (the CNIL's advice).",
    "CNIL recommendation 2020-092 § 50 (keeping a refusal for 6 months is advised)",
)
def check_six_months(facts: SiteFacts) -> Iterator[str]:
    days = facts.consent_lifetime_days
    if SIX_MONTHS_DAYS < days <= THIRTEEN_MONTHS_DAYS and serves_opt_in_region(facts):
        yield f"consent_lifetime_days is {days}; the CNIL advises asking again after 6 months."


@rule(
    "gpc-not-honoured",
    "error",
    "Global Privacy Control is not honoured although a state the site serves requires it.",
    "11 CCR § 7025; C.R.S. § 6-1-1306(1)(a)(IV); and each state's act (region pack, "
    "gpc_required_from)",
)
def check_gpc(facts: SiteFacts) -> Iterator[str]:
    if facts.settings.get("honour_gpc", True):
        return
    today = facts.today.isoformat()
    states = [
        entry["match"]
        for entry in default_pack()["rules"]
        if entry.get("gpc_required_from") and entry["gpc_required_from"] <= today
    ]
    if states:
        yield (
            f"honour_gpc is false, but {', '.join(states)} require honouring Global Privacy "
            "Control as an opt-out of sale and sharing."
        )


@rule(
    "consent-mode-v2-signal-missing",
    "error",
    "Google Consent Mode is enabled without one of the v2 signals mapped.",
    "Google Consent Mode v2 (ad_user_data, ad_personalization, required for EEA traffic since "
    "2024-03-06 under the EU Digital Markets Act, Regulation (EU) 2022/1925 art. 5(2))",
)
def check_consent_mode(facts: SiteFacts) -> Iterator[str]:
    consent_mode = facts.settings.get("consent_mode") or {}
    if not consent_mode.get("enabled"):
        return
    missing = [s for s in CONSENT_MODE_V2 if s not in (consent_mode.get("mapping") or {})]
    if missing:
        yield (
            f"Consent Mode is enabled but its mapping leaves out {', '.join(missing)}: map each "
            "to the categories that allow it, or to [] to always deny it."
        )


# Documents and notice


@rule(
    "no-privacy-policy",
    "warning",
    "No privacy policy is published, so the banner has none to link.",
    "GDPR art. 12-13; Cal. Civ. Code § 1798.130(a)(5); ISO/IEC TS 27560:2023 (privacy notice is "
    "a mandatory field)",
)
def check_privacy_policy(facts: SiteFacts) -> Iterator[str]:
    if not facts.privacy_published and not facts.banner_texts:
        yield (
            "Publish a privacy policy (kind 'privacy'; policy_urls.privacy can point the link to "
            "your own page)."
        )


@rule(
    "banner-without-privacy-link",
    "warning",
    "A banner text asks for a choice, but the first layer links no privacy policy (the widget "
    "links the published policies under the text).",
    "GDPR art. 12(1), 13 (information given when the data is obtained, easily accessible); "
    "EDPB Guidelines 05/2020 § 64-66; 11 CCR § 7013",
)
def check_banner_link(facts: SiteFacts) -> Iterator[str]:
    if facts.banner_texts and not facts.privacy_published:
        locales = ", ".join(sorted(facts.banner_texts))
        yield (
            f"The banner text ({locales}) is shown without a link to a privacy policy: publish "
            "one (kind 'privacy')."
        )


@rule(
    "no-controller",
    "warning",
    "The site does not say who the controller is (name and contact).",
    "GDPR art. 13(1)(a)-(b); ISO/IEC TS 27560:2023 (pii controller is a mandatory field); "
    "Kantara Consent Receipt v1.1 (piiControllers)",
)
def check_controller(facts: SiteFacts) -> Iterator[str]:
    controller = facts.settings.get("controller") or {}
    if not controller.get("name") or not (controller.get("email") or controller.get("contact")):
        yield "Declare the controller: at least its name and an e-mail or contact."


# Theme


def relative_luminance(colour: str) -> float:
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.x contrast ratio of two ``#rgb``/``#rrggbb`` colours (1 to 21)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@rule(
    "text-contrast",
    "error",
    "The theme's text (or accent, used for buttons and links) has a contrast under 4.5:1 with "
    "its background.",
    "WCAG 2.2 success criterion 1.4.3 (AA); EN 301 549 § 9.1.4.3; European Accessibility Act "
    "(Directive (EU) 2019/882)",
)
def check_contrast(facts: SiteFacts) -> Iterator[str]:
    theme = facts.settings.get("theme") or {}
    background = theme.get("background")
    if not isinstance(background, str) or not HEX_COLOUR.match(background):
        return
    for key in ("text", "accent"):
        colour = theme.get(key)
        if isinstance(colour, str) and HEX_COLOUR.match(colour):
            ratio = contrast_ratio(colour, background)
            if ratio < 4.5:
                yield (
                    f"theme.{key} {colour} on theme.background {background} has a contrast of "
                    f"{ratio:.2f}:1; WCAG AA needs at least 4.5:1."
                )
