"""Finding 8 and the production refusals: weak secrets, debug mode, links taken from Host."""

from __future__ import annotations

import pytest

from service import create_app
from service.crypto.keys import generate_signing_key

STRONG = "x" * 32


@pytest.fixture
def production(tmp_path):
    key_file = tmp_path / "key.pem"
    key_file.write_text(generate_signing_key().private_pem())
    return {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/prod.db",
        "ENV": "production",
        "SECRET_KEY": STRONG,
        "PEPPER": STRONG,
        "SIGNING_KEY_FILES": [str(key_file)],
        "PUBLIC_URL": "https://consent.example.com",
    }


def test_a_sound_production_config_starts(production):
    app = create_app(production)
    assert app.config["TRUSTED_HOSTS"] is None  # every link is built from PUBLIC_URL


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": "s"}, "CONSENTRY_SECRET_KEY must be at least 32 bytes"),
        ({"SECRET_KEY": "x" * 31}, "CONSENTRY_SECRET_KEY must be at least 32 bytes"),
        ({"PEPPER": "p"}, "CONSENTRY_PEPPER must be at least 32 bytes"),
        ({"PUBLIC_URL": None}, "CONSENTRY_PUBLIC_URL must be set"),
        ({"PUBLIC_URL": "consent.example.com"}, "CONSENTRY_PUBLIC_URL must be set"),
        ({"DEBUG": True}, "debug mode"),
    ],
)
def test_production_refuses_unsafe_settings(production, override, message):
    with pytest.raises(RuntimeError, match=message):
        create_app({**production, **override})


def test_production_refuses_flask_debug_from_the_environment(production, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(RuntimeError, match="debug mode"):
        create_app(production)


def test_development_answers_only_allowed_hosts(client, make_site):
    make_site()
    for host in ("localhost", "localhost:5000", "127.0.0.1:8080"):
        response = client.get("/api/v1/sites/news-example/banner", headers={"Host": host})
        assert response.status_code == 200, host
    for _ in range(2):  # a miss, then what would be a cache hit on the fast path
        response = client.get("/api/v1/sites/news-example/banner", headers={"Host": "evil.example"})
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "bad_request"
        assert b"http://evil.example" not in response.data
        assert response.headers["Cache-Control"] == "no-store"


def test_allowed_hosts_are_configurable(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "ALLOWED_HOSTS": ["consent.example.com"],
        }
    )
    client = app.test_client()
    assert client.get("/healthz", headers={"Host": "consent.example.com"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "localhost"}).status_code == 400
