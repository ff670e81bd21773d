"""The compliance linter: each rule refusing and passing, through the API, on publication and in
``consentry lint``."""

from __future__ import annotations

import json
from datetime import date

import pytest

from service.extensions import db
from service.jurisdictions.cookiedb import database as load_database
from service.jurisdictions.linter import DECLARED_MIN_PREFIX, RULES, SiteFacts, contrast_ratio, lint
from service.sites.models import Site
from tests.helpers.documents import draft_and_publish

SITE = "/api/v1/sites/news-example"
WARNINGS = "Consentry-Compliance-Warnings"
FULL_MAPPING = {
    "ad_storage": ["marketing"],
    "analytics_storage": ["analytics"],
    "ad_user_data": ["marketing"],
    "ad_personalization": ["marketing"],
}
OCD_HEADER = (
    "ID,Platform,Category,Cookie / Data Key name,Domain,Description,Retention period,"
    "Data Controller,User Privacy & GDPR Rights Portals,Wildcard match\n"
)


@pytest.fixture
def cookie_csv(app, tmp_path):
    """A small Open Cookie Database in its own format, for the app to read."""
    path = tmp_path / "ocd.csv"
    path.write_text(
        OCD_HEADER
        + "1,Google Analytics,Analytics,_ga,,ID,2 years,Google,https://g,0\n"
        + "2,Facebook,Marketing,_fbp,facebook.com,Ads,3 months,Meta,https://f,0\n"
        + "3,Hotjar,Analytics,_hjSession_,,Session,30 minutes,Hotjar,https://h,1\n"
        + "4,Instagram,Functional,sessionid,instagram.com,Login,1 year,Meta,https://i,0\n"
        + "5,Someone,Analytics,_s,,Short prefix,1 day,X,https://x,1\n",
        encoding="utf-8",
    )
    app.config["COOKIE_DATABASE"] = str(path)
    return path


@pytest.fixture
def site(make_site):
    return make_site("news-example", default_mode="notice")


def refused(response, rule_id):
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "compliance_violation"
    rules = {finding["id"]: finding for finding in error["details"]["rules"]}
    assert rules[rule_id]["severity"] == "error"
    assert rules[rule_id]["citation"] and rules[rule_id]["message"]
    return rules


def categories(**changes):
    base = [
        {"id": "necessary", "title": "Necessary", "required": True, "cookies": []},
        {"id": "analytics", "title": "Analytics", "purposes": ["Measure"]},
        {"id": "marketing", "title": "Ads", "sale_or_sharing": True, "purposes": ["Ads"]},
    ]
    for category in base:
        category.update(changes.get(category["id"], {}))
    return base


@pytest.mark.parametrize(
    ("rule_id", "bad", "good"),
    [
        ("opt-in-region-without-consent", {"regions": [{"match": "EU", "mode": "notice"}]},
         {"regions": [{"match": "BR", "mode": "notice"}]}),
        ("opt-in-region-without-consent", {"regions": [{"match": "GB", "mode": "opt-out"}]},
         {"regions": [{"match": "GB", "mode": "opt-in"}]}),
        ("opt-in-region-without-consent", {"use_default_regions": False},
         {"use_default_regions": False, "regions": [{"match": "EEA", "mode": "opt-in"},
                                                    {"match": "GB", "mode": "opt-in"},
                                                    {"match": "CH", "mode": "opt-in"},
                                                    {"match": "US", "mode": "opt-out"}]}),
        ("opt-out-region-with-notice", {"regions": [{"match": "US", "mode": "notice"}]},
         {"regions": [{"match": "US", "mode": "opt-out"}]}),
        ("opt-out-region-with-notice", {"regions": [{"match": "US-TX", "mode": "notice"}]},
         {"regions": [{"match": "US-TX", "mode": "opt-in"}]}),
        ("pre-ticked-category", {"categories": categories(analytics={"preselected": True})},
         {"categories": categories(necessary={"preselected": True})}),
        ("reject-not-on-first-layer", {"first_layer": ["accept_all", "settings"]},
         {"first_layer": ["reject_all", "accept_all"]}),
        ("consent-lifetime-over-13-months", {"consent_lifetime_days": 396},
         {"consent_lifetime_days": 395}),
        ("gpc-not-honoured", {"honour_gpc": False}, {"honour_gpc": True}),
        ("consent-mode-v2-signal-missing",
         {"consent_mode": {"enabled": True, "mapping": {"ad_storage": ["marketing"],
                                                        "analytics_storage": ["analytics"]}}},
         {"consent_mode": {"enabled": True, "mapping": FULL_MAPPING}}),
    ],
)  # fmt: skip
def test_each_error_refuses_the_change_and_its_fix_passes(client, admin, site, rule_id, bad, good):
    before = client.get(SITE, headers=admin).get_json()
    refused(client.patch(SITE, json=bad, headers=admin), rule_id)
    assert client.get(SITE, headers=admin).get_json() == before  # nothing was saved
    accepted = client.patch(SITE, json=good, headers=admin)
    assert accepted.status_code == 200, accepted.get_json()
    assert rule_id not in accepted.headers.get(WARNINGS, "")


