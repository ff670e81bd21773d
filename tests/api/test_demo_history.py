"""``make demo``'s month of history: recorded through the consent POST's checks and group append
with each event's own time, the counts per day it planned, a ledger that verifies, the documents
of the month (a material change mid-month that visitors answer again), and nothing doubled when
it runs twice. On both databases."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import timedelta

import pytest

from service.audit.offline import verify_export
from service.consents import service as consents
from service.consents.models import ConsentRecord
from service.consents.schemas import ConsentEventSchema
from service.demo.history import (
    HISTORY_DAYS,
    month_start,
    plan_history,
    publication_time,
    seed_history,
)
from service.demo.seed import DEMO_SITE, seed_demo
from service.errors import DomainError
from service.extensions import db
from service.timeutil import as_utc, utcnow

BASE_URL = "http://127.0.0.1:5000"
VISITORS = 6  # per day: about 200 events, enough for every kind of event
NOW = utcnow()


@pytest.fixture
def seeded(app):
    seed_demo(BASE_URL, now=NOW)
    result = seed_history(DEMO_SITE, BASE_URL, now=NOW, visitors_per_day=VISITORS)
    assert result.skipped is None
    return result


def records() -> list[ConsentRecord]:
    query = db.select(ConsentRecord).where(ConsentRecord.site_id == DEMO_SITE)
    return list(db.session.execute(query.order_by(ConsentRecord.seq)).scalars())


def test_counts_per_day_are_the_planned_ones(seeded, client, admin):
    plan = plan_history(NOW, VISITORS)
    assert seeded.recorded == len(plan) > 150
    start = month_start(NOW)
    last = start + timedelta(days=HISTORY_DAYS - 1)
    stats = client.get(
        f"/api/v1/sites/{DEMO_SITE}/stats?from={start:%Y-%m-%d}&to={last:%Y-%m-%d}",
        headers=admin,
    ).get_json()
    planned = Counter(f"{event.at:%Y-%m-%d}" for event in plan)
    assert {day["date"]: day["total"] for day in stats["days"]} == {
        f"{start + timedelta(days=n):%Y-%m-%d}": planned[f"{start + timedelta(days=n):%Y-%m-%d}"]
        for n in range(HISTORY_DAYS)
    }
    assert all(planned[day] > 0 for day in planned) and len(planned) == HISTORY_DAYS
    actions = Counter(event.action for event in plan)
    assert {k: v for k, v in stats["totals"]["counts"].items() if v} == {
        **actions,
        "gpc": sum(event.gpc for event in plan),
    }


def test_the_month_is_realistic(seeded):
    rows = records()
    assert [as_utc(r.recorded_at) for r in rows] == sorted(as_utc(r.recorded_at) for r in rows)
    assert as_utc(rows[0].recorded_at) >= month_start(NOW)
    assert as_utc(rows[-1].recorded_at) < month_start(NOW) + timedelta(days=HISTORY_DAYS)
    assert {r.action for r in rows} == {"accept_all", "reject_all", "custom", "withdraw"}
    assert {r.method for r in rows} == {"banner", "preferences", "gpc"}
    assert any(r.gpc for r in rows) and not all(r.gpc for r in rows)
    locales = {json.loads(r.body)["locale"] for r in rows}
    assert {"en", "de", "fr", "es"} <= locales
    assert seeded.published == ["cookies v2", "privacy v2", "terms v2"]
    material_at = publication_time(month_start(NOW), next(p for p in _publications() if p.material))
    before = [r for r in rows if as_utc(r.recorded_at) < material_at]
    after = [r for r in rows if as_utc(r.recorded_at) >= material_at]
    assert {r.documents["privacy"]["version"] for r in before} == {1}
    assert {r.documents["privacy"]["version"] for r in after} == {2}
    # Visitors asked again after the material change answered again.
    asked_again = {r.subject for r in before} & {r.subject for r in after}
    assert len(asked_again) > 10


def _publications():
    from service.demo.history import PUBLICATIONS

    return PUBLICATIONS


def test_the_ledger_verifies_with_signatures_and_checkpoints(seeded, client, admin):
    report = consents.verify_site_ledger(DEMO_SITE, check_signatures=True)
    assert report.ok, report.problems
    assert report.checked == seeded.recorded and report.checkpoints_checked >= 1
    export = client.get(f"/api/v1/sites/{DEMO_SITE}/export?format=ndjson", headers=admin)
    offline = verify_export(export.get_data(as_text=True).splitlines())
    assert offline.ok, offline.problems


def test_running_it_twice_adds_nothing(seeded, client):
    count = len(records())
    again = seed_history(DEMO_SITE, BASE_URL, now=NOW, visitors_per_day=VISITORS)
    assert again.recorded == 0 and "already holds" in again.skipped
    seed_demo(BASE_URL, now=NOW)  # the demo's policies are not published again either
    versions = client.get(f"/api/v1/sites/{DEMO_SITE}/documents/privacy/versions").get_json()
    assert [v["version"] for v in versions["items"]] == [2, 1]
    assert len(records()) == count


def past_event(at, **overrides) -> consents.PastEvent:
    refs = consents.current_document_refs(DEMO_SITE, at)
    event = {
        "subject": "v_replayed_visitor",
        "client_event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"history-test:{at}")),
        "action": "accept_all",
        "choices": {"necessary": True, "analytics": True, "marketing": True},
        "documents": refs,
        "revision": "r" * 64,
        "method": "banner",
        "gpc": False,
        "locale": "en",
        "page": f"{BASE_URL}/demo",
    } | overrides
    return consents.PastEvent(ConsentEventSchema().load(event), BASE_URL, None, at)


def test_past_events_are_checked_like_the_post_and_replayed_not_doubled(seeded):
    end = month_start(NOW) + timedelta(days=HISTORY_DAYS)
    events = [past_event(end + timedelta(minutes=n)) for n in range(3)]
    assert consents.record_history(DEMO_SITE, events) == 3
    assert consents.record_history(DEMO_SITE, events) == 0  # same client_event_ids: replays
    late = end + timedelta(hours=1)
    with pytest.raises(DomainError) as refused:
        consents.record_history(
            DEMO_SITE, [past_event(late, choices={"necessary": True, "tracking": True})]
        )
    assert refused.value.status == 422
    old = consents.current_document_refs(DEMO_SITE, month_start(NOW))
    with pytest.raises(DomainError) as outdated:
        consents.record_history(DEMO_SITE, [past_event(late, documents=old)])
    assert outdated.value.code == "documents_outdated"
    assert len(records()) == seeded.recorded + 3


def test_no_history_over_a_ledger_that_has_records(app):
    seed_demo(BASE_URL, now=NOW)
    at = utcnow()
    assert consents.record_history(DEMO_SITE, [past_event(at)]) == 1
    result = seed_history(DEMO_SITE, BASE_URL, now=NOW, visitors_per_day=VISITORS)
    assert result.recorded == 0 and result.skipped == "the ledger already holds 1 records"


def test_no_history_when_the_documents_are_newer_than_the_month(app):
    seed_demo(BASE_URL, now=NOW + timedelta(days=HISTORY_DAYS + 1))  # published today
    result = seed_history(DEMO_SITE, BASE_URL, now=NOW, visitors_per_day=VISITORS)
    assert result.recorded == 0 and "newer than the month" in result.skipped


def test_demo_command_prints_the_history_the_console_and_the_verify_page(app, runner):
    args = ["demo", "--no-serve", "--port", "5056", "--visitors-per-day", "3"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "History: " in first.output and "over the last 30 days" in first.output
    assert "Console: http://127.0.0.1:5056/console/" in first.output
    assert "http://127.0.0.1:5056/verify" in first.output
    second = runner.invoke(args=args)
    assert "History not seeded: the ledger already holds" in second.output
