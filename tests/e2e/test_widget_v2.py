"""Widget v2 in real Chromium on a third-party origin: automatic refusal by DuckDuckGo's
autoconsent (heuristics, and the Consentry rule shipped in docs/), style isolation against a
hostile stylesheet, axe-core on the banner, dialog and placeholders (1280 and 375 px, LTR and
RTL), the per-site script, re-consent that keeps choices, placeholders, themes and single-page
apps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import LISTENER

from .conftest import Hosts, LiveService

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "widget" / "node_modules"
AUTOCONSENT = NODE_MODULES / "@duckduckgo" / "autoconsent" / "dist" / "autoconsent.playwright.js"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
CONSENTRY_RULE = ROOT / "docs" / "autoconsent" / "consentry.json"
ARTICLE = """<main><h1>City council approves riverside park plan</h1>
<p>The council voted 31 to 12 on Thursday night to turn the disused freight yard along the east
bank into a public park.</p>
<p><a href="#" data-consentry-open>Cookie settings</a></p>{extra}</main>"""
CSP = (
    "default-src 'self'; script-src 'self' {service}; style-src 'self'; img-src 'self' {service};"
    " connect-src {service}; frame-src https://video.example; report-uri /csp-report"
)


def host_page(
    live: LiveService,
    hosts: Hosts,
    name: str,
    *,
    lang: str = "en",
    head: str = "",
    extra: str = "",
    script: str | None = None,
    site: str = "news-example",
) -> str:
    """A customer page on the allowed origin, with a strict CSP; its URL."""
    src = script or f'{live.url}/widget.js" data-site="{site}'
    dir_ = ' dir="rtl"' if lang in ("ar", "he") else ""
    html = f"""<!doctype html><html lang="{lang}"{dir_}><head><meta charset="utf-8">
<title>{name}</title><script src="/listener.js"></script>{head}
<script src="{src}" async></script></head>
<body>{ARTICLE.format(extra=extra)}</body></html>"""
    hosts.allowed.add("/listener.js", LISTENER, "text/javascript")
    return hosts.allowed.add(
        f"/{name}.html", html, Content_Security_Policy=CSP.format(service=live.url)
    )


def banner(page: Page):
    return page.locator("#consentry .b")


def subject_of(page: Page) -> str:
    page.wait_for_function("() => JSON.parse(localStorage.getItem('consentry') || '{}').receipt")
    return page.evaluate("() => JSON.parse(localStorage.getItem('consentry')).s")


def no_violations(page: Page, hosts: Hosts) -> None:
    assert page.evaluate("() => window.violations") == []
    assert page.evaluate("() => window.widgetErrors || []") == []
    assert hosts.allowed.csp_reports == []


# Automatic refusal


def autoconsent(page: Page, rules: list[dict[str, Any]], heuristic: str) -> None:
    """Run the real autoconsent content script in the page, answering its messages as a
    browser extension's background would: opt out automatically, then self-test."""
    config = {
        "enabled": True,
        "autoAction": "optOut",
        "disabledCmps": [],
        "enablePrehide": False,
        "enableCosmeticRules": False,
        "enableGeneratedRules": False,
        "enableHeuristicDetection": True,
        "heuristicMode": heuristic,
        "detectRetries": 20,
        "isMainWorld": True,
        "logs": {"lifecycle": False, "rulesteps": False, "errors": True, "messages": False},
    }
    background = """
      window.autoconsentMessages = [];
      window.autoconsentSendMessage = (msg) => {
        window.autoconsentMessages.push({...msg, at: performance.now()});
        const answer = (reply) => setTimeout(() => window.autoconsentReceiveMessage(reply), 0);
        if (msg.type === 'init')
          answer({type: 'initResp', config: CONFIG, rules: {autoconsent: RULES}});
        if (msg.type === 'optOutResult' && msg.scheduleSelfTest) answer({type: 'selfTest'});
        return Promise.resolve();
      };
    """.replace("CONFIG", json.dumps(config)).replace("RULES", json.dumps(rules))
    page.add_init_script(background)
    page.add_init_script(CLICK_TO_GONE)
    page.add_init_script(path=str(AUTOCONSENT))


def messages(page: Page, kind: str) -> list[dict[str, Any]]:
    return page.evaluate("kind => window.autoconsentMessages.filter(m => m.type === kind)", kind)


