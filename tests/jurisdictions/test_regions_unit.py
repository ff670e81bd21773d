"""Region rules, the built-in pack and region resolution, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from service.jurisdictions.regions import (
    EEA,
    EU,
    MODES,
    RegionRule,
    default_pack,
    effective_rules,
    gpc_required,
    mode_for,
    normalise_region,
    rule_matches,
    valid_match,
)
from service.jurisdictions.resolution import (
    RegionResolver,
    parse_region_headers,
    parse_trusted_proxies,
)

# The US states with a comprehensive consumer privacy law in force on 2026-12-04.
US_STATES_WITH_LAWS = {
    "CA", "VA", "CO", "CT", "UT", "TX", "OR", "MT", "IA", "DE", "NE", "NH", "NJ", "TN", "MN",
    "MD", "IN", "KY", "RI",
}  # fmt: skip
# States whose statute requires honouring a universal opt-out signal such as GPC, and from when.
GPC_STATES = {
    "US-CA": "2023-01-01", "US-CO": "2024-07-01", "US-CT": "2025-01-01", "US-TX": "2025-01-01",
    "US-MT": "2025-01-01", "US-NE": "2025-01-01", "US-NH": "2025-01-01", "US-NJ": "2025-07-15",
    "US-MN": "2025-07-31", "US-MD": "2025-10-01", "US-DE": "2026-01-01", "US-OR": "2026-01-01",
}  # fmt: skip


@pytest.mark.parametrize(
    ("match", "region", "expected"),
    [
        ("EU", "FR", True),
        ("EU", "GB", False),
        ("EU", "NO", False),
        ("EEA", "NO", True),
        ("EEA", "DE-BY", True),
        ("US", "US-CA", True),
        ("US", "US", True),
        ("US-CA", "US-CA", True),
        ("US-CA", "US-NY", False),
        ("US-CA", "US", False),
        ("*", "JP", True),
    ],
)
def test_a_rule_matches_its_own_places_only(match, region, expected):
    assert rule_matches(match, region) is expected


def test_the_eu_and_eea_lists_are_complete():
    assert len(EU) == 27 and "GB" not in EU and "CH" not in EU
    assert sorted(EEA - EU) == ["IS", "LI", "NO"]


@pytest.mark.parametrize("code", ["EU", "EEA", "FR", "US-CA", "*", "GB", "CA-QC"])
def test_valid_rule_codes(code):
    assert valid_match(code)


@pytest.mark.parametrize("code", ["ZZ", "US-ZZ", "eu", "FRA", "", "US_CA", "XX", "T1", "*A"])
def test_invalid_rule_codes(code):
    assert not valid_match(code)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("fr", "FR"), (" us-ca ", "US-CA"), ("XX", None), ("T1", None), ("", None), (None, None),
     ("US-CA-X", None), ("Ω", None), ("A" * 100, None)],
)  # fmt: skip
def test_header_values_are_normalised_or_refused(value, expected):
    assert normalise_region(value) == expected


SITE = [RegionRule("US-CA", "opt-out"), RegionRule("EU", "opt-in")]


def test_first_matching_rule_wins_then_the_default_mode():
    rules = [RegionRule("FR", "notice"), RegionRule("EU", "opt-in")]
    assert mode_for(rules, "opt-out", "FR") == "notice"
    assert mode_for(rules, "opt-out", "DE") == "opt-in"
    assert mode_for(rules, "opt-out", "BR") == "opt-out"


def test_an_unknown_region_gets_the_strictest_mode_the_site_uses():
    assert mode_for(SITE, "notice", None) == "opt-in"
    assert mode_for([RegionRule("US-CA", "opt-out")], "notice", None) == "opt-out"
    assert mode_for([], "notice", None) == "notice"


def test_a_country_without_its_subdivision_gets_the_strictest_of_its_subdivisions():
    assert mode_for(SITE, "notice", "US") == "opt-out"
    assert mode_for(SITE, "notice", "US-NY") == "notice"
    assert mode_for(SITE, "notice", "US-CA") == "opt-out"


def test_the_site_rules_come_before_the_pack():
    rules = effective_rules([{"match": "FR", "mode": "notice"}], use_default=True)
    assert mode_for(rules, "notice", "FR") == "notice"
    assert mode_for(rules, "notice", "DE") == "opt-in"
    assert mode_for(effective_rules([], use_default=False), "notice", "DE") == "notice"


def test_the_default_pack_is_opt_in_in_europe_and_opt_out_in_the_us_states_with_laws():
    rules = effective_rules([], use_default=True)
    for country in [*EEA, "GB", "CH"]:
        assert mode_for(rules, "notice", country) == "opt-in", country
    for state in US_STATES_WITH_LAWS:
        assert mode_for(rules, "notice", f"US-{state}") == "opt-out", state
    assert mode_for(rules, "notice", "US-NY") == "notice"
    assert mode_for(rules, "notice", "BR") == "notice"


def test_every_pack_entry_names_its_law_source_and_date_of_effect():
    rules = default_pack()["rules"]
    assert len({rule["match"] for rule in rules}) == len(rules)
    us = {rule["match"][3:] for rule in rules if rule["match"].startswith("US-")}
    assert us == US_STATES_WITH_LAWS
    for rule in rules:
        assert valid_match(rule["match"]) and rule["mode"] in MODES
        assert rule["law"] and rule["source"] and rule["url"].startswith("https://")
        date.fromisoformat(rule["effective"])
        if rule["gpc_required_from"] is not None:
            assert rule["gpc_required_from"] >= rule["effective"]
    assert {
        rule["match"]: rule["gpc_required_from"] for rule in rules if rule["gpc_required_from"]
    } == GPC_STATES


def test_gpc_is_required_from_each_laws_date():
    assert gpc_required("US-CA", "2026-12-04")
    assert not gpc_required("US-OR", "2025-12-31")
    assert gpc_required("US-OR", "2026-01-01")
    assert not gpc_required("US-VA", "2026-12-04")
    assert not gpc_required("FR", "2026-12-04")
    assert gpc_required("US", "2026-12-04")  # some state of the US requires it
    assert gpc_required(None, "2026-12-04")


CLOUDFRONT = ["CloudFront-Viewer-Country", "CloudFront-Viewer-Country-Region"]


def make_resolver(headers=None, trusted=("10.0.0.0/8", "2001:db8::/32"), override=False):
    sources = parse_region_headers(headers or ["CF-IPCountry", CLOUDFRONT])
    return RegionResolver(sources, parse_trusted_proxies(list(trusted)), override)


def environ(peer="10.1.2.3", **headers):
    return {"REMOTE_ADDR": peer} | {
        "HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()
    }


def test_headers_from_a_trusted_proxy_give_the_region():
    resolver = make_resolver(headers=[CLOUDFRONT, "CF-IPCountry"])
    both = environ(**dict(zip(CLOUDFRONT, ["US", "CA"], strict=True)))
    assert resolver.from_headers(both) == "US-CA"
    full = environ(**dict(zip(CLOUDFRONT, ["US", "US-TX"], strict=True)))
    assert resolver.from_headers(full) == "US-TX"
    assert resolver.from_headers(environ(**{"CF-IPCountry": "fr"})) == "FR"
    assert resolver.from_headers(environ("2001:db8::1", **{"CF-IPCountry": "DE"})) == "DE"


def test_a_bad_subdivision_keeps_the_country():
    resolver = make_resolver(headers=[CLOUDFRONT])
    env = environ(**{"CloudFront-Viewer-Country": "US", "CloudFront-Viewer-Country-Region": "ZZ"})
    assert resolver.from_headers(env) == "US"


def test_headers_from_anyone_else_are_ignored():
    resolver = make_resolver()
    assert resolver.from_headers(environ("203.0.113.7", **{"CF-IPCountry": "FR"})) is None
    assert resolver.from_headers(environ("not an address", **{"CF-IPCountry": "FR"})) is None
    assert resolver.from_headers({"HTTP_CF_IPCOUNTRY": "FR"}) is None
    nobody = make_resolver(trusted=())
    assert nobody.from_headers(environ(**{"CF-IPCountry": "FR"})) is None


def test_unknown_and_fake_values_are_an_unknown_region():
    resolver = make_resolver()
    for value in ("XX", "T1", "", "EU", "FR; DROP TABLE"):
        assert resolver.from_headers(environ(**{"CF-IPCountry": value})) is None


def test_the_region_override_counts_only_where_allowed():
    assert make_resolver(override=True).for_request(environ(), "us-ca") == "US-CA"
    assert make_resolver(override=False).for_request(environ(), "US-CA") is None


def test_vary_names_every_region_header():
    assert make_resolver().vary == ["CF-IPCountry", *CLOUDFRONT]


@pytest.mark.parametrize("value", [{"a": 1}, [["a", "b", "c"]], [3], [""]])
def test_bad_region_header_settings_are_refused(value):
    with pytest.raises(ValueError):
        parse_region_headers(value)


def test_trusted_proxies_accept_addresses_ranges_and_refuse_garbage():
    assert len(parse_trusted_proxies(["10.0.0.1", "192.168.0.0/16", "::1"])) == 3
    assert len(parse_trusted_proxies("10.0.0.1, 10.0.0.2")) == 2
    with pytest.raises(ValueError):
        parse_trusted_proxies(["10.0.0.300"])
    with pytest.raises(ValueError):
        parse_trusted_proxies({"a": 1})
