"""The widget in real headless Chromium against the real service: the demo page (/demo), and
customer pages on other origins (strict CSP, an origin the site does not allow)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import LISTENER

from .conftest import Hosts, LiveService, wait_until

pytestmark = pytest.mark.e2e

GPC_ON = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"


def banner(page: Page):
    return page.get_by_role("dialog", name="We value your privacy")


def preferences(page: Page):
    return page.get_by_role("dialog", name="Settings")


def local_state(page: Page) -> dict[str, Any]:
    return page.evaluate("() => JSON.parse(localStorage.getItem('consentry') || '{}')")


def outbox(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("() => JSON.parse(localStorage.getItem('consentry.outbox') || '[]')")


def wait_for_receipt(page: Page) -> dict[str, Any]:
    """The latest choice was delivered: its receipt is stored."""
    page.wait_for_function("() => JSON.parse(localStorage.getItem('consentry') || '{}').receipt")
    return local_state(page)


def analytics_runs(page: Page) -> int:
    return page.evaluate("() => window.demoAnalyticsRuns || 0")


def cookie_names(page: Page) -> set[str]:
    return {c["name"] for c in page.context.cookies()}


def focused_in_widget(page: Page) -> str | None:
    """Text of the focused element inside the widget (light DOM under #consentry), if any."""
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          return el && el.id !== 'consentry' && el.closest('#consentry') ? el.textContent : null;
        }"""
    )


def focused_tag(page: Page) -> str:
    return page.evaluate("() => document.activeElement.tagName")


def ad_frame(page: Page):
    return page.frame_locator("iframe.ad").locator("#ad-status")


def expire_http_cache(page: Page) -> None:
    """Drop the browser's HTTP cache: the next page view fetches the banner config anew."""
    page.context.new_cdp_session(page).send("Network.clearBrowserCache")


def open_demo(page: Page, live: LiveService) -> None:
    page.goto(live.url + "/demo")
    expect(banner(page)).to_be_visible()


def test_first_visit_shows_banner_and_runs_nothing_optional(page, live, artifacts):
    page.goto(live.url + "/demo")
    dialog = banner(page)
    expect(dialog).to_be_visible()
    buttons = dialog.get_by_role("button")
    expect(buttons).to_have_text(["Accept all", "Reject all", "Settings"])
    sizes = {
        (round(b["width"]), round(b["height"]))
        for b in map(lambda x: x.bounding_box(), buttons.all())
    }
    assert len(sizes) == 1, f"buttons differ in size: {sizes}"
    policies = {"Privacy Policy": "privacy", "Terms of Use": "terms", "Cookie Policy": "cookies"}
    for title, kind in policies.items():
        expect(dialog.get_by_role("link", name=title)).to_have_attribute(
            "href", f"{live.url}/p/news-example/{kind}"
        )
    expect(page.locator("#analytics-status")).to_have_text("Analytics: not running")
    assert analytics_runs(page) == 0
    assert page.locator("iframe.ad").get_attribute("src") is None
    assert "_dx_stats" not in cookie_names(page)
    # No focus theft on load
    assert focused_tag(page) == "BODY"
    page.screenshot(path=artifacts / "banner.png")


def test_reject_all_never_runs_gated_script_and_records_reject(page, live):
    open_demo(page, live)
    banner(page).get_by_role("button", name="Reject all").click()
    expect(banner(page)).to_be_hidden()
    state = wait_for_receipt(page)

    [entry] = live.wait_for_entries(state["s"], 1)
    assert entry["action"] == "reject_all"
    assert entry["method"] == "banner"
    assert entry["choices"] == {"necessary": True, "analytics": False, "marketing": False}
    assert entry["documents"] == live.current_documents()
    assert entry["page"] == live.url + "/demo"

    page.reload()
    expect(page.locator("#analytics-status")).to_have_text("Analytics: not running")
    expect(banner(page)).to_be_hidden()
    page.wait_for_load_state("load")
    assert analytics_runs(page) == 0
    assert page.locator("iframe.ad").get_attribute("src") is None


def test_accept_all_runs_gated_script_and_iframe(page, live):
    open_demo(page, live)
    banner(page).get_by_role("button", name="Accept all").click()
    expect(page.locator("#analytics-status")).to_have_text("Analytics: running")
    expect(ad_frame(page)).to_have_text("Ad partner loaded")
    assert analytics_runs(page) == 1
    state = wait_for_receipt(page)
    [entry] = live.wait_for_entries(state["s"], 1)
    assert (entry["action"], entry["method"]) == ("accept_all", "banner")
    assert entry["choices"] == {"necessary": True, "analytics": True, "marketing": True}

    page.reload()  # the stored choice applies on the next page view, without asking
    expect(page.locator("#analytics-status")).to_have_text("Analytics: running")
    expect(banner(page)).to_be_hidden()


