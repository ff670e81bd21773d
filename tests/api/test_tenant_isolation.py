"""Every admin route, found from the app's URL map, checks the key's scope and site: a key bound
to site A gets 404 for site B's objects (as if they did not exist), a key of site B without the
scope gets 403. A new /api/v1 route must be guarded or listed here as public: it cannot forget.
"""

from __future__ import annotations

import pytest

from service.auth.service import SCOPES
from service.scanner.service import store_report
from tests.helpers.consents import ORIGIN, event
from tests.helpers.documents import draft_and_publish
from tests.helpers.scans import scan_report

# Called by the widget or by anyone; each checks what it serves (see DESIGN.md section 3).
PUBLIC = {
    "documents.list_versions",
    "documents.get_version",
    "documents.current_document",
    "documents.banner_config",
    "consents.record_consent",
    "consents.verify_receipt",
    "consents.latest_checkpoint",
    "audit.my_consents",  # authenticated by the subject's own token, not an API key
}
# Guarded routes without a site in the URL (they list or create sites).
SITELESS = {"sites.create_site", "sites.list_sites"}
METHODS_WITH_BODY = {"POST", "PATCH", "PUT"}


@pytest.fixture
def site_b(client, admin, make_site) -> dict[str, object]:
    """Site B with a published document and a consent record: real ids for every URL param."""
    make_site("site-a")
    make_site("site-b")
    draft_and_publish(client, admin, "privacy", "site-b")
    version = draft_and_publish(client, admin, "privacy", "site-b", body="Version two.")
    body = event(
        subject="s_visitor_b001",
        documents={"privacy": {"version": 2, "sha256": version["content_sha256"]}},
    )
    answer = client.post(
        "/api/v1/sites/site-b/consents", json=body, headers={"Origin": ORIGIN}
    ).get_json()
    return {
        "site": "site-b",
        "kind": "privacy",
        "version": 2,  # has a previous version, so the diff route answers too
        "record_id": answer["id"],
        "subject": "s_visitor_b001",
        "scan_id": store_report("site-b", scan_report("site-b")).id,
    }


def api_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            view = app.view_functions[rule.endpoint]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method, view


def url_for_rule(rule, values: dict[str, object]) -> str:
    missing = rule.arguments - set(values)
    assert not missing, f"{rule.endpoint}: give the test a real value for {sorted(missing)}"
    return rule.build({name: values[name] for name in rule.arguments})[1]


def call(client, method: str, url: str, headers: dict[str, str]):
    kwargs = {"json": {}} if method in METHODS_WITH_BODY else {}
    return client.open(url, method=method, headers=headers, **kwargs)


def test_every_api_route_is_guarded_or_explicitly_public(app):
    unguarded = {
        rule.endpoint
        for rule, _method, view in api_routes(app)
        if not getattr(view, "required_scopes", None)
    }
    assert unguarded == PUBLIC, "guard the route with require_scope or list it in PUBLIC"
    guarded = [(rule, view) for rule, _m, view in api_routes(app) if rule.endpoint not in PUBLIC]
    assert len(guarded) >= 15
    for rule, _view in guarded:
        assert "site" in rule.arguments or rule.endpoint in SITELESS, rule.endpoint


def test_a_key_of_site_a_gets_404_for_site_b_on_every_admin_route(app, client, keys, site_b):
    key_a = keys(*SCOPES, site="site-a")
    failures = []
    for rule, method, view in api_routes(app):
        if not getattr(view, "required_scopes", None) or rule.endpoint in SITELESS:
            continue
        response = call(client, method, url_for_rule(rule, site_b), key_a)
        error = (response.get_json() or {}).get("error", {})
        if response.status_code != 404 or error.get("message") != "Site 'site-b' not found.":
            failures.append((method, rule.rule, response.status_code, error))
    assert failures == []


def test_a_key_without_the_scope_gets_403_on_every_admin_route(app, client, keys, site_b):
    failures = []
    for rule, method, view in api_routes(app):
        required = getattr(view, "required_scopes", None)
        if not required:
            continue
        lacking = keys(*[scope for scope in SCOPES if scope not in required], site="site-b")
        response = call(client, method, url_for_rule(rule, site_b), lacking)
        if response.status_code != 403:
            failures.append((method, rule.rule, response.status_code))
    assert failures == []


def test_the_right_key_passes_the_guard_on_every_admin_route(app, client, keys, site_b):
    """The control: the same requests with site B's own key are not refused by the guard."""
    failures = []
    routes = sorted(api_routes(app), key=lambda item: item[0].endpoint == "audit.erase_subject")
    for rule, method, view in routes:
        required = getattr(view, "required_scopes", None)
        if not required or rule.endpoint in SITELESS:
            continue
        response = call(client, method, url_for_rule(rule, site_b), keys(*required, site="site-b"))
        if response.status_code in (401, 403, 404):
            failures.append((method, rule.rule, response.status_code, response.get_json()))
    assert failures == []


def test_requests_without_a_key_get_401_on_every_admin_route(app, client, site_b):
    failures = []
    for rule, method, view in api_routes(app):
        if getattr(view, "required_scopes", None):
            response = call(client, method, url_for_rule(rule, site_b), {})
            if response.status_code != 401:
                failures.append((method, rule.rule, response.status_code))
    assert failures == []
