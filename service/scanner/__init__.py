"""The site scanner: what each page of a site does before and after a consent choice.

``cookiedb`` classifies cookies and hosts with the vendored Open Cookie Database; ``browser``
visits a page in headless Chromium; ``scan`` crawls; ``findings`` applies the rules; ``report``
builds the document that ``service`` signs and stores; ``views`` and ``cli`` are thin adapters.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the scans API and the ``consentry scan`` command."""
    from ..extensions import api
    from . import models as _models  # noqa: F401  (the table, for metadata and Alembic)
    from .cli import scan_command
    from .views import blp

    api.register_blueprint(blp)
    app.cli.add_command(scan_command)