# Notes, in the page, when a widget button is clicked and when the banner leaves the document
CLICK_TO_GONE = """
document.addEventListener('click', e => {
  if (e.target.closest && e.target.closest('#consentry [data-consentry-action]'))
    window.clickedAt = performance.now();
}, true);
new MutationObserver(() => {
  if (window.clickedAt && !window.goneAt && !document.querySelector('#consentry .b'))
    window.goneAt = performance.now();
}).observe(document, {childList: true, subtree: true});
"""


def gone_after_click(page: Page) -> float:
    """ms from autoconsent's click to the banner leaving the document."""
    page.wait_for_function("() => window.goneAt")
    return page.evaluate("() => window.goneAt - window.clickedAt")


def test_autoconsent_heuristics_find_and_refuse_the_banner(page, live, hosts: Hosts):
    autoconsent(page, rules=[], heuristic="reject")
    page.goto(host_page(live, hosts, "autoconsent-heuristic"))
    page.wait_for_function(
        "() => window.autoconsentMessages.some(m => m.type === 'autoconsentDone')"
    )
    [result] = messages(page, "optOutResult")
    assert result["result"] is True
    assert result["cmp"] == "HEURISTIC-REJECT"
    assert gone_after_click(page) < 500
    page.wait_for_function(
        "() => window.autoconsentMessages.some(m => m.type === 'selfTestResult')"
    )
    assert messages(page, "selfTestResult")[0]["result"] is True
    [entry] = live.wait_for_entries(subject_of(page), 1)
    assert (entry["action"], entry["method"]) == ("reject_all", "banner")
    assert entry["choices"] == {"necessary": True, "analytics": False, "marketing": False}
    no_violations(page, hosts)


def test_autoconsent_rule_from_the_docs_refuses_the_banner(page, live, hosts: Hosts):
    rule = json.loads(CONSENTRY_RULE.read_text())
    autoconsent(page, rules=[rule], heuristic="off")
    page.goto(host_page(live, hosts, "autoconsent-rule"))
    page.wait_for_function(
        "() => window.autoconsentMessages.some(m => m.type === 'autoconsentDone')"
    )
    [detected] = messages(page, "cmpDetected")
    assert detected["cmp"] == "consentry"
    [result] = messages(page, "optOutResult")
    assert (result["cmp"], result["result"]) == ("consentry", True)
    assert gone_after_click(page) < 500
    [entry] = live.wait_for_entries(subject_of(page), 1)
    assert entry["action"] == "reject_all"


# Style isolation

HOSTILE = """
* { color: red !important; background: lime !important; font: italic 40px/3 serif !important;
    letter-spacing: 5px !important; text-transform: uppercase !important; opacity: .5 !important; }
div, p, h2, a, button, ul, li, img { display: inline !important; padding: 30px !important;
    margin: 20px !important; border: 5px dotted red !important; position: static !important;
    width: 10px !important; min-height: 0 !important; float: left !important; }
button, [role=dialog], dialog { display: none !important; visibility: hidden !important; }
#consentry, #consentry * { transform: rotate(3deg) !important; filter: blur(2px) !important; }
button::before, div::after { content: "HOSTILE" !important; }
html, body { font-size: 30px; color: purple; direction: rtl; line-height: 4; }
"""
# Computed styles and boxes of every element of the widget (the root's box is where the host's
# layout puts an empty inline element: only its styles count)
SIGNATURE = """() => [...document.querySelectorAll('#consentry, #consentry *')].map(el => {
  const s = getComputedStyle(el);
  const r = el.id === 'consentry' ? {} : el.getBoundingClientRect();
  const before = getComputedStyle(el, '::before').content;
  return [el.tagName, s.color, s.backgroundColor, s.font, s.letterSpacing, s.textTransform,
    s.opacity, s.display, s.visibility, s.padding, s.margin, s.border, s.position, s.transform,
    s.filter, s.float, s.direction, before, Math.round(r.x), Math.round(r.y),
    Math.round(r.width), Math.round(r.height)].join('|');
})"""


def test_a_hostile_stylesheet_does_not_restyle_the_widget(page, live, hosts: Hosts, artifacts):
    page.goto(host_page(live, hosts, "clean"))
    expect(banner(page)).to_be_visible()
    clean = page.evaluate(SIGNATURE)
    hosts.allowed.add("/hostile.css", HOSTILE, "text/css")
    page.goto(host_page(live, hosts, "hostile", head='<link rel="stylesheet" href="/hostile.css">'))
    # the hostile sheet applies to the page (the article's heading is lime)
    heading = page.locator("h1").evaluate("h => getComputedStyle(h).backgroundColor")
    assert heading == "rgb(0, 255, 0)"
    expect(banner(page)).to_be_visible()
    page.screenshot(path=artifacts / "banner-hostile-page.png")
    hostile = page.evaluate(SIGNATURE)
    assert len(clean) > 10
    assert [h for h, c in zip(hostile, clean, strict=True) if h != c] == []
    assert hostile == clean
    banner(page).get_by_role("button", name="Settings").click()
    dialog = page.get_by_role("dialog", name="Settings")
    expect(dialog).to_be_visible()
    assert dialog.evaluate("d => getComputedStyle(d).color") == "rgb(26, 26, 26)"
    assert dialog.evaluate("d => getComputedStyle(d).fontStyle") == "normal"
    page.screenshot(path=artifacts / "dialog-hostile-page.png")
    no_violations(page, hosts)


