"""Consentry: versioned legal documents and a signed, tamper-evident consent ledger.

Importing the package imports nothing else: ``service.ledger`` and the offline verifier run
with the standard library and ``cryptography`` alone. ``create_app`` (in :mod:`service.app`) is
loaded on first use, so ``flask --app service`` and ``from service import create_app`` work.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
