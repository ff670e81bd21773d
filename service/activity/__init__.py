"""The activity log: who did what to which object, and when, for every admin action from the API,
the console or the CLI. Append-only (database triggers) and hash-chained, verified like the ledger.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import models  # noqa: F401  (the table, for metadata and Alembic)
    from .cli import activity_cli

    app.cli.add_command(activity_cli)
