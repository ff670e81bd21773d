"""Recording consent: the append-only, hash-chained, signed ledger of consent events."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """The consents API, the JWKS, the consent POST's fast path and ``consentry ledger``."""
    from ..extensions import api
    from . import fastpath, models, writer  # noqa: F401  (models: tables for metadata, Alembic)
    from .cli import ledger_cli
    from .views import blp, jwks

    api.register_blueprint(blp)
    app.add_url_rule("/.well-known/jwks.json", "jwks", jwks)
    writer.init_app(app)
    fastpath.init_app(app)
    app.cli.add_command(ledger_cli)