def test_settings_save_records_the_custom_choice(page, live, artifacts):
    open_demo(page, live)
    banner(page).get_by_role("button", name="Settings").click()
    dialog = preferences(page)
    expect(dialog).to_be_visible()
    assert dialog.evaluate("el => el.matches(':modal')")
    necessary = dialog.get_by_role("switch", name="Strictly necessary")
    expect(necessary).to_be_checked()
    expect(necessary).to_be_disabled()
    expect(dialog.get_by_role("switch", name="Audience measurement")).not_to_be_checked()
    expect(dialog.get_by_role("switch", name="Personalised advertising")).not_to_be_checked()
    page.screenshot(path=artifacts / "settings.png")

    dialog.get_by_role("switch", name="Audience measurement").check()
    dialog.get_by_role("button", name="Save choices").click()
    expect(dialog).to_be_hidden()
    expect(banner(page)).to_be_hidden()
    expect(page.locator("#analytics-status")).to_have_text("Analytics: running")
    assert page.locator("iframe.ad").get_attribute("src") is None
    # Focus does not fall back to <body>: the Settings button is gone with the banner, so it
    # goes to the widget's host, where the banner was (the start of the page).
    assert focused_tag(page) != "BODY"

    state = wait_for_receipt(page)
    [entry] = live.wait_for_entries(state["s"], 1)
    assert (entry["action"], entry["method"]) == ("custom", "preferences")
    assert entry["choices"] == {"necessary": True, "analytics": True, "marketing": False}


def test_withdrawal_through_the_footer_link(page, live):
    open_demo(page, live)
    banner(page).get_by_role("button", name="Accept all").click()
    expect(ad_frame(page)).to_have_text("Ad partner loaded")
    expect(page.locator("#analytics-status")).to_have_text("Analytics: running")
    assert "_dx_stats" in cookie_names(page)
    wait_for_receipt(page)

    footer_link = page.get_by_role("link", name="Cookie settings")
    footer_link.click()
    dialog = preferences(page)
    expect(dialog.get_by_role("switch", name="Audience measurement")).to_be_checked()
    dialog.get_by_role("switch", name="Audience measurement").uncheck()
    dialog.get_by_role("switch", name="Personalised advertising").uncheck()
    dialog.get_by_role("button", name="Save choices").click()
    expect(dialog).to_be_hidden()
    expect(footer_link).to_be_focused()  # focus returns to the opener

    # Withdrawn at once: the ad frame is unloaded, the declared analytics cookie expired.
    expect(page.locator("iframe.ad")).not_to_have_attribute("src", "/demo/ad.html")
    assert "_dx_stats" not in cookie_names(page)
    state = wait_for_receipt(page)
    entries = live.wait_for_entries(state["s"], 2)
    assert [(e["action"], e["method"]) for e in entries] == [
        ("accept_all", "banner"),
        ("reject_all", "preferences"),
    ]
    assert entries[1]["choices"] == {"necessary": True, "analytics": False, "marketing": False}

    page.reload()
    expect(banner(page)).to_be_hidden()
    page.wait_for_load_state("load")
    expect(page.locator("#analytics-status")).to_have_text("Analytics: not running")
    assert analytics_runs(page) == 0


def test_material_version_asks_again_naming_the_change(page, live):
    open_demo(page, live)
    banner(page).get_by_role("button", name="Reject all").click()
    wait_for_receipt(page)

    version = live.publish("privacy", material=True, summary="We now share data with Example Ads")
    # A later page view, once the browser's copy of the config (max-age 60 s) has expired
    expire_http_cache(page)
    page.reload()
    dialog = banner(page)
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("We have updated:")
    changed = dialog.get_by_role("listitem")
    expect(changed).to_have_count(1)
    expect(changed).to_contain_text("Privacy Policy: We now share data with Example Ads")
    expect(changed.get_by_role("link")).to_have_attribute(
        "href", f"{live.url}/p/news-example/privacy/v/{version}#changes"
    )

    dialog.get_by_role("button", name="Reject all").click()
    state = wait_for_receipt(page)
    entries = live.wait_for_entries(state["s"], 2)
    assert entries[-1]["documents"]["privacy"]["version"] == version


