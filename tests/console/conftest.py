"""Console fixtures: users, and a test client that signs in through the real form."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/console/login") -> str:
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD):
    token = csrf_token(client)
    return client.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": token}
    )


def post_form(client: FlaskClient, path: str, data: dict, token_from: str | None = None):
    """POST a console form with the CSRF token of the page it is on."""
    token = csrf_token(client, token_from or path)
    return client.post(path, data={**data, "csrf_token": token})


@pytest.fixture
def make_user(app):
    from service.console.users import create_user

    def make(email: str, role: str = "owner", site: str | None = None):
        return create_user(email, role, PASSWORD, site)

    return make


@pytest.fixture
def signed_in(app, make_user):
    """A client signed in as a new user: ``signed_in("owner", site=None)``."""

    def make(role: str = "owner", site: str | None = None, email: str | None = None):
        email = email or f"{role}-{site or 'all'}@example.com"
        make_user(email, role, site)
        client = app.test_client()
        response = sign_in(client, email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make
