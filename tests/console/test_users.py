"""Console users: the service rules and the ``consentry users`` commands."""

from __future__ import annotations

import pytest

from service.console import users
from service.console.models import User
from service.errors import Conflict, NotFound, Unprocessable
from service.extensions import db

from .conftest import PASSWORD


def test_password_is_stored_as_argon2id_only(app):
    user = users.create_user("Ada@Example.com", "owner", PASSWORD)
    assert user.email == "ada@example.com"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert users.verify_password(user, PASSWORD)
    assert not users.verify_password(user, PASSWORD + "x")


@pytest.mark.parametrize(
    ("email", "role", "password"),
    [
        ("not-an-email", "owner", PASSWORD),
        ("a@example.com", "king", PASSWORD),
        ("a@example.com", "owner", "short"),
        ("a@example.com", "owner", "x" * 2000),
        ("a@example.com", "owner", "nul\x00in the middle"),
    ],
)
def test_bad_user_input_is_refused(app, email, role, password):
    with pytest.raises(Unprocessable):
        users.create_user(email, role, password)


def test_duplicate_email_and_unknown_site_are_refused(app):
    users.create_user("a@example.com", "owner", PASSWORD)
    with pytest.raises(Conflict):
        users.create_user("A@example.com", "editor", PASSWORD)
    with pytest.raises(NotFound):
        users.create_user("b@example.com", "editor", PASSWORD, "no-such-site")


def test_roles_hold_the_api_scopes(app):
    assert users.ROLE_SCOPES["owner"] == ("sites:admin", "documents:publish", "audit:read")
    assert users.ROLE_SCOPES["editor"] == ("documents:publish",)
    assert users.ROLE_SCOPES["auditor"] == ("audit:read",)


def test_disable_and_reset_end_sessions(app):
    user = users.create_user("a@example.com", "auditor", PASSWORD)
    epoch = user.session_epoch
    users.reset_password("a@example.com", "another long password")
    assert user.session_epoch == epoch + 1
    assert users.verify_password(user, "another long password")
    users.disable_user("a@example.com")
    assert db.session.get(User, user.id).disabled_at is not None


def test_cli_create_reads_password_twice_from_stdin(runner, app):
    result = runner.invoke(
        args=["users", "create", "cli@example.com", "--role", "editor"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    user = users.get_user("cli@example.com")
    assert user.role == "editor" and user.site_id is None
    assert users.verify_password(user, PASSWORD)


def test_cli_refuses_mismatched_confirmation(runner, app):
    result = runner.invoke(
        args=["users", "create", "cli@example.com", "--role", "editor"],
        input=f"{PASSWORD}\n{PASSWORD}!\n",
    )
    assert result.exit_code != 0
    assert "differ" in result.output
    with pytest.raises(NotFound):
        users.get_user("cli@example.com")


def test_cli_generate_prints_a_working_one_time_password(runner, app, make_site):
    make_site("news-example")
    result = runner.invoke(
        args=[
            "users",
            "create",
            "gen@example.com",
            "--role",
            "owner",
            "--site",
            "news-example",
            "--generate",
        ]
    )
    assert result.exit_code == 0, result.output
    password = result.stdout.strip().splitlines()[0]
    user = users.get_user("gen@example.com")
    assert user.site_id == "news-example"
    assert users.verify_password(user, password)


def test_cli_list_disable_reset(runner, app):
    users.create_user("a@example.com", "auditor", PASSWORD)
    assert runner.invoke(args=["users", "disable", "a@example.com"]).exit_code == 0
    listing = runner.invoke(args=["users", "list"]).output
    assert "a@example.com\tauditor\t*\tdisabled" in listing
    result = runner.invoke(args=["users", "reset-password", "a@example.com", "--generate"])
    assert result.exit_code == 0
    assert users.verify_password(users.get_user("a@example.com"), result.stdout.split()[0])
    missing = runner.invoke(args=["users", "disable", "nobody@example.com"])
    assert missing.exit_code != 0 and "No user" in missing.output


def test_demo_owner_gets_a_fresh_password_each_run(app):
    email, first = users.seed_demo_owner()
    again, second = users.seed_demo_owner()
    user = users.get_user(email)
    assert email == again and user.role == "owner" and user.site_id is None
    assert users.verify_password(user, second) and not users.verify_password(user, first)


def test_demo_command_prints_console_credentials(app, runner, monkeypatch):
    monkeypatch.setattr("werkzeug.serving.run_simple", lambda *args, **kwargs: None)
    result = runner.invoke(args=["demo", "--port", "5056", "--visitors-per-day", "0"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("Console:"))
    password = line.rsplit(" with ", 1)[1].rstrip(")")
    assert users.verify_password(users.get_user(users.DEMO_OWNER), password)