# Accessibility


def axe_violations(page: Page, selector: str) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """selector => axe.run({include: [selector]}, {runOnly: {type: 'tag', values:
            ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})
          .then(r => r.violations.map(v => ({id: v.id, impact: v.impact,
            nodes: v.nodes.map(n => n.target.join(' '))})))""",
        selector,
    )


PLACEHOLDERS = """<iframe data-consent="marketing" data-src="https://video.example/embed"
  title="Video" width="560" height="315"></iframe>
<div data-consentry-placeholder="analytics"></div>"""
SMALL_PLACEHOLDERS = """<iframe data-consent="marketing" data-src="https://video.example/embed"
  title="Video" width="320" height="180"></iframe>
<div data-consentry-placeholder="analytics"></div>"""


def rtl_site(live: LiveService, hosts: Hosts) -> str:
    """A site with no banner document of its own: the built-in texts, in Arabic for ar pages."""
    from service.sites import service as sites

    with live.app.app_context():
        if not sites.list_sites("rtl-example"):
            sites.create_site(
                {"id": "rtl-example", "name": "مثال", "allowed_origins": [hosts.allowed.url],
                 "default_locale": "ar"}
            )  # fmt: skip
    return "rtl-example"


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("lang", ["en", "ar"])
def test_axe_finds_nothing_on_banner_dialog_and_placeholders(
    context, live, hosts: Hosts, artifacts, width, lang
):
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 800})
    # axe is added as a script of the page: its CSP would refuse it, so this page has none
    hosts.allowed.add("/listener.js", LISTENER, "text/javascript")
    site = rtl_site(live, hosts) if lang == "ar" else "news-example"
    html = f"""<!doctype html><html lang="{lang}"{' dir="rtl"' if lang == "ar" else ""}>
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>axe</title><script src="/listener.js"></script>
<script src="{live.url}/widget.js" data-site="{site}" async></script></head>
<body>{ARTICLE.format(extra=SMALL_PLACEHOLDERS)}</body></html>"""
    page.goto(hosts.allowed.add(f"/axe-{lang}.html", html))
    expect(banner(page)).to_be_visible()
    direction = "rtl" if lang == "ar" else "ltr"
    assert banner(page).evaluate("b => getComputedStyle(b).direction") == direction
    if lang == "ar":
        expect(banner(page).get_by_role("button").first).to_have_text("قبول الكل")
    expect(page.locator(".consentry-ph")).to_have_count(2)
    assert axe_violations(page, "#consentry") == []
    assert axe_violations(page, ".consentry-ph") == []
    targets = page.evaluate(
        """() => [...document.querySelectorAll(`#consentry a, #consentry button,
             .consentry-ph button`)].map(e => e.getBoundingClientRect())
             .map(r => Math.min(r.width, r.height))"""
    )
    assert min(targets) >= 24
    page.screenshot(path=artifacts / f"banner-{lang}-{width}.png")
    banner(page).locator("[data-consentry-action=settings]").click()
    expect(page.locator("#consentry dialog")).to_be_visible()
    assert axe_violations(page, "#consentry dialog") == []
    targets = page.evaluate(
        """() => [...document.querySelectorAll(`#consentry dialog :is(a, button, summary,
             input)`)].map(e => e.getBoundingClientRect()).map(r => Math.min(r.width, r.height))"""
    )
    assert min(targets) >= 24
    page.screenshot(path=artifacts / f"dialog-{lang}-{width}.png")


# The dialog, re-consent that keeps choices


