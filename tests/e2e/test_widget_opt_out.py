"""Opt-out regions in real Chromium, on a third-party origin under a strict CSP: one site serves a
Californian the "Do Not Sell or Share" notice (the site runs by default, an opt-out stops its
sale/sharing tags, Global Privacy Control opts out without a prompt), a French visitor the opt-in
banner and a Brazilian the site's default notice, each recorded with its region and mode. The
region comes as in production, from the CDN's trusted headers (``live.region``). Also: axe-core
and CSP on the opt-out notice at 1280 and 375 px, server text keeping its direction in an
Arabic dialog, and the receipt link of the preferences."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import LISTENER

from .conftest import Hosts, LiveService

pytestmark = pytest.mark.e2e

SITE = "optout-example"
AXE = Path(__file__).resolve().parents[2] / "widget" / "node_modules" / "axe-core" / "axe.min.js"
GPC_ON = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
# Gated tags note in the page that they ran
RUNS = "window.{name}Runs = (window.{name}Runs || 0) + 1;"
CSP = (
    "default-src 'self'; script-src 'self' {service}; style-src 'self'; img-src 'self' {service};"
    " connect-src {service}; frame-src 'self'; report-uri /csp-report"
)
CATEGORIES = [
    {"id": "necessary", "title": "Strictly necessary", "required": True,
     "description": "Keeps the site working and remembers this choice."},
    {"id": "analytics", "title": "Audience measurement",
     "description": "Counts visits so we know which stories matter."},
    {"id": "marketing", "title": "Personalised advertising", "sale_or_sharing": True,
     "description": "Our advertising partners show ads based on your interests."},
    {"id": "location", "title": "Local news by precise location", "sensitive": True,
     "description": "Uses your precise location to show news from your street."},
]  # fmt: skip
OPT_OUT = "Do Not Sell or Share My Personal Information"
LIMIT = "Limit the Use of My Sensitive Personal Information"


@pytest.fixture(scope="module")
def site(live: LiveService, hosts: Hosts) -> str:
    """A news site with a sale/sharing and a sensitive category and a privacy policy; the
    built-in region pack, the seed's notice elsewhere."""
    from service.documents import service as documents
    from service.sites import service as sites
    from service.sites.schemas import SiteCreateSchema

    with live.app.app_context():
        if not sites.list_sites(SITE):
            payload = {"id": SITE, "name": "The Example Courier",
                       "allowed_origins": [hosts.allowed.url], "default_mode": "notice",
                       "controller": {"name": "The Example Courier Inc.",
                                      "email": "privacy@courier.example"},
                       "categories": CATEGORIES}  # fmt: skip
            sites.create_site(SiteCreateSchema().load(payload))
            texts = {"en": {"title": "Privacy Policy", "body": "# Privacy Policy\n\nWhat we do."}}
            documents.publish_text(SITE, "privacy", texts, material=True)
    for name in ("analytics", "marketing"):
        hosts.allowed.add(f"/{name}.js", RUNS.format(name=name), "text/javascript")
    hosts.allowed.add("/ad.html", "<!doctype html><title>Ad</title><p>An advertisement</p>")
    hosts.allowed.add("/listener.js", LISTENER, "text/javascript")
    hosts.allowed.add("/axe.js", AXE.read_text(encoding="utf-8"), "text/javascript")
    return SITE


@pytest.fixture
def visitor_from(live: LiveService) -> Iterator[Any]:
    """``visitor_from("US-CA")``: the CDN in front of the service says so until the test ends."""

    def place(region: str) -> None:
        live.region = region

    yield place
    live.region = None


