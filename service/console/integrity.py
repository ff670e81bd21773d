"""Full verification runs for the integrity page: the site's ledger and the activity log, in a
background thread with progress, the outcome written to the activity log (so the last result is
kept, signed into the chain, and seen by every worker)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from flask import Flask

from ..activity.service import latest_entry, record, stored_activity, verify_activity
from ..consents.models import LedgerHead
from ..consents.service import stored_entries, verify_site_ledger
from ..extensions import db

T = TypeVar("T")


@dataclass
class VerificationRun:
    """One run's progress; read by the status endpoint while the thread writes it."""

    site: str
    total: int
    done: int = 0
    phase: str = "ledger"
    finished: bool = False
    result: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def runs(app: Flask) -> dict[str, VerificationRun]:
    return app.extensions.setdefault("consentry_verification_runs", {})


def counted(items: Iterable[T], run: VerificationRun) -> Iterator[T]:
    for item in items:
        run.done += 1
        yield item


def ledger_size(site: str) -> int:
    head = db.session.get(LedgerHead, site)
    return head.seq if head else 0


def verify_site(site: str, run: VerificationRun, actor: str) -> dict[str, Any]:
    """Verify ``site``'s ledger (signatures included) and the whole activity log."""
    entries = counted(stored_entries(site), run)
    ledger = verify_site_ledger(site, check_signatures=True, entries=entries)
    run.phase = "activity log"
    activity = verify_activity(counted(stored_activity(), run))
    result = {
        "ledger_ok": ledger.ok,
        "ledger_entries": ledger.checked,
        "ledger_checkpoints": ledger.checkpoints_checked,
        "ledger_problems": [f"#{p.seq}: {p.message}" for p in ledger.problems[:20]],
        "activity_ok": activity.ok,
        "activity_entries": activity.entries,
        "activity_problems": activity.problems[:20],
    }
    record("integrity.verified", f"site:{site}", site=site, details=result, actor=actor)
    return result


def start_run(app: Flask, site: str, actor: str) -> VerificationRun:
    """Start a run for ``site`` unless one is going; the run (new or going) is returned."""
    active = runs(app).get(site)
    if active is not None and not active.finished:
        return active
    run = VerificationRun(site, total=ledger_size(site))

    def work() -> None:
        with app.app_context():
            try:
                run.result = verify_site(site, run, actor)
            except Exception as error:  # the page must say the run failed, not spin forever
                app.logger.exception("verification run for %s failed", site)
                run.result = {"error": f"The run stopped: {type(error).__name__}."}
            finally:
                run.finished = True
                db.session.remove()

    runs(app)[site] = run
    threading.Thread(target=work, name=f"verify-{site}", daemon=True).start()
    return run


def last_result(site: str):
    return latest_entry("integrity.verified", site)