def test_dialog_offers_accept_reject_and_save_with_equal_weight(page, live, hosts: Hosts):
    page.goto(host_page(live, hosts, "dialog"))
    banner(page).get_by_role("button", name="Settings").click()
    dialog = page.get_by_role("dialog", name="Settings")
    buttons = dialog.locator(".k button")
    expect(buttons).to_have_text(["Accept all", "Reject all", "Save choices", "Close"])
    boxes = [x.bounding_box() for x in buttons.all()]
    sizes = {(round(b["width"]), round(b["height"])) for b in boxes}
    styles = {b.evaluate("e => getComputedStyle(e).backgroundColor") for b in buttons.all()}
    assert len(sizes) == 1 and len(styles) == 1
    dialog.get_by_role("button", name="Reject all").click()
    expect(dialog).to_be_hidden()
    [entry] = live.wait_for_entries(subject_of(page), 1)
    assert (entry["action"], entry["method"]) == ("reject_all", "preferences")
    no_violations(page, hosts)


def test_material_update_keeps_earlier_choices_when_asked(page, live, hosts: Hosts):
    url = host_page(live, hosts, "keep")
    page.goto(url)
    banner(page).get_by_role("button", name="Settings").click()
    page.get_by_role("switch", name="Audience measurement").check()
    page.get_by_role("button", name="Save choices").click()
    subject = subject_of(page)
    live.publish("privacy", material=True, summary="We now keep logs for 30 days")
    page.context.new_cdp_session(page).send("Network.clearBrowserCache")
    page.goto(url)
    expect(banner(page)).to_contain_text("We now keep logs for 30 days")
    expect(banner(page).get_by_role("button")).to_have_text(
        ["Agree to the update, keep my choices", "Accept all", "Reject all", "Settings"]
    )
    banner(page).get_by_role("button", name="Agree to the update, keep my choices").click()
    expect(banner(page)).to_have_count(0)
    entries = live.wait_for_entries(subject, 2)
    assert entries[-1]["choices"] == entries[0]["choices"]
    assert entries[-1]["choices"] == {"necessary": True, "analytics": True, "marketing": False}
    assert entries[-1]["action"] == "custom"
    assert entries[-1]["documents"] == live.current_documents()
    no_violations(page, hosts)


# Placeholders


def test_placeholder_grants_its_category_without_layout_shift(page, live, hosts: Hosts, artifacts):
    page.goto(host_page(live, hosts, "placeholder", extra=PLACEHOLDERS + "<p id='after'>After</p>"))
    frame = page.locator("iframe[data-consent]")
    placeholder = page.locator(".consentry-ph").first
    expect(placeholder).to_be_visible()
    box = placeholder.bounding_box()
    # 560 x 315 and the frame's 2 px border
    assert (round(box["width"]), round(box["height"])) == (564, 319)
    expect(placeholder).to_contain_text("Personalised advertising")
    after = page.locator("#after").bounding_box()
    page.screenshot(path=artifacts / "placeholder.png")
    placeholder.get_by_role("button").click()
    expect(page.locator(".consentry-ph")).to_have_count(1)  # the analytics one stays
    expect(frame).to_have_attribute("src", "https://video.example/embed")
    assert page.locator("#after").bounding_box() == after  # nothing moved
    [entry] = live.wait_for_entries(subject_of(page), 1)
    assert (entry["action"], entry["method"]) == ("custom", "placeholder")
    assert entry["choices"] == {"necessary": True, "analytics": False, "marketing": True}
    # The banner was not answered by the placeholder, but the choice stands: no banner now
    page.reload()
    expect(page.locator(".consentry-ph")).to_have_count(1)
    expect(banner(page)).to_have_count(0)


# Per-site script, themes, single-page apps


def test_site_script_paints_the_banner_without_a_config_request(page, live, hosts: Hosts):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(host_page(live, hosts, "site-script", script=f"{live.url}/s/news-example.js"))
    expect(banner(page)).to_be_visible()
    assert not [u for u in requests if "/banner" in u]
    banner(page).get_by_role("button", name="Accept all").click()
    [entry] = live.wait_for_entries(subject_of(page), 1)
    assert entry["action"] == "accept_all"
    page.get_by_role("link", name="Cookie settings").click()
    expect(page.get_by_role("dialog", name="Settings")).to_be_visible()
    no_violations(page, hosts)


