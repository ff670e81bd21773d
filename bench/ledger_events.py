"""Consent events for the benchmarks' ledgers, seeded through the bulk path
(:func:`service.consents.bulk.bulk_append`: real bodies, chain, signatures, checkpoints).

One builder for every bench that needs a large ledger (``audit.py``, ``console.py``): the event
at ``index`` is the same whichever bench asks for it, so ledgers grow by appending.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

RECORDS_PER_SUBJECT = 4
DOCUMENTS = {"privacy": {"version": 3, "sha256": "ab" * 32}}
CHOICES = {
    "accept_all": {"necessary": True, "analytics": True, "marketing": True},
    "reject_all": {"necessary": True, "analytics": False, "marketing": False},
    "custom": {"necessary": True, "analytics": True, "marketing": False},
    "withdraw": {"necessary": True, "analytics": False, "marketing": False},
}


def same_documents(_index: int) -> dict[str, Any]:
    return DOCUMENTS


def consent_events(
    first: int,
    last: int,
    *,
    subjects: int,
    start: datetime,
    step: timedelta,
    actions: Sequence[str] = ("accept_all", "accept_all", "reject_all", "custom"),
    methods: Sequence[str] = ("banner",),
    regions: Sequence[str | None] = (None,),
    documents: Callable[[int], dict[str, Any]] = same_documents,
) -> Iterator[dict[str, Any]]:
    """Events ``first`` .. ``last - 1``: subject ``index % subjects``, recorded at
    ``start + step * index``, action, method and region drawn (seeded by ``first``) from the
    given choices, the documents ``documents(index)`` names, GPC on every 17th."""
    rng = random.Random(first)
    for index in range(first, last):
        action = rng.choice(actions)
        region = rng.choice(regions)
        yield {
            "subject": f"s_bench_{index % subjects:010d}",
            "action": action,
            "choices": CHOICES[action],
            "documents": documents(index),
            "revision": "ef" * 32,
            "method": rng.choice(methods),
            "gpc": index % 17 == 0,
            "locale": "en",
            "page": "https://news.example.com/article/1",
            "user_agent": "Firefox 140 / Linux / desktop",
            "recorded_at": start + step * index,
            **({"region": region, "mode": "opt-in"} if region is not None else {}),
        }
