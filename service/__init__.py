"""Consentry: versioned legal documents and a signed, tamper-evident consent ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from .config import instance_path, load_config

PACKAGE_DIR = Path(__file__).resolve().parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error handlers and CLI."""
    folder = (config or {}).get("INSTANCE_PATH") or instance_path()
    app = Flask(__name__, instance_path=folder, instance_relative_config=True)
    load_config(app, config)

    from . import cors, database, errors, jurisdictions, signing
    from .extensions import api, db, limiter, migrate

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"))
    limiter.init_app(app)
    api.init_app(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    errors.init_app(app)  # after api.init_app: our envelope replaces flask-smorest's
    cors.init_app(app)
    signing.init_app(app)

    _register_models()
    from .audit.views import blp as audit_blp
    from .consents.views import blp as consents_blp
    from .consents.views import jwks
    from .documents.views import blp as documents_blp
    from .pages.demo import bp as demo_bp
    from .pages.policy import bp as policy_pages_bp
    from .pages.views import bp as pages_bp
    from .pages.widget import bp as widget_bp
    from .sites.views import blp as sites_blp

    api.register_blueprint(sites_blp)
    api.register_blueprint(documents_blp)
    api.register_blueprint(consents_blp)
    api.register_blueprint(audit_blp)
    jurisdictions.init_app(app)
    app.add_url_rule("/.well-known/jwks.json", "jwks", jwks)
    app.register_blueprint(pages_bp)
    app.register_blueprint(policy_pages_bp)
    app.register_blueprint(widget_bp)
    app.register_blueprint(demo_bp)

    from . import scanner

    scanner.init_app(app)

    from flask_swagger_ui import get_swaggerui_blueprint

    app.register_blueprint(
        get_swaggerui_blueprint("/api/docs", "/api/openapi.json", config={"app_name": "Consentry"}),
        url_prefix="/api/docs",
    )

    from .consents import fastpath as consent_fastpath
    from .documents import fastpath as banner_fastpath

    banner_fastpath.init_app(app)
    consent_fastpath.init_app(app)

    from . import verify

    verify.init_app(app)

    from . import activity, console

    activity.init_app(app)
    console.init_app(app)

    from .cli import init_app as init_cli

    init_cli(app)
    return app


def _register_models() -> None:
    """Import every model so that metadata (and Alembic) sees all tables."""
    from .activity import models as _activity  # noqa: F401
    from .auth import models as _auth  # noqa: F401
    from .consents import models as _consents  # noqa: F401
    from .console import models as _console  # noqa: F401
    from .console import stats as _console_stats  # noqa: F401
    from .documents import models as _documents  # noqa: F401
    from .jurisdictions import models as _jurisdictions  # noqa: F401
    from .scanner import models as _scanner  # noqa: F401
    from .sites import models as _sites  # noqa: F401
