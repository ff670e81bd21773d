"""The activity log, filterable, newest first."""

from __future__ import annotations

from flask import g, render_template, request

from ...activity import service as activity
from .base import bp, chosen_site, page
from .forms import day_after, day_start, parse_day, parse_int


@bp.route("/activity")
@page("audit:read")
def activity_log():
    user = g.console_user
    args = request.args
    first = parse_day(args.get("from"), "from")
    last = parse_day(args.get("to"), "to")
    action = args.get("action") or None
    result = activity.query_activity(
        site=chosen_site(args),
        all_sites=user.site_id is None,
        actor=(args.get("actor") or "").strip()[:200] or None,
        action=action,
        start=day_start(first),
        end=day_after(last),
        before=parse_int(args.get("before"), "before", 1),
    )
    return render_template(
        "console/activity.html",
        page=result,
        actions=activity.ACTIONS,
        args=args,
        describe_time=activity.describe_time,
    )
