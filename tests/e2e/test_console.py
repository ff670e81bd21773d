"""The console in Debian's Chromium: sign-in, throttling, CSRF refusal, every page (axe-core with
no violation of any impact, no CSP violation), publishing from the editor, erasure, key creation,
each role seeing only what it may, another site's objects answering 404, and screenshots."""

from __future__ import annotations

import itertools
import json
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from service.console import users
from service.demo.seed import DEMO_SITE
from tests.helpers.consents import event

AXE = Path(__file__).resolve().parents[2] / "widget" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "e2e console password"
SITE = DEMO_SITE
BASE = f"/console/sites/{SITE}"
# Runs before the page's own scripts and outside its CSP: collects violations as they happen.
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push({directive: e.violatedDirective, blocked: e.blockedURI});
});
"""
_numbers = itertools.count()


def new_user(live, role: str, site: str | None = None) -> str:
    email = f"{role}-{next(_numbers)}-{uuid.uuid4().hex[:6]}@example.com"
    with live.app.app_context():
        users.create_user(email, role, PASSWORD, site)
    return email


def sign_in(page: Page, live, email: str, password: str = PASSWORD) -> None:
    page.add_init_script(WATCH_CSP)
    page.goto(f"{live.url}/console/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def record_consents(live, count: int = 3) -> list[dict]:
    client = live.app.test_client()
    receipts = []
    documents = live.current_documents()
    for n in range(count):
        body = event(
            subject=f"s_e2e_{uuid.uuid4().hex[:12]}",
            action=["accept_all", "reject_all", "custom"][n % 3],
            choices={"necessary": True, "analytics": n % 3 == 0, "marketing": n % 3 == 0},
            documents=documents,
            gpc=n % 4 == 1,
        )
        if body["action"] == "custom":
            body["choices"]["analytics"] = True
        response = client.post(
            f"/api/v1/sites/{SITE}/consents", json=body, headers={"Origin": live.url}
        )
        assert response.status_code == 201, response.get_json()
        receipts.append({**response.get_json(), "subject": body["subject"]})
    return receipts


def ledger_size(live) -> int:
    from sqlalchemy import func

    from service.consents.models import ConsentRecord
    from service.extensions import db

    with live.app.app_context():
        return db.session.execute(db.select(func.count()).select_from(ConsentRecord)).scalar_one()


def axe_violations(page: Page) -> list:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"""
    )


def check_page(page: Page, url: str) -> None:
    """Open ``url``: no error page, no axe violation of any impact, no CSP violation."""
    response = page.goto(url)
    assert response is not None and response.status < 400, (url, response and response.status)
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == [], url
    assert page.evaluate("window.__csp") == [], url


@pytest.fixture(scope="module")
def receipts(live):
    return record_consents(live, 6)


@pytest.fixture
def owner(live, page):
    sign_in(page, live, new_user(live, "owner"))
    expect(page.get_by_role("heading", name="Sites")).to_be_visible()
    return page


def test_every_page_passes_axe_and_csp(owner, live, receipts, artifacts):
    page = owner
    url = live.url
    record_id = receipts[0]["id"]
    pages = [
        "/console/",
        f"{BASE}/",
        f"{BASE}/settings",
        f"{BASE}/documents",
        f"{BASE}/documents/privacy/1",
        f"{BASE}/preview",
        f"{BASE}/ledger",
        f"{BASE}/ledger/records/{record_id}",
        f"{BASE}/ledger/erase",
        f"{BASE}/integrity",
        "/console/keys",
        "/console/users",
        "/console/activity",
        "/console/account",
        "/console/sites/new",
        f"{BASE}/ledger?action=dance",  # an error page is a page too
    ]
    for path in pages:
        if "dance" in path:
            response = page.goto(url + path)
            assert response.status == 422
            assert axe_violations(page) == [] and page.evaluate("window.__csp") == []
            continue
        check_page(page, url + path)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{url}{BASE}/")
    page.screenshot(path=str(artifacts / "console-overview.png"), full_page=True)
    page.goto(f"{url}{BASE}/ledger")
    page.screenshot(path=str(artifacts / "console-ledger.png"), full_page=True)
    page.goto(f"{url}{BASE}/ledger/records/{record_id}")
    page.screenshot(path=str(artifacts / "console-record.png"), full_page=True)


def test_login_page_passes_axe_and_the_error_is_generic(live, page):
    page.add_init_script(WATCH_CSP)
    check_page(page, f"{live.url}/console/login")
    email = new_user(live, "auditor")
    sign_in(page, live, email, "a wrong password")
    expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")
    assert axe_violations(page) == []


def test_throttling_refuses_even_the_right_password(live, page):
    email = new_user(live, "auditor")
    for _ in range(5):
        sign_in(page, live, email, "a wrong password")
        expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")
    sign_in(page, live, email)
    expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")
    assert "/console/login" in page.url