def test_non_material_version_does_not_ask(page, live):
    open_demo(page, live)
    banner(page).get_by_role("button", name="Accept all").click()
    wait_for_receipt(page)

    live.publish("terms", material=False, summary="Fixed a typo")
    expire_http_cache(page)
    page.reload()
    expect(page.locator("#analytics-status")).to_have_text("Analytics: running")
    expect(banner(page)).to_be_hidden()


def test_gpc_on_first_visit_refuses_marketing_without_asking(context, live):
    context.add_init_script(GPC_ON)
    page = context.new_page()
    page.goto(live.url + "/demo")
    # Recorded without a prompt: marketing (sale/sharing) refused, method gpc
    state = wait_for_receipt(page)
    [entry] = live.wait_for_entries(state["s"], 1)
    assert (entry["action"], entry["method"], entry["gpc"]) == ("custom", "gpc", True)
    assert entry["choices"] == {"necessary": True, "analytics": False, "marketing": False}

    # The banner still asks about analytics, which GPC does not decide; marketing is locked off.
    banner(page).get_by_role("button", name="Settings").click()
    dialog = preferences(page)
    expect(dialog).to_contain_text("Global Privacy Control signal was honoured")
    marketing = dialog.get_by_role("switch", name="Personalised advertising")
    expect(marketing).not_to_be_checked()
    expect(marketing).to_be_disabled()
    dialog.get_by_role("button", name="Close").click()
    banner(page).get_by_role("button", name="Accept all").click()
    expect(page.locator("#analytics-status")).to_have_text("Analytics: running")
    assert page.locator("iframe.ad").get_attribute("src") is None
    state = wait_for_receipt(page)
    entries = live.wait_for_entries(state["s"], 2)
    # "Accept all" under GPC grants all but marketing: recorded by its outcome
    assert (entries[1]["action"], entries[1]["method"]) == ("custom", "banner")
    assert entries[1]["choices"] == {"necessary": True, "analytics": True, "marketing": False}
    assert entries[1]["gpc"] is True


def test_gpc_turns_off_an_earlier_marketing_consent_without_a_prompt(context, live):
    page = context.new_page()
    open_demo(page, live)
    banner(page).get_by_role("button", name="Accept all").click()
    state = wait_for_receipt(page)
    page.close()

    context.add_init_script(GPC_ON)
    page = context.new_page()
    page.goto(live.url + "/demo")
    entries = live.wait_for_entries(state["s"], 2)
    assert (entries[1]["action"], entries[1]["method"]) == ("custom", "gpc")
    assert entries[1]["choices"] == {"necessary": True, "analytics": True, "marketing": False}
    expect(page.locator("#analytics-status")).to_have_text("Analytics: running")
    expect(banner(page)).to_be_hidden()
    assert page.locator("iframe.ad").get_attribute("src") is None


def test_choice_made_offline_is_delivered_once_on_the_next_page_view(context, live):
    page = context.new_page()
    open_demo(page, live)
    # The consent endpoint is unreachable (fetch, its retries and the pagehide beacon all fail)
    consents = f"{live.url}/api/v1/sites/news-example/consents"
    failed = []

    def unreachable(route):
        failed.append(route.request.url)
        route.abort("connectionrefused")

    context.route(consents, unreachable)
    live.consents_down = True  # for the pagehide beacon, which can slip past the route
    try:
        banner(page).get_by_role("button", name="Accept all").click()
        # The choice applies at once, locally, and waits in the outbox
        expect(page.locator("#analytics-status")).to_have_text("Analytics: running")
        wait_until(lambda: failed, what="a failed delivery attempt")
        [pending] = outbox(page)
        subject = json.loads(pending["body"])["subject"]
        page.close()  # pagehide
        assert live.entries(subject) == []
    finally:
        live.consents_down = False
    context.unroute(consents, unreachable)
    page = context.new_page()
    page.goto(live.url + "/demo")
    state = wait_for_receipt(page)
    assert state["s"] == subject
    [entry] = live.wait_for_entries(subject, 1)
    assert entry["action"] == "accept_all"
    page.wait_for_function(
        "() => JSON.parse(localStorage.getItem('consentry.outbox') || '[]').length === 0"
    )
    page.reload()
    expect(page.locator("#analytics-status")).to_have_text("Analytics: running")
    assert len(live.entries(subject)) == 1  # exactly once