def news_page(live: LiveService, hosts: Hosts, name: str, lang: str = "en", embed: str = "") -> str:
    """A customer page with gated analytics and advertising (a script and a frame) and the two
    footer hooks, under a strict CSP; its URL."""
    src = embed or f'{live.url}/widget.js" data-site="{SITE}'
    dir_ = ' dir="rtl"' if lang in ("ar", "he") else ""
    html = f"""<!doctype html><html lang="{lang}"{dir_}><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>{name}</title>
<script src="/listener.js"></script><script src="/axe.js"></script>
<script src="{src}" async></script>
<script type="text/plain" data-consent="analytics" src="/analytics.js"></script>
<script type="text/plain" data-consent="marketing" src="/marketing.js"></script></head>
<body><main><h1>Harbour bridge reopens after repairs</h1>
<p>Traffic returned to the harbour bridge on Monday after eight months of repairs.</p>
<iframe data-consent="marketing" data-src="/ad.html" title="Advertisement" width="300"
  height="100"></iframe></main>
<footer><a href="#" data-consentry-opt-out>{OPT_OUT}</a> ·
<a href="#" data-consentry-open>Cookie settings</a></footer></body></html>"""
    return hosts.allowed.add(
        f"/{name}.html", html, Content_Security_Policy=CSP.format(service=live.url)
    )


def banner(page: Page):
    return page.locator("#consentry .b")


def runs(page: Page, name: str) -> int:
    return page.evaluate(f"() => window.{name}Runs || 0")


def subject_of(page: Page) -> str:
    page.wait_for_function("() => JSON.parse(localStorage.getItem('consentry') || '{}').receipt")
    return page.evaluate("() => JSON.parse(localStorage.getItem('consentry')).s")


def delivered(page: Page, count: int) -> None:
    """The latest of ``count`` choices is delivered (its receipt is stored)."""
    page.wait_for_function(
        """n => { const s = JSON.parse(localStorage.getItem('consentry') || '{}');
                  return s.receipt && window.changes === n; }""",
        arg=count,
    )


def count_changes(page: Page) -> None:
    page.add_init_script(
        "document.addEventListener('consentry:change', () => {"
        " window.changes = (window.changes || 0) + 1; })"
    )


def no_violations(page: Page, hosts: Hosts) -> None:
    assert page.evaluate("() => window.violations") == []
    assert page.evaluate("() => window.widgetErrors || []") == []
    assert hosts.allowed.csp_reports == []


def axe_violations(page: Page, selector: str) -> list[dict[str, Any]]:
    """axe-core (served by the page's own origin, so the CSP allows it), every impact level."""
    return page.evaluate(
        """selector => axe.run({include: [selector]}, {runOnly: {type: 'tag', values:
            ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})
          .then(r => r.violations.map(v => ({id: v.id, impact: v.impact,
            nodes: v.nodes.map(n => n.target.join(' '))})))""",
        selector,
    )


ALL = {"necessary": True, "analytics": True, "marketing": True, "location": True}
OPTED_OUT = ALL | {"marketing": False}


def test_californian_gets_the_opt_out_notice_and_opting_out_stops_sale(
    page, live, hosts, site, visitor_from
):
    visitor_from("US-CA")
    # The per-site script: its config is answered for the region of the script's request
    page.goto(news_page(live, hosts, "ca", embed=f"{live.url}/s/{site}.js"))
    expect(banner(page)).to_be_visible()
    expect(banner(page).get_by_role("button")).to_have_text([OPT_OUT, LIMIT, "Settings", "Close"])
    expect(banner(page)).to_contain_text("You can opt out of the sale or sharing")
    # The site runs by default: analytics, the advertising script and its frame
    page.wait_for_function("() => window.marketingRuns === 1 && window.analyticsRuns === 1")
    frame = page.locator("iframe[data-consent]")
    expect(frame).to_have_attribute("src", "/ad.html")

    banner(page).get_by_role("button", name=OPT_OUT).click()
    expect(banner(page)).to_have_count(0)
    expect(page.locator("iframe[data-consent]")).not_to_have_attribute("src", "/ad.html")
    subject = subject_of(page)
    [entry] = live.wait_for_entries(subject, 1, site)
    assert (entry["action"], entry["method"]) == ("opt_out", "banner")
    assert (entry["region"], entry["mode"]) == ("US-CA", "opt-out")
    assert entry["choices"] == OPTED_OUT

    # The next page view runs everything but the sale/sharing tags, and does not ask again
    page.reload()
    page.wait_for_function("() => window.analyticsRuns === 1")
    expect(page.locator(".consentry-ph")).to_have_count(1)  # the frame's placeholder
    assert runs(page, "marketing") == 0
    expect(banner(page)).to_have_count(0)

    # The footer link opens the notice, which says the visitor opted out; Settings lets them
    # opt back in
    page.get_by_role("link", name=OPT_OUT).click()
    expect(banner(page)).to_contain_text(
        "You have opted out of the sale and sharing of your personal information."
    )
    assert page.evaluate("() => document.activeElement.textContent") == OPT_OUT
    banner(page).get_by_role("button", name="Settings").click()
    dialog = page.get_by_role("dialog", name="Settings")
    dialog.get_by_role("switch", name="Personalised advertising").check()
    dialog.get_by_role("button", name="Save choices").click()
    page.wait_for_function("() => window.marketingRuns === 1")
    entries = live.wait_for_entries(subject, 2, site)
    assert (entries[1]["action"], entries[1]["method"]) == ("opt_in", "preferences")
    assert entries[1]["choices"] == ALL

    # The site's own code, and the sensitive-information limit
    page.evaluate("() => Consentry.optOut()")
    entries = live.wait_for_entries(subject, 3, site)
    assert (entries[2]["action"], entries[2]["method"]) == ("opt_out", "api")
    page.get_by_role("link", name=OPT_OUT).click()
    banner(page).get_by_role("button", name=LIMIT).click()
    entries = live.wait_for_entries(subject, 4, site)
    assert (entries[3]["action"], entries[3]["method"]) == ("opt_out", "banner")
    assert entries[3]["choices"] == OPTED_OUT | {"location": False}
    assert {e["region"] for e in entries} == {"US-CA"}
    no_violations(page, hosts)


