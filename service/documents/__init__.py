"""Versioned legal documents: drafts, immutable published versions, diffs and the banner config."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """The documents API, the banner config's fast path and ``consentry documents``."""
    from ..extensions import api
    from . import fastpath, models  # noqa: F401  (models: tables for metadata and Alembic)
    from .cli import documents_cli
    from .views import blp

    api.register_blueprint(blp)
    fastpath.init_app(app)
    app.cli.add_command(documents_cli)
