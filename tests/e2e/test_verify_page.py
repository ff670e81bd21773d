"""``/verify`` in Debian's Chromium: good and tampered bundles, exports and receipts are checked in
the browser with WebCrypto, the page says what `consentry verify-bundle` prints for the same file
(word for word), the file is never sent anywhere, axe-core finds no violation of any impact and
the strict CSP is never violated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.audit.offline import format_report, verify_text
from service.auth import service as auth_service
from tests.helpers.verify_samples import SUBJECT, Case, Samples, make_samples

AXE = Path(__file__).resolve().parents[2] / "widget" / "node_modules" / "axe-core" / "axe.min.js"

# Runs before the page's own scripts and outside its CSP: collects violations as they happen.
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push({directive: e.violatedDirective, blocked: e.blockedURI});
});
"""


@pytest.fixture(scope="module")
def samples(live) -> Samples:
    from service.auth.service import SCOPES

    with live.app.app_context():
        _key, plaintext = auth_service.create_api_key(SCOPES, None, "verify page tests")
    admin = {"Authorization": f"Bearer {plaintext}"}
    client = live.app.test_client()
    return make_samples(client, admin, "news-example", live.url, live.current_documents())


class VerifyPage:
    """The page under test, with every request it makes recorded."""

    def __init__(self, page, url: str) -> None:
        self.page = page
        self.requests: list[tuple[str, str, bytes | None]] = []
        page.on("request", lambda r: self.requests.append((r.method, r.url, r.post_data_buffer)))
        page.add_init_script(WATCH_CSP)
        page.goto(f"{url}/verify")
        page.wait_for_selector("html[data-ready=true]")

    def give(self, case: Case, via: str = "file") -> dict:
        page = self.page
        if via == "drop":
            transfer = page.evaluate_handle(
                """(text) => {
                    const dt = new DataTransfer();
                    dt.items.add(new File([text], 'proof.json', {type: 'application/json'}));
                    return dt;
                }""",
                case.text,
            )
            page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
        elif via == "paste":
            page.fill("#paste-input", case.text)
        else:
            page.set_input_files(
                "#file-input",
                {"name": "file.json", "mimeType": "text/plain", "buffer": case.text.encode()},
            )
        if case.jwks is None:
            page.set_input_files("#jwks-file", [])
        else:
            page.set_input_files(
                "#jwks-file",
                {
                    "name": "jwks.json",
                    "mimeType": "application/json",
                    "buffer": json.dumps(case.jwks).encode(),
                },
            )
        return self.submit()

    def submit(self) -> dict:
        page = self.page
        page.evaluate("document.getElementById('result').hidden = true")
        page.click("#verify-button")
        page.wait_for_selector("#result:not([hidden])")
        page.wait_for_selector("#verify-button:not([disabled])")
        return {
            "ok": page.get_attribute("#result", "data-ok") == "true",
            "title": page.inner_text("#result-title"),
            "codes": page.eval_on_selector_all(
                "#problems tbody tr", "rows => rows.map(r => r.dataset.code)"
            ),
            "text": page.text_content("#report-text"),
        }

    def csp_violations(self) -> list:
        return self.page.evaluate("window.__csp")

    def axe_violations(self) -> list:
        self.page.evaluate(AXE.read_text(encoding="utf-8"))
        return self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"""
        )


@pytest.fixture
def verify_page(live, page) -> VerifyPage:
    return VerifyPage(page, live.url)


def expected_text(case: Case) -> str:
    return format_report(verify_text(case.text, case.jwks))


BUNDLE_CASES = [
    "bundle",
    "bundle, keys from the file",
    "bundle, edited byte",
    "bundle, removed record",
    "bundle, bad signature",
    "bundle, wrong inclusion proof",
    "bundle, forged checkpoint",
    "bundle signed by other keys",
]
EXPORT_CASES = [
    "export",
    "export, edited byte",
    "export, removed record",
    "export, bad signature",
    "export, cut off",
]
RECEIPT_CASES = [
    "receipt",
    "receipt, edited payload",
    "receipt, other keys",
    "receipt without a JWKS",
    "neither",
]


@pytest.mark.parametrize("names", [BUNDLE_CASES, EXPORT_CASES, RECEIPT_CASES])
def test_each_file_is_verified_in_the_browser_as_the_cli_does(verify_page, samples, names):
    cases = samples.cases()
    for name in names:
        case = cases[name]
        shown = verify_page.give(case)
        assert shown["text"] == expected_text(case), name
        if case.code is None:
            assert shown["ok"] and shown["title"] == "✔ Verified", name
            assert shown["codes"] == []
        else:
            assert not shown["ok"] and shown["title"] == "✘ Not verified", name
            assert case.code in shown["codes"], (name, shown)
    assert verify_page.csp_violations() == []


def test_dropped_bundle_and_jwks_from_the_sites_url(live, verify_page, samples):
    page = verify_page.page
    page.fill("#jwks-url", f"{live.url}/.well-known/jwks.json")
    shown = verify_page.give(Case(json.dumps(samples.bundle), None, None), via="drop")
    assert shown["ok"], shown
    assert "To check: proof.json (dropped)" in page.inner_text("#file-name")
    assert "note:" not in shown["text"]  # the site's keys were used, not the file's own
    assert shown["text"] == expected_text(Case(json.dumps(samples.bundle), samples.jwks, None))


def test_a_pasted_receipt_shows_what_it_says(live, verify_page, samples):
    shown = verify_page.give(Case(samples.receipt, samples.jwks, None), via="paste")
    assert shown["ok"], shown
    fields = verify_page.page.inner_text("#receipt-fields")
    assert SUBJECT in fields and "accept_all" in fields and "news-example" in fields


def test_the_file_never_leaves_the_browser(live, verify_page, samples):
    verify_page.page.fill("#jwks-url", f"{live.url}/.well-known/jwks.json")
    for name in ["bundle", "export, edited byte", "receipt"]:
        case = samples.cases()[name]
        verify_page.give(Case(case.text, None, case.code), via="file")
    methods = {method for method, _url, _body in verify_page.requests}
    assert methods == {"GET"}, verify_page.requests
    assert all(body in (None, b"") for _m, _u, body in verify_page.requests)
    urls = [url for _m, url, _b in verify_page.requests]
    assert all(url.startswith(live.url) for url in urls)
    assert not any(SUBJECT in url or samples.receipt[:40] in url for url in urls)
    assert f"{live.url}/.well-known/jwks.json" in urls


def test_no_accessibility_or_csp_violations(verify_page, samples, artifacts):
    assert verify_page.axe_violations() == []
    cases = samples.cases()
    verify_page.give(cases["bundle, wrong inclusion proof"])
    assert verify_page.axe_violations() == []
    verify_page.page.screenshot(path=str(artifacts / "verify-tampered.png"), full_page=True)
    verify_page.give(cases["receipt"], via="paste")
    assert verify_page.axe_violations() == []
    assert SUBJECT in verify_page.page.inner_text("#receipt-fields")  # the paste came last
    verify_page.page.set_viewport_size({"width": 375, "height": 800})
    assert verify_page.axe_violations() == []
    width = verify_page.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "the page scrolls sideways at 375 px"
    verify_page.page.screenshot(path=str(artifacts / "verify-receipt-375.png"), full_page=True)
    assert verify_page.csp_violations() == []


def test_page_headers(live):
    response = live.app.test_client().get("/verify")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "form-action 'none'" in policy
    page = response.get_data(as_text=True)
    assert "<script>" not in page and "style=" not in page
