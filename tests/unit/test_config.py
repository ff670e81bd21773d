from __future__ import annotations

import os
import stat

import pytest

from service import create_app


def test_environment_variables_override_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSENTRY_MAX_CONTENT_LENGTH", "1234")
    monkeypatch.setenv("CONSENTRY_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["MAX_CONTENT_LENGTH"] == 1234
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/env.db"


def test_instance_path_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSENTRY_INSTANCE_PATH", str(tmp_path / "data"))
    app = create_app()
    assert app.instance_path == str(tmp_path / "data")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/data/consentry.db"


@pytest.mark.parametrize("scheme", ["postgres://", "postgresql://"])
def test_postgres_urls_use_psycopg3(tmp_path, scheme):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"{scheme}u@h/db"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


def test_development_secrets_are_generated_once_with_private_permissions(tmp_path):
    first = create_app({"INSTANCE_PATH": str(tmp_path)})
    second = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 48
    for name in ("secret_key", "pepper"):
        mode = stat.S_IMODE(os.stat(tmp_path / name).st_mode)
        assert mode == 0o600, (name, oct(mode))


def test_production_refuses_to_start_without_secrets(tmp_path):
    with pytest.raises(RuntimeError, match="CONSENTRY_SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path), "ENV": "production"})
    assert not (tmp_path / "secret_key").exists()


def test_production_reads_secrets_from_files_named_in_the_environment(tmp_path):
    from service.crypto.keys import generate_signing_key

    (tmp_path / "s").write_text("from-file-secret-" + "s" * 32 + "\n")
    (tmp_path / "p").write_text("from-file-pepper-" + "p" * 32 + "\n")
    key = generate_signing_key()
    (tmp_path / "k.pem").write_text(key.private_pem())
    settings = {
        "INSTANCE_PATH": str(tmp_path / "inst"),
        "ENV": "production",
        "SECRET_KEY_FILE": str(tmp_path / "s"),
        "PEPPER_FILE": str(tmp_path / "p"),
        "PUBLIC_URL": "https://consent.example.com",
    }
    with pytest.raises(RuntimeError, match="SIGNING_KEY"):
        create_app(settings)
    app = create_app({**settings, "SIGNING_KEY_FILES": [str(tmp_path / "k.pem")]})
    assert app.config["SECRET_KEY"] == "from-file-secret-" + "s" * 32
    assert app.config["PEPPER"] == "from-file-pepper-" + "p" * 32
    assert app.extensions["consentry_keys"].ring().current.kid == key.kid
    assert not (tmp_path / "inst" / "signing-keys").exists()