def test_a_new_site_breaking_a_rule_is_not_created(client, admin):
    response = client.post(
        "/api/v1/sites",
        json={"id": "bad", "name": "Bad", "allowed_origins": ["https://bad.example"],
              "use_default_regions": False, "default_mode": "notice"},
        headers=admin,
    )  # fmt: skip
    refused(response, "opt-in-region-without-consent")
    assert client.get("/api/v1/sites/bad", headers=admin).status_code == 404


def test_a_required_category_may_not_declare_tracking_cookies(client, admin, site, cookie_csv):
    for name, platform in (("_ga", "Google Analytics"), ("_hjSession_123", "Hotjar")):
        cookies = [{"name": name}]
        bad = client.patch(
            SITE, json={"categories": categories(necessary={"cookies": cookies})}, headers=admin
        )
        message = refused(bad, "required-category-tracks")["required-category-tracks"]["message"]
        assert name in message and platform in message
    # Unknown names, a name tied to another domain, and a too short prefix say nothing.
    harmless = [{"name": n} for n in ("session", "sessionid", "_session", "consentry")]
    ok = client.patch(
        SITE, json={"categories": categories(necessary={"cookies": harmless})}, headers=admin
    )
    assert ok.status_code == 200, ok.get_json()
    # The same tracking cookie is fine in a category visitors can refuse.
    tracked = categories(analytics={"cookies": [{"name": "_ga"}]})
    assert client.patch(SITE, json={"categories": tracked}, headers=admin).status_code == 200


def test_the_underscore_names_of_trackers_match_whatever_domain_the_database_gives(cookie_csv):
    database = load_database(cookie_csv)
    assert database.classify("_fbp").entry.kind == "marketing"
    assert database.classify("sessionid") is None
    assert database.classify("_something", min_prefix=DECLARED_MIN_PREFIX) is None
    assert database.classify("_something").entry.name == "_s"  # what the scanner would say


def test_warnings_are_reported_and_allowed(client, admin, site):
    response = client.patch(
        SITE,
        json={"consent_lifetime_days": 300, "categories": categories(marketing={"purposes": []})},
        headers=admin,
    )
    assert response.status_code == 200
    warnings = set(response.headers[WARNINGS].split(", "))
    assert {"consent-lifetime-over-6-months", "category-without-purpose"} <= warnings
    assert {"no-controller", "no-privacy-policy"} <= warnings


def test_declaring_the_controller_and_publishing_a_policy_clear_their_warnings(client, admin, site):
    controller = {"name": "Example Ltd", "email": "privacy@example.com"}
    response = client.patch(SITE, json={"controller": controller}, headers=admin)
    assert "no-controller" not in response.headers.get(WARNINGS, "")
    report = client.get(SITE + "/compliance", headers=admin).get_json()
    assert "no-privacy-policy" in {finding["id"] for finding in report["rules"]}
    draft_and_publish(client, admin, "privacy")
    report = client.get(SITE + "/compliance", headers=admin).get_json()
    assert report["ok"] is True
    assert "no-privacy-policy" not in {finding["id"] for finding in report["rules"]}


def test_a_banner_text_without_a_privacy_policy_is_a_warning(client, admin, site):
    version = client.post(
        SITE + "/documents/banner/versions",
        json={"texts": {"en": {"title": "Cookies", "body": "We use cookies."}}},
        headers=admin,
    ).get_json()["version"]
    published = client.post(
        SITE + f"/documents/banner/versions/{version}/publish", json={}, headers=admin
    )
    assert published.status_code == 200
    assert "banner-without-privacy-link" in published.headers[WARNINGS]


