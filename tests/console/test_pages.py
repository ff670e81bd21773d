"""Every console page through the test client: the jobs of the API, done from forms, with the
same rules; bad input answers a readable page, never a 500; another site's objects are 404."""

from __future__ import annotations

import html as html_module
import json
import time

import pytest

from service.activity.service import query_activity
from service.auth.models import ApiKey
from service.console import users
from service.extensions import db
from tests.helpers.audit import SITE, accept, recording_site

from .conftest import post_form

BASE = f"/console/sites/{SITE}"


@pytest.fixture
def recorded(client, admin, make_site):
    recorder = recording_site(client, admin, make_site)
    receipts = [recorder(**accept(f"s_visitor_{n:04}")) for n in range(3)]
    return recorder, receipts


def text(response) -> str:
    return response.get_data(as_text=True)


def test_site_settings_save_through_the_api_rules(make_site, signed_in):
    make_site(SITE)
    owner = signed_in("owner")
    page = owner.get(f"{BASE}/settings")
    assert page.status_code == 200 and "allowed origins" in text(page)
    form = {
        "name": "Renamed",
        "allowed_origins": "https://news.example.com\nhttps://*.example.org",
        "mode": "opt-in",
        "default_locale": "en",
        "honour_gpc": "1",
        "consent_lifetime_days": "200",
        "retention_days": "400",
    }
    saved = post_form(owner, f"{BASE}/settings", form)
    assert saved.status_code == 302
    site = owner.get(f"/api/v1/sites/{SITE}")  # no key: the API still wants one
    assert site.status_code == 401
    from service.sites.service import get_site

    row = get_site(SITE)
    assert row.name == "Renamed" and row.consent_lifetime_days == 200 and row.honour_gpc
    assert row.allowed_origins == ["https://news.example.com", "https://*.example.org"]
    assert query_activity(action="site.changed").items[0].actor == "user:owner-all@example.com"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("consent_lifetime_days", "9999", "consent_lifetime_days"),
        ("allowed_origins", "not a url", "allowed_origins"),
        ("categories", "[{broken json", "not valid JSON"),
        ("consent_mode", '{"enabled": true, "mapping": {"ad_storage": ["nope"]}}', "nope"),
        ("consent_lifetime_days", "twelve", "consent_lifetime_days"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(make_site, signed_in, field, value, message):
    make_site(SITE)
    owner = signed_in("owner")
    response = post_form(owner, f"{BASE}/settings", {"name": "X", field: value})
    assert response.status_code == 422
    assert "Nothing was saved" in text(response) and message in text(response)


def test_new_site_form(signed_in):
    owner = signed_in("owner")
    data = {"id": "fresh-site", "name": "Fresh", "allowed_origins": "https://fresh.example"}
    assert post_form(owner, "/console/sites/new", data).status_code == 302
    again = post_form(owner, "/console/sites/new", data)
    assert again.status_code == 422 and "already exists" in text(again)
    bad = post_form(owner, "/console/sites/new", {**data, "id": "Not A Slug!"})
    assert bad.status_code == 422


def test_draft_edit_preview_diff_and_publish(make_site, signed_in):
    make_site(SITE)
    editor = signed_in("editor")
    created = post_form(editor, f"{BASE}/documents/privacy/drafts", {}, f"{BASE}/documents")
    assert created.status_code == 302
    draft = created.headers["Location"]
    saved = post_form(
        editor, draft, {"locale": "en", "title": "Privacy", "body": "# Hello\n\nWe keep *little*."}
    )
    assert saved.status_code == 302
    page = text(editor.get(draft))
    assert "<em>little</em>" in page  # the rendered preview
    assert (
        post_form(
            editor, draft + "/publish", {"material": "1", "summary": "First"}, draft
        ).status_code
        == 302
    )
    # A second draft shows the diff against the current version.
    second = post_form(editor, f"{BASE}/documents/privacy/drafts", {}, f"{BASE}/documents")
    url = second.headers["Location"]
    post_form(
        editor, url, {"locale": "en", "title": "Privacy", "body": "# Hello\n\nWe keep nothing."}
    )
    page = text(editor.get(url))
    assert "<del>" in page and "<ins>" in page
    listing = text(editor.get(f"{BASE}/documents"))
    assert "current" in listing and "draft" in listing
    assert "/p/news-example/privacy/v/1" in listing
    rendered = post_form(editor, f"{BASE}/documents/render", {"body": "**b**"}, url)
    assert rendered.get_json() == {"html": "<p><strong>b</strong></p>\n"}
    actions = [e.action for e in query_activity().items]
    assert {"draft.created", "draft.edited", "version.published"} <= set(actions)


def test_bad_document_input_reads_well(make_site, signed_in):
    make_site(SITE)
    editor = signed_in("editor")
    url = post_form(editor, f"{BASE}/documents/privacy/drafts", {}, f"{BASE}/documents").headers[
        "Location"
    ]
    empty = post_form(editor, url, {"locale": "en", "title": "", "body": ""})
    assert empty.status_code == 422 and "is empty" in text(empty)
    past = post_form(editor, url + "/publish", {"effective_at": "2001-01-01T00:00"}, url)
    assert past.status_code == 422 and "in the past" in text(past)
    garbage = post_form(editor, url + "/publish", {"effective_at": "soon"}, url)
    assert garbage.status_code == 422
    assert editor.get(f"{BASE}/documents/novel/1").status_code == 404
    assert editor.get(url + "?locale=!!").status_code == 422
    assert editor.get(f"{BASE}/documents/privacy/99").status_code == 404


def test_ledger_search_record_proofs_and_export(recorded, signed_in):
    _recorder, receipts = recorded
    auditor = signed_in("auditor")
    page = text(auditor.get(f"{BASE}/ledger?action=accept_all&subject=s_visitor_0001"))
    assert "s_visitor_0001" in page and "s_visitor_0002" not in page
    record_id = receipts[1]["id"]
    detail = text(auditor.get(f"{BASE}/ledger/records/{record_id}"))
    assert "yes, the proof checks" in detail and "valid" in detail
    assert '"subject": "s_visitor_0001"' in html_module.unescape(detail)
    bundle = auditor.get(f"{BASE}/ledger/proof.json?subject=s_visitor_0001")
    assert bundle.status_code == 200 and json.loads(bundle.data)["verification"]["ok"]
    html = auditor.get(f"{BASE}/ledger/proof.html?subject=s_visitor_0001")
    assert html.status_code == 200 and "attachment" in html.headers["Content-Disposition"]
    export = auditor.get(f"{BASE}/ledger/export?format=ndjson")
    assert export.status_code == 200 and len(export.get_data().splitlines()) >= 4
    assert auditor.get(f"{BASE}/ledger/export?format=csv").mimetype == "text/csv"


@pytest.mark.parametrize(
    "query",
    [
        "action=dance",
        "method=telepathy",
        "document=privacy",
        "from=yesterday",
        "cursor=zzz",
        "subject=" + "x" * 500,
        "from=2026-05-02&to=2026-05-01",
    ],
)
def test_bad_ledger_searches_read_well(recorded, signed_in, query):
    response = signed_in("auditor").get(f"{BASE}/ledger?{query}")
    assert response.status_code == 422
    assert "The search is not valid" in text(response) or "cursor" in text(response)


def test_ledger_pages_with_a_cursor(client, admin, make_site, signed_in):
    recorder = recording_site(client, admin, make_site)
    for n in range(55):
        recorder(**accept(f"s_visitor_{n:04}"))
    auditor = signed_in("auditor")
    first = text(auditor.get(f"{BASE}/ledger"))
    assert "s_visitor_0054" in first and "s_visitor_0000" not in first
    link = first.split('href="', first.index("Older records") - 200)
    cursor_url = (
        [part for part in link if "cursor=" in part][-1].split('"')[0].replace("&amp;", "&")
    )
    second = text(auditor.get(cursor_url))
    assert "s_visitor_0000" in second and "s_visitor_0054" not in second


def test_erasure_needs_the_typed_confirmation_and_a_reason(recorded, signed_in):
    owner = signed_in("owner")
    url = f"{BASE}/ledger/erase"
    wrong = post_form(
        owner, url, {"subject": "s_visitor_0001", "reason": "DSR-1", "confirmation": "erase"}
    )
    assert wrong.status_code == 422 and "Type exactly: erase s_visitor_0001" in text(wrong)
    no_reason = post_form(
        owner,
        url,
        {"subject": "s_visitor_0001", "reason": "", "confirmation": "erase s_visitor_0001"},
    )
    assert no_reason.status_code == 422
    done = post_form(
        owner,
        url,
        {"subject": "s_visitor_0001", "reason": "DSR-1", "confirmation": "erase s_visitor_0001"},
    )
    assert done.status_code == 302
    assert "1 records redacted" in text(owner.get(done.headers["Location"]))
    entry = query_activity(action="subject.erased").items[0]
    assert entry.details == {"records": 1, "reason": "DSR-1"}
    assert "s_visitor_0001" not in entry.object  # only the keyed hash
    unknown = post_form(
        owner, url, {"subject": "s_nobody", "reason": "x-1", "confirmation": "erase s_nobody"}
    )
    assert unknown.status_code == 422 and "No consent records" in text(unknown)
    assert post_form(signed_in("auditor"), url, {}, f"{BASE}/ledger").status_code == 403


def test_integrity_run_records_its_result(recorded, signed_in, app):
    auditor = signed_in("auditor")
    assert "No verification has run yet" in text(auditor.get(f"{BASE}/integrity"))
    started = post_form(auditor, f"{BASE}/integrity/run", {}, f"{BASE}/integrity")
    assert started.status_code == 302
    deadline = time.time() + 30
    while not auditor.get(f"{BASE}/integrity/status").get_json()["finished"]:
        assert time.time() < deadline
        time.sleep(0.1)
    status = auditor.get(f"{BASE}/integrity/status").get_json()
    assert status["result"]["ledger_ok"], status
    db.session.rollback()  # the test's requests share one session: end its read snapshot
    page = text(auditor.get(f"{BASE}/integrity"))
    assert page.count('<span class="ok">verified</span>') == 2, page
    entry = query_activity(action="integrity.verified").items[0]
    assert entry.details["ledger_ok"] and entry.details["ledger_entries"] == 3


def test_api_key_shown_once_then_revoked(make_site, signed_in, client):
    make_site(SITE)
    owner = signed_in("owner", site=SITE)
    created = post_form(owner, "/console/keys", {"scopes": ["audit:read"], "label": "ci"})
    assert created.status_code == 201
    plaintext = text(created).split('<code id="new-key">')[1].split("<")[0]
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get(f"/api/v1/sites/{SITE}/consents", headers=headers).status_code == 200
    assert plaintext not in text(owner.get("/console/keys"))
    key = db.session.execute(db.select(ApiKey).where(ApiKey.label == "ci")).scalar_one()
    assert key.site_id == SITE  # a site-bound owner makes site-bound keys
    assert (
        post_form(owner, f"/console/keys/{key.id}/revoke", {}, "/console/keys").status_code == 302
    )
    assert client.get(f"/api/v1/sites/{SITE}/consents", headers=headers).status_code == 401
    none = post_form(owner, "/console/keys", {"label": "no scopes"})
    assert none.status_code == 422 and "scope" in text(none)
    assert post_form(owner, "/console/keys/abc/revoke", {}, "/console/keys").status_code == 422


def test_site_bound_owner_cannot_touch_other_sites_keys(make_site, signed_in, keys):
    make_site("a-site")
    make_site("b-site")
    keys("audit:read", site="b-site")
    other = db.session.execute(db.select(ApiKey).where(ApiKey.site_id == "b-site")).scalar_one()
    owner = signed_in("owner", site="a-site")
    assert f"{other.prefix}" not in text(owner.get("/console/keys"))
    revoke = post_form(owner, f"/console/keys/{other.id}/revoke", {}, "/console/keys")
    assert revoke.status_code == 404


def test_users_page_creates_disables_and_resets(make_site, signed_in):
    make_site(SITE)
    owner = signed_in("owner")
    created = post_form(
        owner, "/console/users", {"email": "new@example.com", "role": "auditor", "site": SITE}
    )
    assert created.status_code == 201
    password = text(created).split('<code id="one-time-password">')[1].split("<")[0]
    user = users.get_user("new@example.com")
    assert users.verify_password(user, password) and user.site_id == SITE
    disabled = post_form(
        owner,
        "/console/users/change",
        {"email": "new@example.com", "operation": "disable"},
        "/console/users",
    )
    assert disabled.status_code == 200 and users.get_user("new@example.com").disabled_at
    reset = post_form(
        owner,
        "/console/users/change",
        {"email": "new@example.com", "operation": "reset"},
        "/console/users",
    )
    assert "one-time-password" in text(reset)
    self_disable = post_form(
        owner,
        "/console/users/change",
        {"email": "owner-all@example.com", "operation": "disable"},
        "/console/users",
    )
    assert self_disable.status_code == 409
    bad = post_form(owner, "/console/users", {"email": "nope", "role": "auditor"})
    assert bad.status_code == 422 and "valid email" in text(bad)


def test_site_bound_owner_manages_only_their_sites_users(make_site, signed_in, make_user):
    make_site("a-site")
    make_site("b-site")
    make_user("b@example.com", "auditor", "b-site")
    owner = signed_in("owner", site="a-site")
    assert "b@example.com" not in text(owner.get("/console/users"))
    change = post_form(
        owner,
        "/console/users/change",
        {"email": "b@example.com", "operation": "reset"},
        "/console/users",
    )
    assert change.status_code == 404
    created = post_form(
        owner, "/console/users", {"email": "c@example.com", "role": "owner", "site": ""}
    )
    assert created.status_code == 201
    assert users.get_user("c@example.com").site_id == "a-site"  # never an all-sites user


def test_banner_preview_pages(make_site, signed_in):
    make_site(SITE)
    owner = signed_in("owner")
    page = owner.get(f"{BASE}/preview?locale=de")
    assert page.status_code == 200 and 'sandbox="allow-scripts allow-same-origin"' in text(page)
    frame = owner.get(f"{BASE}/preview/frame?locale=de")
    assert '<html lang="de">' in text(frame)
    assert "frame-ancestors 'self'" in frame.headers["Content-Security-Policy"]
    assert owner.get(f"{BASE}/preview?locale=<script>").status_code == 422
    assert signed_in("auditor").get(f"{BASE}/preview").status_code == 403


def test_the_draft_editor_bounds_markdown_with_the_error_envelope(make_site, signed_in):
    make_site(SITE)
    editor = signed_in("editor")
    url = post_form(editor, f"{BASE}/documents/privacy/drafts", {}, f"{BASE}/documents").headers[
        "Location"
    ]
    long = post_form(editor, f"{BASE}/documents/render", {"body": "[" * 250_000}, url)
    assert long.status_code == 413
    assert long.get_json()["error"]["code"] == "payload_too_large"
    deep = post_form(editor, f"{BASE}/documents/render", {"body": "> " * 20 + "x"}, url)
    assert deep.status_code == 422
    assert "nested too deeply" in deep.get_json()["error"]["message"]
    # A policy longer than an API call (64 KiB) can be saved, and a refused one reads well.
    policy = "We keep little.\n\n" * 5000
    saved = post_form(editor, url, {"locale": "en", "title": "Privacy", "body": policy})
    assert saved.status_code == 302, text(saved)[:300]
    refused = post_form(editor, url, {"locale": "en", "title": "Privacy", "body": "a" * 150_001})
    assert refused.status_code == 422
    page = text(refused)
    assert "at most 150000 characters" in page and "No preview" in page
