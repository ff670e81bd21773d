"""The visitor's receipt page in Debian's Chromium: readable, axe-core finds no violation of any
impact, and its strict CSP is never violated."""

from __future__ import annotations

import uuid
from pathlib import Path

from service.demo.seed import DEMO_SITE
from tests.helpers.consents import event

AXE = Path(__file__).resolve().parents[2] / "widget" / "node_modules" / "axe-core" / "axe.min.js"
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push({directive: e.violatedDirective, blocked: e.blockedURI});
});
"""


def record_consent(live) -> dict:
    client = live.app.test_client()
    config = client.get(f"/api/v1/sites/{DEMO_SITE}/banner?region=FR").get_json()
    documents = {doc["kind"]: {"version": doc["version"], "sha256": doc["sha256"]}
                 for doc in config["documents"]}  # fmt: skip
    if config["banner_document"]:
        documents["banner"] = config["banner_document"]
    # A new subject each time: a later consent of one subject would need its token.
    subject = f"s_receipt_{uuid.uuid4().hex[:12]}"
    body = event(subject=subject, revision=config["revision"], documents=documents,
                 page=f"{live.url}/demo")  # fmt: skip
    response = client.post(
        f"/api/v1/sites/{DEMO_SITE}/consents?region=FR", json=body, headers={"Origin": live.url}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_receipt_page_is_accessible_and_keeps_its_csp(live, page, artifacts):
    answer = record_consent(live)
    page.add_init_script(WATCH_CSP)
    page.goto(f"{live.url}/r/{DEMO_SITE}/{answer['id']}?token={answer['subject_token']}")
    assert page.locator("h1").inner_text() == "Your consent receipt"
    assert "Signature verified" in page.locator(".verified").inner_text()
    assert "France" in page.inner_text("main")
    assert page.get_by_role("row", name="Audience measurement").is_visible()
    page.screenshot(path=str(artifacts / "receipt-page.png"), full_page=True)
    page.evaluate(AXE.read_text(encoding="utf-8"))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))"""
    )
    assert violations == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.evaluate("window.__csp") == []


def test_the_receipt_page_refuses_without_the_token(live, page):
    answer = record_consent(live)
    response = page.goto(f"{live.url}/r/{DEMO_SITE}/{answer['id']}")
    assert response.status == 401