def test_site_theme_colours_position_and_logo(page, live, hosts: Hosts, artifacts):
    from service.demo.seed import DEMO_SITE
    from service.sites import service as sites

    theme = {"accent": "#7c2d12", "text": "#1c1917", "background": "#fffbeb", "radius": 2,
             "position": "box", "logo_url": f"{hosts.allowed.url}/logo.svg"}  # fmt: skip
    hosts.allowed.add(
        "/logo.svg",
        '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
        '<rect width="120" height="40" fill="#7c2d12"/></svg>',
        "image/svg+xml",
    )
    with live.app.app_context():
        sites.update_site(DEMO_SITE, {"theme": theme})
    try:
        page.goto(host_page(live, hosts, "theme"))
        expect(banner(page)).to_be_visible()
        button = banner(page).get_by_role("button", name="Accept all")
        assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(124, 45, 18)"
        background = banner(page).evaluate("b => getComputedStyle(b).backgroundColor")
        assert background == "rgb(255, 251, 235)"
        assert button.evaluate("b => getComputedStyle(b).borderRadius") == "2px"
        box = banner(page).bounding_box()
        assert box["width"] < 1280 / 2  # a box in the corner, not a bar
        expect(banner(page).locator("img")).to_have_attribute("src", theme["logo_url"])
        page.screenshot(path=artifacts / "banner-themed-box.png")
        no_violations(page, hosts)
    finally:
        with live.app.app_context():
            sites.update_site(DEMO_SITE, {"theme": {}})


def test_single_page_app_route_change_is_gated(page, live, hosts: Hosts):
    page.goto(host_page(live, hosts, "spa"))
    # Listening before the refusal: its change event may come after the click returns.
    page.evaluate(
        """() => { window.changes = [];
          window.Consentry.on('change', d => window.changes.push(d.action)); }"""
    )
    banner(page).get_by_role("button", name="Reject all").click()
    page.wait_for_function("() => window.changes.length === 1")
    # A client-side route renders a video frame and a gated script
    page.evaluate(
        """() => { history.pushState({}, '', '/route-2');
          document.querySelector('main').insertAdjacentHTML('beforeend',
            '<iframe data-consent="marketing" data-src="https://video.example/v" ' +
            'width="300" height="150"></iframe>');
          const s = document.createElement('script'); s.type = 'text/plain';
          s.setAttribute('data-consent', 'analytics'); s.src = '/listener.js';
          document.querySelector('main').append(s); }"""
    )
    expect(page.locator(".consentry-ph")).to_have_count(1)
    assert page.locator("iframe[data-consent]").get_attribute("src") is None
    page.locator(".consentry-ph button").click()
    expect(page.locator("iframe[data-consent]")).to_have_attribute("src", "https://video.example/v")
    page.wait_for_function("() => window.changes.length === 2")
    assert page.evaluate("() => window.changes") == ["reject_all", "custom"]
    entries = live.wait_for_entries(subject_of(page), 2)
    assert entries[-1]["page"].endswith("/route-2")


# Consent shared across subdomains


def test_cookie_domain_shares_the_choice_and_subject_across_subdomains(browser, live, hosts):
    """Two subdomains of shop.test (mapped to 127.0.0.1 for this browser): a choice made on one
    holds on the other, with the same subject in the ledger."""
    from service.sites import service as sites
    from tests.helpers.browser import CHROMIUM_ARGS

    from .conftest import chromium_executable

    port = hosts.allowed.url.rsplit(":", 1)[1]
    www, shop = f"http://www.shop.test:{port}", f"http://shop.shop.test:{port}"
    with live.app.app_context():
        if not sites.list_sites("shop-example"):
            sites.create_site(
                {"id": "shop-example", "name": "Shop", "allowed_origins": [www, shop],
                 "cookie_domain": "shop.test"}
            )  # fmt: skip
    page_url = host_page(live, hosts, "subdomains", site="shop-example")
    path = page_url.split(hosts.allowed.url, 1)[1]
    mapped = browser.browser_type.launch(
        executable_path=chromium_executable(),
        headless=True,
        args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP *.shop.test 127.0.0.1"],
    )
    try:
        page = mapped.new_context().new_page()
        page.goto(www + path)
        banner(page).get_by_role("button", name="Reject all").click()
        subject = subject_of(page)
        [cookie] = [c for c in page.context.cookies() if c["name"] == "consentry"]
        assert cookie["domain"] == ".shop.test"
        page.goto(shop + path)
        page.wait_for_function("() => window.Consentry && window.Consentry.getConsent()")
        expect(banner(page)).to_have_count(0)
        assert page.evaluate("() => Consentry.getConsent().choices.analytics") is False
        page.evaluate("() => Consentry.acceptAll()")
        entries = live.wait_for_entries(subject, 2, site="shop-example")
        assert [e["action"] for e in entries] == ["reject_all", "accept_all"]
        assert {e["page"].split("/")[2] for e in entries} == {
            f"www.shop.test:{port}",
            f"shop.shop.test:{port}",
        }
    finally:
        mapped.close()
