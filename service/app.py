"""The app factory: configuration, extensions, the error envelope, then each feature."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from flask import Flask

from .config import instance_path, load_config

PACKAGE_DIR = Path(__file__).resolve().parent

# Each feature package wires itself in with ``init_app(app)``: its models, blueprints, CLI
# commands and request hooks. The order is the OpenAPI document's, and the fast paths' (the
# consent POST's wraps the banner's, so it sees a request first).
FEATURES = (
    "service.sites",
    "service.jurisdictions",  # before documents: the banner's fast path resolves regions
    "service.documents",
    "service.consents",
    "service.audit",
    "service.auth",
    "service.pages",
    "service.demo",
    "service.scanner",
    "service.verify",
    "service.activity",
    "service.console",
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, error handlers, CORS, then every feature."""
    folder = (config or {}).get("INSTANCE_PATH") or instance_path()
    app = Flask("service", instance_path=folder, instance_relative_config=True)
    load_config(app, config)

    from . import database, errors, inputs, signing

    inputs.init_app(app)  # first: URL rules take their converters when they are added
    from .extensions import api, db, limiter, migrate

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"))
    limiter.init_app(app)
    api.init_app(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    errors.init_app(app)  # after api.init_app: our envelope replaces flask-smorest's
    signing.init_app(app)
    register_api_docs(app)
    for feature in FEATURES:
        importlib.import_module(feature).init_app(app)
    from . import accesslog, headers, proxies

    inputs.init_wsgi(app)
    headers.init_app(app)  # outside the fast paths, so their answers get the headers too
    accesslog.init_app(app)  # the request target the server logs, subject ids hashed
    proxies.init_app(app)  # outermost: everything inside sees the client's address
    return app


def register_api_docs(app: Flask) -> None:
    """Swagger UI over the OpenAPI document at ``/api/docs``, under a strict CSP."""
    from .pages.apidocs import bp as apidocs_bp

    app.register_blueprint(apidocs_bp)