def test_a_form_without_its_csrf_token_is_refused(owner, live):
    page = owner
    page.goto(f"{live.url}/console/keys")
    page.evaluate(
        "document.querySelectorAll('form[action$=\"/console/keys\"] [name=csrf_token]')"
        ".forEach(e => e.remove())"
    )
    page.get_by_label("audit:read").check()
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("alert")).to_contain_text("did not come from this console")
    expect(page.locator("#new-key")).to_have_count(0)


def test_publish_from_the_editor(live, page):
    sign_in(page, live, new_user(live, "editor", SITE))
    page.goto(f"{live.url}{BASE}/documents")
    page.get_by_role("button", name="New terms draft").click()
    expect(
        page.get_by_role("heading", name=re.compile(r"Terms version \d+ \(draft\)"))
    ).to_be_visible()
    body = page.get_by_label("Text (en, Markdown)")
    body.fill(body.input_value() + "\n\nA **new** clause about e2e tests.")
    # The live preview renders the Markdown on the server as the text changes.
    expect(page.locator("#preview-body strong", has_text="new")).to_be_visible()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("Draft saved")
    expect(page.locator(".diff ins")).to_contain_text("A new clause about e2e tests.")
    page.get_by_label("Material change").check()
    page.get_by_label("Summary of the change").fill("New e2e clause")
    page.get_by_role("button", name=re.compile("Publish version")).click()
    expect(page.get_by_role("heading", name=re.compile(r"\(current\)"))).to_be_visible()
    assert axe_violations(page) == [] and page.evaluate("window.__csp") == []


def test_erase_a_subject(owner, live):
    page = owner
    subject = record_consents(live, 1)[0]["subject"]
    page.goto(f"{live.url}{BASE}/ledger?subject={subject}")
    page.get_by_role("link", name="erase a subject").click()
    page.get_by_label("Reason").fill("DSR-2026-001")
    page.get_by_label(re.compile("To confirm")).fill(f"erase {subject}")
    page.get_by_role("button", name="Erase this subject").click()
    expect(page.get_by_role("status")).to_contain_text("1 records redacted")
    page.goto(f"{live.url}{BASE}/ledger?subject={subject}")
    expect(page.get_by_text("No records match.")).to_be_visible()


def test_create_an_api_key_shown_once(owner, live):
    page = owner
    page.goto(f"{live.url}/console/keys")
    page.get_by_label("audit:read").check()
    page.get_by_label("Label").fill("from e2e")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").inner_text()
    assert key.startswith("csk_")
    client = live.app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get(f"/api/v1/sites/{SITE}/consents", headers=headers).status_code == 200
    page.goto(f"{live.url}/console/keys")
    assert key not in page.content()


def test_integrity_run_with_progress(owner, live, receipts):
    page = owner
    page.goto(f"{live.url}{BASE}/integrity")
    page.get_by_role("button", name="Run full verification").click()
    expect(page.locator("#last-result")).to_contain_text("Ledger: verified", timeout=30_000)
    expect(page.locator("#last-result")).to_contain_text("Activity log: verified")


def test_banner_preview_runs_the_real_widget(owner, live):
    page = owner
    page.goto(f"{live.url}{BASE}/preview")
    for title in ("desktop width", "375 pixels"):
        frame = page.frame_locator(f"iframe[title*='{title}']")
        expect(frame.locator("[data-consentry-action=reject_all]").first).to_be_visible()
    before = ledger_size(live)
    frame = page.frame_locator("iframe[title*='desktop width']")
    # The frame sits below the fold on a short viewport: press the button itself.
    frame.locator("[data-consentry-action=accept_all]").first.evaluate("button => button.click()")
    expect(frame.locator("[data-consentry-action=reject_all]")).to_have_count(0)
    page.wait_for_timeout(500)
    assert ledger_size(live) == before  # the preview records nothing
    assert page.evaluate("window.__csp") == []


def frame_axe_violations(frame) -> list:
    frame.evaluate(AXE.read_text(encoding="utf-8"))
    return frame.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"""
    )


LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="24">'
    '<rect width="40" height="24" fill="#8a2c00"/></svg>'
)


def test_a_draft_logo_from_an_origin_the_draft_adds_shows_in_the_preview(
    owner, live, hosts, artifacts
):
    """The frame's image policy names the origins a draft adds (not saved yet), and no more."""
    page = owner
    logo = hosts.foreign.add("/logo.svg", LOGO, "image/svg+xml")
    page.goto(f"{live.url}{BASE}/settings")
    origins = page.locator("#f-allowed_origins")
    origins.fill(origins.input_value() + "\n" + hosts.foreign.url)
    page.locator("#f-theme").fill(json.dumps({"logo_url": logo, "position": "box"}))
    page.get_by_role("button", name="Preview the banner with these settings").click()
    expect(page.locator("#preview-shows")).to_contain_text("unsaved settings")
    for title in ("desktop width", "375 pixels"):
        image = page.frame_locator(f"iframe[title*='{title}']").locator("#consentry img")
        expect(image).to_have_attribute("src", logo)
        expect(image).to_have_js_property("naturalWidth", 40)  # loaded: the policy let it in
    for frame in [frame for frame in page.frames if frame != page.main_frame]:
        assert frame.evaluate("window.__csp") == [], frame.url
    page.locator("iframe.frame-mobile").screenshot(path=str(artifacts / "preview-logo-375.png"))
    with live.app.app_context():
        from service.sites.service import get_site

        assert hosts.foreign.url not in get_site(SITE).allowed_origins  # nothing saved