def test_gpc_opts_a_californian_out_without_a_prompt_and_the_notice_says_so(
    context, live, hosts, site, visitor_from
):
    visitor_from("US-CA")
    context.add_init_script(GPC_ON)
    page = context.new_page()
    page.goto(news_page(live, hosts, "ca-gpc"))
    subject = subject_of(page)  # recorded before anyone clicked
    [entry] = live.wait_for_entries(subject, 1, site)
    assert (entry["action"], entry["method"], entry["gpc"]) == ("opt_out", "gpc", True)
    assert (entry["region"], entry["mode"]) == ("US-CA", "opt-out")
    assert entry["choices"] == OPTED_OUT
    expect(banner(page)).to_contain_text(
        "Your browser's Global Privacy Control signal was honoured: you have opted out of the"
        " sale and sharing of your personal information."
    )
    page.wait_for_function("() => window.analyticsRuns === 1")
    assert runs(page, "marketing") == 0
    assert page.locator("iframe[data-consent]").get_attribute("src") is None
    assert axe_violations(page, "#consentry") == []

    banner(page).get_by_role("button", name="Close").click()
    entries = live.wait_for_entries(subject, 2, site)
    assert (entries[1]["action"], entries[1]["method"]) == ("acknowledge", "banner")
    assert entries[1]["choices"] == OPTED_OUT
    page.reload()
    page.wait_for_function("() => window.analyticsRuns === 1")
    expect(banner(page)).to_have_count(0)
    assert runs(page, "marketing") == 0
    assert len(live.entries(subject, site)) == 2  # GPC changes nothing more: nothing recorded
    no_violations(page, hosts)


def test_an_eu_visitor_gets_the_opt_in_banner_and_a_receipt_link_that_verifies(
    context, live, hosts, site, visitor_from
):
    visitor_from("FR")
    page = context.new_page()
    count_changes(page)
    page.goto(news_page(live, hosts, "fr"))
    buttons = ["Accept all", "Reject all", "Settings"]
    expect(banner(page).get_by_role("button")).to_have_text(buttons)
    assert (runs(page, "analytics"), runs(page, "marketing")) == (0, 0)
    banner(page).get_by_role("button", name="Accept all").click()
    page.wait_for_function("() => window.marketingRuns === 1")
    delivered(page, 1)
    [entry] = live.wait_for_entries(subject_of(page), 1, site)
    assert (entry["action"], entry["region"], entry["mode"]) == ("accept_all", "FR", "opt-in")

    page.get_by_role("link", name="Cookie settings").click()
    dialog = page.get_by_role("dialog", name="Settings")
    link = dialog.get_by_role("link", name="Your consent receipt")
    href = link.get_attribute("href")
    assert href.startswith(f"{live.url}/r/{site}/{entry['id']}?token=")
    with context.expect_page() as opened:
        link.click()
    receipt = opened.value
    receipt.wait_for_load_state()
    expect(receipt.locator("h1")).to_have_text("Your consent receipt")
    expect(receipt.locator(".verified")).to_contain_text("Signature verified")
    no_violations(page, hosts)


