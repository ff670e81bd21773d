"""Versioned legal documents: drafts, immutable published versions, diffs and the banner config."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """The documents API, the banner config's fast path and ``consentry documents``."""
    from ..extensions import api
    from ..sites.compliance import register_documents_reader
    from . import fastpath, models  # noqa: F401  (models: tables for metadata and Alembic)
    from .cli import documents_cli
    from .service import texts_in_force
    from .views import blp

    api.register_blueprint(blp)
    register_documents_reader(app, texts_in_force)
    fastpath.init_app(app)
    app.cli.add_command(documents_cli)