def test_banner_preview_of_a_draft_banner_text_and_unsaved_settings(owner, live, artifacts):
    from service.documents.service import create_draft
    from service.sites.service import get_site

    page = owner
    with live.app.app_context():
        texts = {
            "en": {"title": "Two questions, briefly", "body": "May we measure our audience?"},
            "de": {"title": "Kurz gefragt", "body": "Dürfen wir die Reichweite messen?"},
        }
        version = create_draft(SITE, "banner", texts).document.version
        config_version = get_site(SITE).config_version
    before = ledger_size(live)
    # The settings form's values, unsaved: a boxed banner in other colours.
    page.goto(f"{live.url}{BASE}/settings")
    theme = '{"accent": "#8a2c00", "background": "#fff8ef", "text": "#1b1f24", "position": "box"}'
    page.locator("#f-theme").fill(theme)
    page.get_by_role("button", name="Preview the banner with these settings").click()
    expect(page.locator("#preview-shows")).to_contain_text("unsaved settings (theme)")
    # With the draft banner text, in German: the unsaved settings are carried along.
    page.get_by_label("Banner text").select_option(str(version))
    page.get_by_label("Language").fill("de")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#preview-shows")).to_contain_text(f"banner text version {version}")
    expect(page.locator("#preview-shows")).to_contain_text("unsaved settings (theme)")
    for title in ("desktop width", "375 pixels"):
        frame = page.frame_locator(f"iframe[title*='{title}']")
        expect(frame.locator("#consentry-t")).to_have_text("Kurz gefragt")
        expect(frame.locator("#consentry .b")).to_have_class(re.compile(r"\bbox\b"))
        accent = frame.locator("#consentry").evaluate(
            "root => root.style.getPropertyValue('--consentry-a')"
        )
        assert accent == "#8a2c00", title
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == []
    assert page.evaluate("window.__csp") == []
    frames = [frame for frame in page.frames if frame != page.main_frame]
    assert len(frames) == 2
    for frame in frames:
        assert frame_axe_violations(frame) == [], frame.url
        assert frame.evaluate("window.__csp") == [], frame.url
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(artifacts / "console-preview-draft.png"), full_page=True)
    page.locator("iframe.frame-mobile").screenshot(path=str(artifacts / "preview-draft-375.png"))
    # Nothing was saved or recorded.
    with live.app.app_context():
        assert get_site(SITE).config_version == config_version
    assert ledger_size(live) == before


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        (
            "editor",
            [f"{BASE}/documents", f"{BASE}/preview"],
            [
                f"{BASE}/",
                f"{BASE}/ledger",
                f"{BASE}/settings",
                "/console/keys",
                "/console/activity",
            ],
        ),
        (
            "auditor",
            [f"{BASE}/", f"{BASE}/ledger", f"{BASE}/integrity", "/console/activity"],
            [
                f"{BASE}/settings",
                f"{BASE}/ledger/erase",
                "/console/keys",
                "/console/users",
                f"{BASE}/preview",
            ],
        ),
    ],
)
def test_each_role_sees_only_what_it_may(live, page, role, allowed, refused):
    sign_in(page, live, new_user(live, role, SITE))
    for path in allowed:
        assert page.goto(live.url + path).status == 200, path
    for path in refused:
        assert page.goto(live.url + path).status == 403, path
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    page.goto(f"{live.url}{BASE}/documents")
    nav = page.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link", name="Ledger")).to_have_count(0 if role == "editor" else 1)
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)


def test_another_sites_objects_answer_404(live, page, receipts):
    from service.sites import service as sites

    with live.app.app_context():
        if "other-site" not in [s.id for s in sites.list_sites()]:
            sites.create_site({"id": "other-site", "name": "Other", "allowed_origins": [live.url]})
    sign_in(page, live, new_user(live, "owner", "other-site"))
    record_id = receipts[0]["id"]
    for path in (
        f"{BASE}/",
        f"{BASE}/ledger",
        f"{BASE}/ledger/records/{record_id}",
        f"{BASE}/documents/privacy/1",
        f"{BASE}/settings",
        f"{BASE}/integrity",
    ):
        assert page.goto(live.url + path).status == 404, path
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
