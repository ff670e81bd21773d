"""The scanner's pure parts: allowed origins, link following, classification, findings, the
--apply proposal. No browser: observations are built by hand."""

from __future__ import annotations

import pytest

from service.scanner.apply import propose, render_diff
from service.scanner.browser import CookieSeen, GatedSeen, PhaseObservation, RequestSeen
from service.scanner.findings import Classifier, page_findings, site_findings, verdict
from service.scanner.origins import AllowedOrigins, OriginRefused, origin_of, same_origin_links

ALLOWED = AllowedOrigins(
    ["https://news.example.com", "http://localhost:8000", "https://*.cdn.example"]
)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://news.example.com/a?b=1", True),
        ("https://news.example.com:443/", True),
        ("http://news.example.com/", False),  # another scheme is another origin
        ("https://news.example.com:8443/", False),
        ("https://evil.news.example.com/", False),
        ("https://news.example.com.evil.org/", False),
        ("http://localhost:8000/x", True),
        ("http://localhost:8001/x", False),
        ("https://img.cdn.example/x", True),
        ("https://a.b.cdn.example/x", True),
        ("https://cdn.example/x", False),
        ("https://evilcdn.example/x", False),
        ("javascript:alert(1)", False),
        ("file:///etc/passwd", False),
        ("https://user@news.example.com@evil.org/", False),
        ("https://[::1]:99999/", False),
        ("not a url", False),
    ],
)
def test_only_allowed_origins_are_opened(url, allowed):
    assert ALLOWED.allows(url) is allowed
    if not allowed:
        with pytest.raises(OriginRefused):
            ALLOWED.check(url)


def test_origins_drop_default_ports_and_lowercase_hosts():
    assert origin_of("HTTPS://News.Example.com:443/x") == "https://news.example.com"
    assert origin_of("http://[::1]:8080/") == "http://[::1]:8080"
    assert origin_of("mailto:a@b.c") is None


def test_links_are_followed_on_the_pages_own_origin_only_once_without_fragments():
    links = same_origin_links(
        "https://news.example.com/section/",
        [
            "story",
            "/about#team",
            "/about",
            "https://img.cdn.example/x",
            "mailto:x@y.z",
            "https://other.org/",
            "javascript:void(0)",
            " /spaced ",
        ],
        ALLOWED,
    )
    assert links == [
        "https://news.example.com/section/story",
        "https://news.example.com/about",
        "https://news.example.com/spaced",
    ]


CATEGORIES = [
    {
        "id": "necessary",
        "title": "Necessary",
        "required": True,
        "cookies": [{"name": "consentry"}, {"name": "sid"}],
    },
    {"id": "analytics", "title": "Audience measurement", "cookies": [{"name": "_pk_id*"}]},
    {"id": "ads", "title": "Advertising", "sale_or_sharing": True, "cookies": []},
]
PAGE = "https://news.example.com/"


def _cookie(name, after=False):
    return CookieSeen(
        name, "news.example.com", "/", None, False, True, "Lax", None, "script", after
    )


def _request(host, after=False, initiator=None):
    return RequestSeen(f"https://{host}/x", host, "script", initiator, after)


def test_declared_prefixes_widget_cookie_and_database_classify_cookies():
    classifier = Classifier(CATEGORIES)
    assert classifier.place_cookie("_pk_id.1.abc", "news.example.com").category == "analytics"
    widget = classifier.place_cookie("consentry", "news.example.com")
    assert widget.necessary and widget.source == "declaration"
    assert Classifier([]).place_cookie("consentry", "x").source == "widget"
    ga = classifier.place_cookie("_ga", "news.example.com")
    assert (ga.category, ga.source, ga.needs_consent) == ("analytics", "database", True)
    fbp = classifier.place_cookie("_fbp", "news.example.com")
    assert (fbp.category, fbp.sale_or_sharing) == ("ads", True)
    unknown = classifier.place_cookie("theme", "news.example.com")
    assert (unknown.category, unknown.needs_consent) == (None, False)


def test_gated_elements_declare_their_hosts_and_scripts():
    classifier = Classifier(CATEGORIES)
    seen = PhaseObservation(
        "none",
        PAGE,
        gated=[
            GatedSeen("script", ["analytics"], "https://stats.unknown.example/t.js", False),
            GatedSeen("script", ["analytics"], "/local.js", False),
        ],
    )
    classifier.learn_gated(PAGE, seen)
    assert classifier.place_request(_request("stats.unknown.example")).category == "analytics"
    by_initiator = _request(
        "beacon.elsewhere.example", initiator="https://news.example.com/local.js"
    )
    assert classifier.place_request(by_initiator).category == "analytics"
    assert classifier.place_request(_request("fonts.unknown.example")).category is None