def test_a_site_that_broke_a_rule_before_the_linter_cannot_publish(client, admin, site):
    # A site saved before these rules existed (or edited in the database) ...
    stored = db.session.get(Site, "news-example")
    stored.regions = [{"match": "EU", "mode": "notice"}]
    db.session.commit()
    report = client.get(SITE + "/compliance", headers=admin).get_json()
    assert report["ok"] is False
    # ... cannot publish until it is fixed.
    version = client.post(
        SITE + "/documents/privacy/versions",
        json={"texts": {"en": {"title": "Privacy", "body": "Text."}}},
        headers=admin,
    ).get_json()["version"]
    publish = SITE + f"/documents/privacy/versions/{version}/publish"
    refused(client.post(publish, json={}, headers=admin), "opt-in-region-without-consent")
    assert client.patch(SITE, json={"regions": []}, headers=admin).status_code == 200
    assert client.post(publish, json={}, headers=admin).status_code == 200


def test_the_compliance_report_needs_a_key_for_the_site(client, keys, site, make_site):
    make_site("other")
    assert client.get(SITE + "/compliance").status_code == 401
    other = keys("audit:read", site="other")
    assert client.get(SITE + "/compliance", headers=other).status_code == 404
    reader = keys("audit:read", site="news-example")
    assert client.get(SITE + "/compliance", headers=reader).status_code == 200


def test_consentry_lint_prints_findings_and_fails_on_errors(app, runner, site):
    result = runner.invoke(args=["lint", "news-example"])
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.output and "no-privacy-policy" in result.output
    stored = db.session.get(Site, "news-example")
    stored.honour_gpc = False
    db.session.commit()
    result = runner.invoke(args=["lint", "news-example", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    assert any(f["id"] == "gpc-not-honoured" and f["severity"] == "error" for f in report["rules"])
    assert runner.invoke(args=["lint", "nope"]).exit_code != 0


def test_the_demo_site_passes_the_linter(app, runner):
    from service.demo.seed import seed_demo

    seed_demo("http://127.0.0.1:5000")
    result = runner.invoke(args=["lint", "news-example", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rules"] == []


def facts(**settings):
    base = {"mode": "notice", "regions": [], "use_default_regions": True, "categories": []}
    return SiteFacts("s", base | settings, privacy_published=True, today=date(2026, 12, 4))


@pytest.mark.parametrize(
    ("theme", "failing"),
    [
        ({"text": "#777777", "background": "#ffffff", "accent": "#0055cc"}, ["text"]),
        ({"text": "#000", "background": "#fff", "accent": "#66aaff"}, ["accent"]),
        ({"text": "#111111", "background": "#ffffff", "accent": "#0047ab"}, []),
        ({"text": "#777777"}, []),  # no background to compare with
    ],
)
def test_theme_text_contrast_under_4_5_to_1_is_an_error(theme, failing):
    found = [f for f in lint(facts(theme=theme)) if f.id == "text-contrast"]
    assert [f.message.split()[0] for f in found] == [f"theme.{key}" for key in failing]
    assert all(f.severity == "error" for f in found)


def test_contrast_ratio_follows_wcag():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#fff", "#fff") == pytest.approx(1)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


def test_gpc_rule_knows_when_each_law_starts():
    early = SiteFacts("s", facts().settings | {"honour_gpc": False}, today=date(2022, 12, 31))
    assert "gpc-not-honoured" not in {f.id for f in lint(early)}
    late = SiteFacts("s", facts().settings | {"honour_gpc": False}, today=date(2023, 1, 1))
    assert "gpc-not-honoured" in {f.id for f in lint(late)}


def test_docs_list_every_rule_with_its_source():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "compliance.md").read_text()
    for rule in RULES:
        assert f"`{rule.id}`" in text, rule.id
        assert rule.severity in ("error", "warning")


def test_the_vendored_open_cookie_database_is_read_by_default(client, admin, site):
    tracking = categories(necessary={"cookies": [{"name": "_ga"}, {"name": "_fbp"}]})
    response = client.patch(SITE, json={"categories": tracking}, headers=admin)
    refused(response, "required-category-tracks")
    messages = [rule["message"] for rule in response.get_json()["error"]["details"]["rules"]]
    assert any("'_ga'" in m and "Google Analytics" in m for m in messages)
    assert any("'_fbp'" in m and "marketing" in m for m in messages)
