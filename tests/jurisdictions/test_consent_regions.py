"""Every consent records the visitor's region and the banner's mode (signed, in the body);
opt-out events; audit queries, the 27560 export and stats by region; on both databases."""

from __future__ import annotations

import json

import pytest

from service.consents.service import verify_site_ledger
from service.extensions import db
from tests.helpers.consents import ORIGIN, event
from tests.helpers.regions import CLOUDFRONT

BASE = "/api/v1/sites/news-example"


@pytest.fixture
def site(make_site):
    return make_site("news-example", default_mode="notice")


def post(client, country=None, subdivision=None, peer="127.0.0.1", query="", **overrides):
    headers = {"Origin": ORIGIN}
    if country:
        headers[CLOUDFRONT[0]] = country
    if subdivision:
        headers[CLOUDFRONT[1]] = subdivision
    body = event(**overrides)
    return client.post(
        BASE + "/consents" + query, json=body, headers=headers, environ_base={"REMOTE_ADDR": peer}
    )


def body_of(answer):
    payload = answer["receipt"].split(".")[1]
    from base64 import urlsafe_b64decode

    return json.loads(urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_each_consent_records_its_region_and_mode_in_the_signed_body(cdn_app, site, admin):
    client = cdn_app.test_client()
    eu = post(client, "FR", subject="s_visitor_eu")
    california = post(client, "US", "CA", subject="s_visitor_ca", action="opt_out", method="gpc",
                      gpc=True, choices={"necessary": True, "analytics": True,
                                         "marketing": False})  # fmt: skip
    elsewhere = post(client, "BR", subject="s_visitor_br", action="acknowledge",
                     choices={"necessary": True, "analytics": True, "marketing": True})  # fmt: skip
    unknown = post(client, "BR", peer="203.0.113.9", subject="s_unknown")
    places = [(body_of(r.get_json())["region"], body_of(r.get_json())["mode"])
              for r in (eu, california, elsewhere, unknown)]  # fmt: skip
    assert places == [("FR", "opt-in"), ("US-CA", "opt-out"), ("BR", "notice"), (None, "opt-in")]
    assert california.get_json()["id"]
    with cdn_app.app_context():
        report = verify_site_ledger("news-example", check_signatures=True)
        assert report.ok, report.problems


def test_the_body_cannot_say_where_the_visitor_is(client, site):
    response = post(client, subject="s_visitor_liar", region="US-CA", mode="notice")
    assert response.status_code == 422
    assert {"region", "mode"} <= set(response.get_json()["error"]["details"]["fields"])


def test_the_region_override_works_in_testing_on_the_consent_post(client, site):
    response = post(client, subject="s_preview", query="?region=US-TX")
    assert response.status_code == 201
    assert (body_of(response.get_json())["region"], body_of(response.get_json())["mode"]) == (
        "US-TX", "opt-out"
    )  # fmt: skip
    assert post(client, subject="s_bad", query="?region=ZZ").status_code == 422


def test_opt_out_must_refuse_the_categories_that_sell_or_share(client, site):
    response = post(client, subject="s_visitor_optout", action="opt_out",
                    choices={"necessary": True, "analytics": True, "marketing": True})  # fmt: skip
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["fields"]["choices"] == ["marketing"]
    opt_in = post(client, subject="s_visitor_optin", action="opt_in", method="banner",
                  choices={"necessary": True, "analytics": True, "marketing": True})  # fmt: skip
    assert opt_in.status_code == 201


def test_a_tampered_region_column_is_found_by_verification(app, client, site):
    post(client, subject="s_tamper", query="?region=FR")
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("ALTER TABLE consent_records DISABLE TRIGGER USER"))
    else:
        db.session.execute(db.text("DROP TRIGGER IF EXISTS consent_records_append_only_update"))
    db.session.execute(db.text("UPDATE consent_records SET region = 'DE'"))
    db.session.commit()
    report = verify_site_ledger("news-example")
    assert not report.ok
    assert {problem.code for problem in report.problems} == {"column_mismatch"}
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("ALTER TABLE consent_records ENABLE TRIGGER USER"))
        db.session.commit()


def test_audit_queries_exports_and_stats_filter_and_group_by_region(client, admin, site):
    post(client, subject="s_visitor_fr", query="?region=FR")
    post(client, subject="s_visitor_ca", query="?region=US-CA")
    post(client, subject="s_visitor_tx", query="?region=US-TX")
    post(client, subject="s_unknown")

    def subjects(region):
        page = client.get(BASE + f"/consents?region={region}", headers=admin).get_json()
        return sorted(item["subject"] for item in page["items"])

    assert subjects("FR") == ["s_visitor_fr"]
    assert subjects("US") == ["s_visitor_ca", "s_visitor_tx"]
    assert subjects("us-ca") == ["s_visitor_ca"]
    assert subjects("unknown") == ["s_unknown"]
    item = client.get(BASE + "/consents?region=US-CA", headers=admin).get_json()["items"][0]
    assert (item["region"], item["mode"]) == ("US-CA", "opt-out")
    assert client.get(BASE + "/consents?region=ZZ", headers=admin).status_code == 422

    export = client.get(BASE + "/export?format=iso27560&region=US", headers=admin)
    jurisdictions = [json.loads(line)["dpv:hasJurisdiction"]
                     for line in export.get_data(as_text=True).splitlines()]  # fmt: skip
    assert jurisdictions == ["loc:US-CA", "loc:US-TX"]
    assert client.get(BASE + "/export?region=US", headers=admin).status_code == 422

    stats = client.get(BASE + "/stats", headers=admin).get_json()
    by_region = {bucket["region"]: bucket["total"] for bucket in stats["regions"]}
    assert by_region == {"FR": 1, "US-CA": 1, "US-TX": 1, "unknown": 1}


def test_the_receipt_page_says_where_and_under_which_mode(client, site):
    answer = post(client, subject="s_reader", query="?region=FR").get_json()
    page = client.get(f"/r/news-example/{answer['id']}?token={answer['subject_token']}")
    assert "France: optional cookies wait for your consent" in page.get_data(as_text=True)