def test_keyboard_only(page, live):
    open_demo(page, live)
    # The banner is first in the tab order: its policy links, then its buttons
    page.keyboard.press("Tab")
    assert focused_in_widget(page) == "Privacy Policy"
    while focused_in_widget(page) != "Accept all":
        assert focused_in_widget(page) in ("Privacy Policy", "Terms of Use", "Cookie Policy")
        page.keyboard.press("Tab")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # visible focus
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused_in_widget(page) == "Settings"
    page.keyboard.press("Enter")
    dialog = preferences(page)
    expect(dialog).to_be_visible()
    # Escape closes and focus returns to Settings
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert focused_in_widget(page) == "Settings"

    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    # The page behind is inert while the modal is open (a native modal dialog)
    assert page.evaluate("() => document.querySelector('#consentry dialog').matches(':modal')")
    # Focus moved into the dialog
    assert page.evaluate("() => document.activeElement.closest('dialog') !== null")
    with pytest.raises(AssertionError):  # the footer link behind cannot take focus
        page.get_by_role("link", name="Cookie settings").focus()
        expect(page.get_by_role("link", name="Cookie settings")).to_be_focused(timeout=500)
    # Tab cycles inside the dialog: collect one full round
    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        seen.append(focused_in_widget(page))
    assert None not in seen
    assert {"Close", "Save choices", "Accept all", "Reject all"} <= set(seen)
    # Focus the analytics switch and turn it on with Space
    for _ in range(12):
        active = page.evaluate("() => document.activeElement.closest('label')?.textContent ?? ''")
        if active.startswith("Audience measurement"):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(dialog.get_by_role("switch", name="Audience measurement")).to_be_checked()
    while focused_in_widget(page) != "Save choices":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("#analytics-status")).to_have_text("Analytics: running")
    assert focused_tag(page) != "BODY"
    state = wait_for_receipt(page)
    [entry] = live.wait_for_entries(state["s"], 1)
    assert (entry["action"], entry["method"]) == ("custom", "preferences")


GATED = "window.gatedRuns = (window.gatedRuns || 0) + 1;"


