"""API keys: creation, storage as SHA-256 only, and the scope/site check on admin routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """``consentry keys`` (the guard is applied by each admin view); the scopes in OpenAPI."""
    from ..extensions import api
    from . import models  # noqa: F401  (tables for metadata and Alembic)
    from .cli import keys_cli
    from .service import SCOPES

    app.cli.add_command(keys_cli)
    api.spec.components.security_schemes["bearerAuth"]["description"] = (
        "An API key (`csk_...`, made with `consentry keys create` or on the console's keys "
        "page), bound to one site or to all. Scopes: " + ", ".join(SCOPES) + "."
    )
