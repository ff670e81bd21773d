"""Integrity: the latest checkpoint, and full verification runs with progress and last result."""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, url_for

from ...activity.service import describe_time
from ...consents.service import latest_checkpoint, signed
from ...sites.service import get_site
from .. import integrity
from .base import bp, page


@bp.route("/sites/<site>/integrity", endpoint="integrity")
@page("audit:read")
def integrity_page(site: str):
    get_site(site)
    row = latest_checkpoint(site)
    run = integrity.runs(current_app).get(site)
    return render_template(
        "console/integrity.html",
        site=site,
        checkpoint=signed(row).to_dict() if row else None,
        ledger_size=integrity.ledger_size(site),
        run=run if run and not run.finished else None,
        last=integrity.last_result(site),
        describe_time=describe_time,
    )


@bp.route("/sites/<site>/integrity/run", methods=["POST"])
@page("audit:read")
def integrity_run(site: str):
    get_site(site)
    integrity.start_run(current_app._get_current_object(), site, f"user:{g.console_user.email}")
    return redirect(url_for("console.integrity", site=site))


@bp.route("/sites/<site>/integrity/status")
@page("audit:read")
def integrity_status(site: str):
    get_site(site)
    run = integrity.runs(current_app).get(site)
    return run.to_dict() if run else {"site": site, "finished": True, "result": {}}
