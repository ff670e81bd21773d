"""``request_sha256`` is keyed: whoever reads the database without the pepper cannot test a
guess of what a visitor sent. The review's finding: it was a plain SHA-256 of the request, so
``alice@example.com`` (a ``user_id``, otherwise stored only as an HMAC) was recovered by
hashing guesses, and erased subjects were confirmed. On both databases."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from service.consents.models import ConsentRecord
from service.consents.schemas import ConsentEventSchema
from service.consents.service import pepper_for
from service.extensions import db
from service.ledger.canonical import canonical_json
from tests.helpers.consents import ORIGIN, event

URL = "/api/v1/sites/news-example/consents"


def normalised(sent: dict) -> bytes:
    """The request as the service hashes it (the schema's output, ids as text, no token)."""
    loaded = ConsentEventSchema().load(sent)
    loaded.pop("subject_token", None)
    return canonical_json({k: str(v) if isinstance(v, uuid.UUID) else v for k, v in loaded.items()})


def stored_hash(record_id: str) -> str:
    query = db.select(ConsentRecord.request_sha256).where(ConsentRecord.id == record_id)
    return db.session.execute(query).scalar_one()


def test_a_guessed_request_cannot_be_confirmed_from_the_database(client, make_site):
    make_site()
    sent = event(subject="s_visitor_0001", user_id="alice@example.com")
    answer = client.post(URL, json=sent, headers={"Origin": ORIGIN})
    assert answer.status_code == 201
    stored = stored_hash(answer.get_json()["id"])
    # The attack: every field but user_id is in the stored body; try candidate emails.
    for guess in ("bob@example.com", "alice@example.com"):
        candidate = normalised(sent | {"user_id": guess})
        assert hashlib.sha256(candidate).hexdigest() != stored
    # What it is: an HMAC with the site's pepper (the one subjects and user ids are hashed with).
    keyed = hmac.new(pepper_for("news-example"), normalised(sent), hashlib.sha256).hexdigest()
    assert stored == keyed


def test_sites_key_their_hashes_apart(client, make_site):
    make_site()
    make_site("other-site")
    sent = event(subject="s_visitor_0001")
    here = client.post(URL, json=sent, headers={"Origin": ORIGIN})
    there = client.post("/api/v1/sites/other-site/consents", json=sent, headers={"Origin": ORIGIN})
    assert stored_hash(here.get_json()["id"]) != stored_hash(there.get_json()["id"])


def test_retries_are_still_told_from_other_events(client, make_site):
    make_site()
    sent = event(subject="s_visitor_0001")
    first = client.post(URL, json=sent, headers={"Origin": ORIGIN})
    again = client.post(URL, json=sent, headers={"Origin": ORIGIN})
    assert again.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]
    other = client.post(
        URL, json=sent | {"action": "reject_all", "choices": {}}, headers={"Origin": ORIGIN}
    )
    assert other.status_code == 422
    assert other.get_json()["error"]["details"]["code"] == "idempotency_key_reused"
