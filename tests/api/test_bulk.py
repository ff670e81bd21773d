"""The bulk path into the ledger (imports, benchmarks): same entries, chain and checkpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.consents.bulk import bulk_append
from service.consents.service import verify_site_ledger


def test_bulk_append_makes_a_ledger_that_verifies_with_signatures(app, client, admin, make_site):
    make_site()
    app.config["CHECKPOINT_EVERY"] = 10
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        {
            "subject": f"s_bulk_{n % 5:06d}",
            "action": "reject_all",
            "choices": {"necessary": True, "analytics": False, "marketing": False},
            "documents": {},
            "revision": "r" * 64,
            "method": "banner",
            "recorded_at": start + timedelta(minutes=n),
        }
        for n in range(25)
    ]
    assert bulk_append("news-example", events, batch_size=7) == 25
    report = verify_site_ledger("news-example", check_signatures=True)
    assert report.ok, report.problems
    assert report.checked == 25 and report.checkpoints_checked == 2  # historical: by count
    # The HTTP path continues the same chain.
    from tests.helpers.consents import ORIGIN, event

    response = client.post(
        "/api/v1/sites/news-example/consents", json=event(), headers={"Origin": ORIGIN}
    )
    assert response.status_code == 201 and response.get_json()["seq"] == 26
    assert verify_site_ledger("news-example", check_signatures=True).ok
    page = client.get(
        "/api/v1/sites/news-example/consents?subject=s_bulk_000001", headers=admin
    ).get_json()
    assert [item["seq"] for item in page["items"]] == [2, 7, 12, 17, 22]
