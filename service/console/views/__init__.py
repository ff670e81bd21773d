"""The console's pages, one module per area; :mod:`.base` holds the blueprint they register on."""

from . import (  # noqa: F401  (routes register on bp)
    activity,
    auth,
    documents,
    integrity,
    keys,
    ledger,
    overview,
    preview,
    sites,
    users,
)
from .base import bp

__all__ = ["bp"]
