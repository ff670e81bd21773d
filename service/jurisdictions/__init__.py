"""Jurisdictions: region rules and modes, region resolution, the compliance rules (run on site
changes and publications by :mod:`service.sites.compliance`) and the banner revisions served.
The adapters that read the ledger live above it: the ISO/IEC TS 27560 export in
:mod:`service.audit.records`, the visitor's receipt page in :mod:`service.pages.receipt`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Region resolution from trusted headers."""
    from . import (
        models,  # noqa: F401  (the tables, for metadata and Alembic)
        resolution,
    )

    resolution.init_app(app)