def test_a_visitor_elsewhere_gets_the_sites_default_notice(page, live, hosts, site, visitor_from):
    visitor_from("BR")
    page.goto(news_page(live, hosts, "br"))
    expect(banner(page).get_by_role("button")).to_have_text(["I agree"])
    page.wait_for_function("() => window.marketingRuns === 1 && window.analyticsRuns === 1")
    banner(page).get_by_role("button", name="I agree").click()
    [entry] = live.wait_for_entries(subject_of(page), 1, site)
    assert (entry["action"], entry["region"], entry["mode"]) == ("acknowledge", "BR", "notice")
    assert entry["choices"] == ALL
    no_violations(page, hosts)


@pytest.mark.parametrize("width", [1280, 375])
def test_the_opt_out_notice_passes_axe_and_keeps_the_csp(
    context, live, hosts, site, visitor_from, artifacts, width
):
    visitor_from("US-CA")
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(news_page(live, hosts, f"ca-axe-{width}"))
    expect(banner(page).get_by_role("button", name=LIMIT)).to_be_visible()
    assert axe_violations(page, "#consentry") == []
    targets = page.evaluate(
        """() => [...document.querySelectorAll('#consentry a, #consentry button')]
             .map(e => e.getBoundingClientRect()).map(r => Math.min(r.width, r.height))"""
    )
    assert min(targets) >= 24
    # Equal weight: every button of the notice has the same style
    styles = (
        banner(page)
        .locator("button")
        .evaluate_all(
            "bs => new Set(bs.map(b => { const s = getComputedStyle(b);"
            " return s.backgroundColor + s.fontSize + s.minHeight; })).size"
        )
    )
    assert styles == 1
    page.screenshot(path=artifacts / f"opt-out-notice-{width}.png")
    no_violations(page, hosts)


def test_server_text_keeps_its_direction_in_a_right_to_left_dialog(
    context, live, hosts, site, visitor_from, artifacts
):
    visitor_from("US-CA")
    page = context.new_page()
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(news_page(live, hosts, "ca-ar", lang="ar"))
    expect(banner(page).get_by_role("button").first).to_have_text(
        "لا تبيعوا معلوماتي الشخصية ولا تشاركوها"
    )
    direction = "el => getComputedStyle(el).direction"
    assert banner(page).evaluate(direction) == "rtl"
    assert banner(page).locator("#consentry-d").evaluate(direction) == "rtl"  # Arabic text
    # The site's English policy title, in the Arabic banner
    links = banner(page).get_by_role("link", name="Privacy Policy").locator("xpath=..")
    assert links.evaluate(direction) == "ltr"
    page.screenshot(path=artifacts / "opt-out-notice-ar.png")
    banner(page).locator("[data-consentry-action=settings]").click()
    dialog = page.locator("#consentry dialog")
    expect(dialog).to_be_visible()
    assert dialog.evaluate(direction) == "rtl"
    description = dialog.locator("p[dir=auto]", has_text="Counts visits so we know")
    assert description.evaluate(direction) == "ltr"
    title = dialog.locator("label span[dir=auto]", has_text="Audience measurement")
    assert title.evaluate(direction) == "ltr"
    # The full stop stays at the end of the English sentence: at its right edge
    ends = description.evaluate(
        """p => { const r = document.createRange(); const t = p.firstChild;
                  r.setStart(t, t.length - 1); r.setEnd(t, t.length);
                  return [r.getBoundingClientRect().right, p.getBoundingClientRect().left]; }"""
    )
    first = description.evaluate(
        """p => { const r = document.createRange(); r.setStart(p.firstChild, 0);
                  r.setEnd(p.firstChild, 1); return r.getBoundingClientRect().left; }"""
    )
    assert ends[0] > first  # "." is right of "C", as in any English sentence
    assert axe_violations(page, "#consentry dialog") == []
    page.screenshot(path=artifacts / "dialog-ar-server-text.png")
    no_violations(page, hosts)