def test_rules_apply_to_their_own_phase():
    classifier = Classifier(CATEGORIES)
    phases = {
        "none": PhaseObservation(
            "none",
            PAGE,
            cookies=[_cookie("sid"), _cookie("_ga")],
            requests=[_request("ads.pubmatic.com")],
        ),
        "reject": PhaseObservation(
            "reject",
            PAGE,
            clicked="reject_all",
            cookies=[
                _cookie("_ga", after=False),
                _cookie("_pk_id.1", after=True),
                _cookie("consentry", True),
            ],
            requests=[_request("ads.pubmatic.com", after=False)],
        ),
        "gpc": PhaseObservation("gpc", PAGE, gated=[GatedSeen("iframe", ["ads"], "/ad", True)]),
    }
    found = page_findings(classifier, PAGE, phases, "opt-in")
    summary = sorted((f.type, f.phase, f.message.split(" ")[1]) for f in found)
    assert summary == [
        ("gpc_ignored", "gpc", "gated"),
        ("set_after_refusal", "reject", "_pk_id.1"),
        ("set_before_choice", "none", "_ga"),
        ("set_before_choice", "none", "request"),
    ]
    assert verdict(found) == "fail"
    # Outside opt-in regions a cookie before any choice is not a finding.
    assert {f.type for f in page_findings(classifier, PAGE, phases, "opt-out")} == {
        "set_after_refusal",
        "gpc_ignored",
    }


def test_a_reject_phase_without_a_click_or_with_an_error_finds_nothing():
    classifier = Classifier(CATEGORIES)
    leaky = PhaseObservation("reject", PAGE, cookies=[_cookie("_ga", after=True)])
    assert page_findings(classifier, PAGE, {"reject": leaky}, "opt-in") == []
    broken = PhaseObservation("none", PAGE, cookies=[_cookie("_ga")], error="timeout")
    assert page_findings(classifier, PAGE, {"none": broken}, "opt-in") == []


def test_site_findings_undeclared_not_seen_and_mismatch():
    categories = [
        *CATEGORIES[:2],
        {**CATEGORIES[2], "cookies": [{"name": "_gid"}, {"name": "gone"}]},
    ]
    classifier = Classifier(categories)
    phases = {
        "accept": PhaseObservation(
            "accept",
            PAGE,
            cookies=[
                _cookie("consentry"),
                _cookie("sid"),
                _cookie("_pk_id.9"),
                _cookie("_hjSessionUser_1"),
                _cookie("_gid"),
                _cookie("theme"),
            ],
        )
    }
    found = site_findings(classifier, [(PAGE, phases)])
    summary = sorted((f.type, f.severity, f.message.split(" ")[1]) for f in found)
    assert summary == [
        ("category_mismatch", "low", "_gid"),  # declared advertising, the database says analytics
        ("declared_not_seen", "info", "gone"),
        ("undeclared_cookie", "medium", "_hjSessionUser_1"),
        ("undeclared_cookie", "medium", "theme"),
    ]
    assert verdict(f for f in found if f.severity == "info") == "clean"


def test_apply_proposes_declarations_from_the_database_and_leaves_the_rest():
    report = {
        "cookies": [
            {"name": "_ga", "domain": "news.example.com", "expires": 1},
            {"name": "_pk_id.1", "domain": "news.example.com", "expires": 1},
            {"name": "theme", "domain": "news.example.com", "expires": None},
            {"name": "_ga", "domain": "other.example.com", "expires": 1},
        ]
    }
    categories = [CATEGORIES[0], CATEGORIES[1]]
    proposal = propose(categories, report)
    assert proposal.added == [("analytics", "_ga")]
    assert proposal.unplaced == ["theme"]
    added = proposal.categories[1]["cookies"][-1]
    assert added["name"] == "_ga" and added["provider"] == "Google"
    assert added["duration"] == "2 years" and added["purpose"]
    assert categories[1]["cookies"] == [{"name": "_pk_id*"}]  # the input is not changed
    diff = render_diff("news-example", categories, proposal.categories)
    assert '+        "name": "_ga",' in diff
