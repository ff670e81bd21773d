"""Sites: the websites whose visitors give consent, with their categories and settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """The sites API, ``consentry lint`` and ``consentry sites``, and CORS for every public view
    of a site (.cors)."""
    from ..extensions import api
    from . import cors, models  # noqa: F401  (models: tables for metadata and Alembic)
    from .cli import lint_command, sites_cli
    from .views import blp

    api.register_blueprint(blp)
    cors.init_app(app)
    app.cli.add_command(lint_command)
    app.cli.add_command(sites_cli)
