"""Every console route that names a site: a user bound to site A gets 404 for site B, exactly as
the API's guard answers; a role without the scope gets 403; the right user passes the guard."""

from __future__ import annotations

import pytest

from .conftest import csrf_token

VALUES = {
    "kind": "privacy",
    "version": 1,
    "record_id": "00000000-0000-0000-0000-000000000000",
}


def site_routes(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint.startswith("console.") and "site" in rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method, getattr(view, "required_scopes", None)


def call(client, rule, method: str, site: str):
    url = rule.build({**VALUES, "site": site})[1]
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(client, "/console/account")})


def test_every_site_route_is_guarded(app):
    unguarded = [rule.rule for rule, _m, scopes in site_routes(app) if not scopes]
    assert unguarded == []
    assert len(list(site_routes(app))) >= 20


def test_a_user_of_site_a_gets_404_for_site_b_everywhere(app, make_site, signed_in):
    make_site("site-a")
    make_site("site-b")
    client = signed_in("owner", site="site-a")
    failures = [
        (method, rule.rule, response.status_code)
        for rule, method, _scopes in site_routes(app)
        if (response := call(client, rule, method, "site-b")).status_code != 404
    ]
    assert failures == []


@pytest.mark.parametrize("role", ["editor", "auditor"])
def test_a_role_without_the_scope_gets_403(app, make_site, signed_in, role):
    from service.console.users import ROLE_SCOPES

    make_site("site-b")
    client = signed_in(role, site="site-b")
    held = set(ROLE_SCOPES[role])
    failures = []
    for rule, method, scopes in site_routes(app):
        if held & set(scopes):
            continue
        status = call(client, rule, method, "site-b").status_code
        if status != 403:
            failures.append((method, rule.rule, status))
    assert failures == []
