"""The visitor's receipt page ``/r/{site}/{id}``: only with the subject's token, in plain
language, with the signature verified; on both databases."""

from __future__ import annotations

import pytest

from tests.helpers.consents import ORIGIN, event

BASE = "/api/v1/sites/news-example"
CONTROLLER = {"name": "The Daily Example Ltd", "email": "privacy@news.example.com",
              "address": "1 Example Street, Paris", "dpo": "dpo@news.example.com"}  # fmt: skip
CATEGORIES = [
    {"id": "necessary", "title": "Strictly necessary", "required": True,
     "purposes": ["dpv:ServiceProvision"], "legal_basis": "legitimate_interest"},
    {"id": "analytics", "title": "Audience measurement", "purposes": ["dpv:ServiceUsageAnalytics"],
     "personal_data": ["pd:BrowsingBehavior"], "retention": "13 months",
     "recipients": ["Example Stats"]},
    {"id": "marketing", "title": "Personalised ads", "sale_or_sharing": True,
     "purposes": ["Show ads based on your interests"]},
]  # fmt: skip


@pytest.fixture
def consent(client, make_site):
    make_site("news-example", controller=CONTROLLER, categories=CATEGORIES)
    config = client.get(BASE + "/banner?region=FR").get_json()
    body = event(revision=config["revision"], subject="s_reader_42")
    response = client.post(BASE + "/consents", json=body, headers={"Origin": ORIGIN})
    assert response.status_code == 201, response.get_json()
    return response.get_json() | {"config": config}


def page(client, consent, token=None, **kwargs):
    token = consent["subject_token"] if token is None else token
    return client.get(f"/r/news-example/{consent['id']}?token={token}", **kwargs)


def test_the_receipt_says_what_was_agreed_and_that_the_signature_verifies(client, consent):
    response = page(client, consent)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "You chose which kinds of cookies to allow." in html
    assert "in the cookie settings" in html.lower()
    for text in ("Audience measurement", "Allowed", "Personalised ads", "Refused",
                 "Service usage analytics", "Browsing behavior", "13 months", "Example Stats",
                 "The Daily Example Ltd", "dpo@news.example.com", "Signature verified",
                 "Reject all", consent["id"], consent["config"]["revision"]):  # fmt: skip
        assert text in html, text
    assert "the exact banner you saw was not kept" not in html
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "<script" not in html


def test_the_token_can_come_as_a_bearer_header(client, consent):
    response = client.get(
        f"/r/news-example/{consent['id']}",
        headers={"Authorization": f"Bearer {consent['subject_token']}"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("token", ["", "forged.token.value", "x" * 300])
def test_without_a_valid_token_the_page_is_refused(client, consent, token):
    assert page(client, consent, token=token).status_code == 401


def test_another_subjects_token_sees_nothing(client, consent):
    other = event(subject="s_someone_else", revision=consent["config"]["revision"])
    answer = client.post(BASE + "/consents", json=other, headers={"Origin": ORIGIN}).get_json()
    response = page(client, consent, token=answer["subject_token"])
    assert response.status_code == 404
    assert "s_reader_42" not in response.get_data(as_text=True)
    missing = client.get(f"/r/news-example/not-a-record?token={consent['subject_token']}")
    assert missing.status_code == 404


def test_a_token_for_another_site_is_refused(client, make_site, consent):
    make_site("other-site")
    other = client.get(f"/r/other-site/{consent['id']}?token={consent['subject_token']}")
    assert other.status_code == 401


def test_an_erased_record_is_gone(client, admin, consent):
    assert client.post(BASE + "/subjects/s_reader_42/erase", headers=admin).status_code == 200
    assert page(client, consent).status_code == 410


def test_the_banner_config_gives_the_receipt_url_template(client, consent):
    template = consent["config"]["receipt_url"]
    url = template.format(id=consent["id"], subject_token=consent["subject_token"])
    assert url.startswith("http://localhost/r/news-example/")
    assert client.get(url.removeprefix("http://localhost")).status_code == 200