def host_page(service_url: str, title: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script src="/listener.js"></script>
<script src="{service_url}/widget.js" data-site="news-example" async></script>
<script type="text/plain" data-consent="analytics" src="/gated.js"></script>
</head><body><h1>{title}</h1><p><a href="#" data-consentry-open>Cookie settings</a></p>
</body></html>"""


def test_strict_csp_page_has_zero_violations(page, live, hosts: Hosts):
    site = hosts.allowed
    site.add("/listener.js", LISTENER, "text/javascript")
    site.add("/gated.js", GATED, "text/javascript")
    csp = (
        f"script-src 'self' {live.url}; style-src 'self'; object-src 'none'; report-uri /csp-report"
    )
    url = site.add("/strict.html", host_page(live.url, "Strict CSP"), content_security_policy=csp)
    page.goto(url)
    dialog = banner(page)
    expect(dialog).to_be_visible()
    # Styled through the adopted stylesheet (a blocked <style> would leave it unstyled)
    assert dialog.evaluate("el => getComputedStyle(el).position") == "fixed"
    dialog.get_by_role("button", name="Settings").click()
    expect(preferences(page)).to_be_visible()
    preferences(page).get_by_role("button", name="Save choices").click()
    page.get_by_role("link", name="Cookie settings").click()
    preferences(page).get_by_role("switch", name="Audience measurement").check()
    preferences(page).get_by_role("button", name="Save choices").click()
    page.wait_for_function("() => window.gatedRuns === 1")
    state = wait_for_receipt(page)
    entries = live.wait_for_entries(state["s"], 2)
    assert entries[-1]["page"] == url

    assert page.evaluate("() => window.violations") == []
    assert page.evaluate("() => window.widgetErrors || []") == []
    assert site.csp_reports == []


def test_page_on_an_origin_not_allowed_is_refused(page, live, hosts: Hosts):
    site = hosts.foreign
    site.add("/listener.js", LISTENER, "text/javascript")
    site.add("/gated.js", GATED, "text/javascript")
    url = site.add("/foreign.html", host_page(live.url, "Foreign"))
    page.goto(url)
    # The config is not shared with this origin (no CORS): no banner, nothing runs, an error event
    page.wait_for_function("() => (window.widgetErrors || []).length > 0")
    expect(banner(page)).to_have_count(0)
    assert page.evaluate("() => window.gatedRuns || 0") == 0

    # A consent posted from this origin is refused by the service and never reaches the ledger
    event = {
        "subject": "foreign-subject-0000000",
        "client_event_id": "7d1e0a52-4f7c-4c8e-9a53-0d1f1c2b3a4e",
        "action": "accept_all",
        "choices": {"necessary": True, "analytics": True, "marketing": True},
        "documents": live.current_documents(),
        "revision": "0" * 64,
        "method": "api",
        "gpc": False,
        "locale": "en",
        "page": url,
    }
    # The browser sends it (a CORS-simple request); the service answers 403, which the page may
    # not even read: the fetch rejects.
    outcome = page.evaluate(
        """([url, body]) => fetch(url, {method: 'POST', body,
            headers: {'Content-Type': 'text/plain'}}).then(r => r.status, () => 'blocked')""",
        [f"{live.url}/api/v1/sites/news-example/consents", json.dumps(event)],
    )
    assert outcome == "blocked"
    request = urllib.request.Request(
        f"{live.url}/api/v1/sites/news-example/consents",
        data=json.dumps(event).encode(),
        headers={"Origin": site.url, "Content-Type": "text/plain"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    assert live.entries(event["subject"]) == []


def test_widget_bundle_is_cached_and_revalidated(page, live):
    first = page.goto(live.url + "/widget.js")
    assert first.headers["cache-control"] == "public, max-age=300, stale-while-revalidate=86400"
    etag = first.headers["etag"]
    answer = page.request.get(live.url + "/widget.js", headers={"If-None-Match": etag})
    assert answer.status == 304


def test_arabic_page_gets_a_right_to_left_banner_in_arabic(page, live, hosts: Hosts):
    from service.sites import service as sites

    with live.app.app_context():
        if not sites.list_sites("rtl-example"):
            sites.create_site(
                {
                    "id": "rtl-example",
                    "name": "مثال",
                    "allowed_origins": [hosts.allowed.url],
                    "default_locale": "ar",
                }
            )
    html = host_page(live.url, "RTL").replace('lang="en"', 'lang="ar" dir="rtl"')
    html = html.replace('data-site="news-example"', 'data-site="rtl-example"')
    hosts.allowed.add("/gated.js", GATED, "text/javascript")
    hosts.allowed.add("/listener.js", LISTENER, "text/javascript")
    page.goto(hosts.allowed.add("/rtl.html", html))
    dialog = page.get_by_role("dialog", name="نحن نحترم خصوصيتك")
    expect(dialog).to_be_visible()
    assert page.evaluate("() => document.getElementById('consentry').dir") == "rtl"
    assert dialog.evaluate("el => getComputedStyle(el).direction") == "rtl"
    expect(dialog.get_by_role("button", name="قبول الكل")).to_be_visible()
    # Buttons run right to left: the first one (Accept all) sits rightmost.
    boxes = [b.bounding_box() for b in dialog.get_by_role("button").all()]
    assert boxes[0]["x"] > boxes[-1]["x"]


CONTRASTS = """
root => {
  const rgb = text => {
    const [r, g, b, a = 1] = text.match(/[\\d.]+/g).map(Number);
    return { r, g, b, a };
  };
  const luminance = ({ r, g, b }) => {
    const channel = v => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const background = element => {
    for (let at = element; at; at = at.parentElement) {
      const colour = rgb(getComputedStyle(at).backgroundColor);
      if (colour.a > 0.99) return colour;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const ratio = (x, y) => {
    const [light, dark] = [luminance(x), luminance(y)].sort((p, q) => q - p);
    return (light + 0.05) / (dark + 0.05);
  };
  return [...root.querySelectorAll("h2, p, li, a, button, label")]
    .filter(el => el.textContent.trim() && el.getClientRects().length)
    .map(el => ({
      text: el.textContent.trim().slice(0, 40),
      ratio: ratio(rgb(getComputedStyle(el).color), background(el)),
      colours: getComputedStyle(el).color + " on " + getComputedStyle(el).backgroundColor,
    }));
}
"""


def test_banner_and_settings_text_meets_wcag_aa_contrast(page, live):
    """WCAG 2.2 AA: 4.5:1 for text, in the banner and in the settings dialog; the three banner
    buttons look the same (refusing is as prominent as agreeing)."""
    open_demo(page, live)
    dialog = banner(page)
    measured = dialog.evaluate(CONTRASTS)
    dialog.get_by_role("button", name="Settings").click()
    expect(preferences(page)).to_be_visible()
    measured += preferences(page).evaluate(CONTRASTS)
    assert len(measured) >= 10
    low = [item for item in measured if item["ratio"] < 4.5]
    assert low == [], low
    button_styles = (
        "buttons => buttons.map(b => getComputedStyle(b))"
        ".map(s => [s.color, s.backgroundColor, s.fontWeight, s.fontSize])"
    )
    styles = banner(page).get_by_role("button").evaluate_all(button_styles)
    assert len(styles) == 3 and len({tuple(style) for style in styles}) == 1, styles
