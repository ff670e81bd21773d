"""What recording a consent can come to: one of three typed outcomes, each with the site it was
checked against (the adapters decide the CORS headers from it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..errors import DomainError
    from .service import SiteContext


@dataclass(frozen=True, slots=True)
class Recorded:
    """A new entry in the ledger: its receipt (id, seq, time, signed receipt, subject token)."""

    receipt: dict[str, Any]
    site: SiteContext


@dataclass(frozen=True, slots=True)
class Replayed:
    """The event was recorded before: the receipt of its first recording, unchanged."""

    receipt: dict[str, Any]
    site: SiteContext


@dataclass(frozen=True, slots=True)
class Refused:
    """Nothing was recorded: the error answered (its status, code and details), and the site
    when it exists (an allowed origin can then read the error)."""

    error: DomainError
    site: SiteContext | None


Outcome = Recorded | Replayed | Refused
