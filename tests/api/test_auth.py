from __future__ import annotations

import pytest

from service.auth.models import ApiKey
from service.auth.service import hash_key
from service.extensions import db
from tests.helpers.sites import site_payload


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer csk_not-a-real-key",
        "Bearer " + "x" * 5000,
        "Token csk_abc",
    ],
)
def test_missing_or_invalid_key_is_401(client, make_site, header):
    make_site()
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/api/v1/sites/news-example", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_wrong_scope_is_403(client, make_site, keys):
    make_site()
    response = client.get("/api/v1/sites/news-example", headers=keys("audit:read"))
    assert response.status_code == 403
    assert response.get_json()["error"]["details"]["required"] == ["sites:admin"]


def test_key_of_another_site_gets_the_same_404_as_a_missing_site(client, make_site, keys):
    make_site("site-a")
    make_site("site-b")
    key_a = keys("sites:admin", site="site-a")
    assert client.get("/api/v1/sites/site-a", headers=key_a).status_code == 200

    other = client.get("/api/v1/sites/site-b", headers=key_a)
    missing = client.get("/api/v1/sites/site-zz", headers=key_a)
    assert other.status_code == missing.status_code == 404
    assert other.get_json()["error"]["message"].replace("site-b", "X") == missing.get_json()[
        "error"
    ]["message"].replace("site-zz", "X")
    listed = client.get("/api/v1/sites", headers=key_a).get_json()
    assert [s["id"] for s in listed["items"]] == ["site-a"]
    patched = client.patch("/api/v1/sites/site-b", json={"name": "Hijacked"}, headers=key_a)
    assert patched.status_code == 404


def test_site_bound_key_cannot_create_sites(client, make_site, keys):
    make_site("site-a")
    response = client.post(
        "/api/v1/sites", json=site_payload("site-c"), headers=keys("sites:admin", site="site-a")
    )
    assert response.status_code == 403


def test_revoked_key_is_401(app, client, make_site, admin):
    from service.auth.service import create_api_key, revoke_api_key

    make_site()
    key, plaintext = create_api_key(["sites:admin"])
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/sites/news-example", headers=headers).status_code == 200
    revoke_api_key(key.id)
    assert client.get("/api/v1/sites/news-example", headers=headers).status_code == 401


def test_only_the_sha256_of_a_key_is_stored(app):
    from service.auth.service import create_api_key

    key, plaintext = create_api_key(["audit:read"])
    row = db.session.get(ApiKey, key.id)
    assert row.key_sha256 == hash_key(plaintext)
    assert plaintext not in repr(row.__dict__)
    assert len(plaintext) >= 4 + 43  # prefix + 256 bits in base64url


def test_cli_creates_lists_and_revokes_keys(app, runner, make_site):
    make_site()
    created = runner.invoke(
        args=["keys", "create", "--scope", "audit:read", "--site", "news-example"]
    )
    assert created.exit_code == 0, created.output
    plaintext = created.stdout.strip().splitlines()[0]
    assert plaintext.startswith("csk_")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/sites/news-example", headers=headers).status_code == 403

    listed = runner.invoke(args=["keys", "list"])
    assert "audit:read" in listed.output and plaintext not in listed.output
    (line,) = [line for line in listed.output.splitlines() if plaintext[:12] in line]
    key_id = line.split("\t")[0]
    assert runner.invoke(args=["keys", "revoke", key_id]).exit_code == 0
    assert client.get("/api/v1/sites/news-example", headers=headers).status_code == 401


def test_cli_refuses_unknown_scope_and_unknown_site(runner):
    assert runner.invoke(args=["keys", "create", "--scope", "root"]).exit_code != 0
    result = runner.invoke(args=["keys", "create", "--scope", "audit:read", "--site", "nope"])
    assert result.exit_code != 0
