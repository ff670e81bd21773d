"""The operator console: server-rendered pages at ``/console/`` for owners, editors and auditors.

People sign in with an email and password (argon2id) and optionally TOTP; sessions live in a
signed HttpOnly SameSite=Lax cookie that ends when idle; every form carries a CSRF token. A
user's role maps to the API's scopes and the pages check them with the API's own guard
(``service.auth.guard.check_grant``).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

DEFAULTS = {
    "CONSOLE_IDLE_MINUTES": 30,
    "CONSOLE_REQUIRE_2FA": False,
    # Failed sign-ins allowed per account and per client address before refusing.
    "CONSOLE_LOGIN_LIMIT_ACCOUNT": "5 per 15 minutes",
    "CONSOLE_LOGIN_LIMIT_CLIENT": "20 per 15 minutes",
}


def init_app(app: Flask) -> None:
    from . import models, stats  # noqa: F401  (tables, for metadata and Alembic)
    from .signin import LoginThrottle
    from .views.base import csrf

    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    app.config["SESSION_COOKIE_NAME"] = "consentry_session"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = app.config["ENV"] == "production"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        minutes=int(app.config["CONSOLE_IDLE_MINUTES"])
    )
    # The API authenticates with bearer keys, not cookies: only the console's forms need tokens,
    # and the console's blueprint asks for the check itself.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    app.extensions["consentry_login_throttle"] = LoginThrottle(
        app.config["RATELIMIT_STORAGE_URI"],
        app.config["CONSOLE_LOGIN_LIMIT_ACCOUNT"],
        app.config["CONSOLE_LOGIN_LIMIT_CLIENT"],
    )
    from . import views
    from .cli import users_cli

    app.register_blueprint(views.bp)
    app.cli.add_command(users_cli)
