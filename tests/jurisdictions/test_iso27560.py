"""The ISO/IEC TS 27560 export, validated against a JSON Schema written from the standard's
fields, through the API and the CLI, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from service.audit import iso27560
from tests.helpers.consents import ORIGIN, event

SCHEMA_FILE = (
    Path(__file__).resolve().parents[2]
    / "service" / "jurisdictions" / "data" / "iso27560-record.schema.json"
)  # fmt: skip
BASE = "/api/v1/sites/news-example"
CONTROLLER = {
    "name": "The Daily Example Ltd",
    "address": "1 Example Street, Paris",
    "email": "privacy@news.example.com",
    "dpo": "dpo@news.example.com",
}
CATEGORIES = [
    {"id": "necessary", "title": "Necessary", "required": True,
     "purposes": ["dpv:ServiceProvision"], "legal_basis": "legitimate_interest",
     "retention": "6 months"},
    {"id": "analytics", "title": "Analytics", "purposes": ["dpv:ServiceUsageAnalytics",
     "Count readers"], "personal_data": ["pd:BrowsingBehavior"], "retention": "13 months",
     "recipients": ["Example Stats"]},
    {"id": "marketing", "title": "Ads", "sale_or_sharing": True, "purposes": ["Ads"],
     "personal_data": ["Interests inferred from reading"]},
]  # fmt: skip


@pytest.fixture
def validator():
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture
def site(client, admin, make_site):
    make_site("news-example", controller=CONTROLLER, categories=CATEGORIES)
    version = client.post(
        BASE + "/documents/privacy/versions",
        json={"texts": {"en": {"title": "Privacy", "body": "What we do."}}},
        headers=admin,
    ).get_json()["version"]
    client.post(BASE + f"/documents/privacy/versions/{version}/publish", json={}, headers=admin)
    return client.get(BASE + "/banner?region=US-CA&locale=en").get_json()


def record(client, config, **overrides):
    documents = {doc["kind"]: {"version": doc["version"], "sha256": doc["sha256"]}
                 for doc in config["documents"]}  # fmt: skip
    body = event(documents=documents, revision=config["revision"], **overrides)
    response = client.post(BASE + "/consents", json=body, headers={"Origin": ORIGIN})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def export(client, admin):
    response = client.get(BASE + "/export?format=iso27560", headers=admin)
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert response.headers["Content-Disposition"].endswith('.iso27560.jsonl"')
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


def test_every_record_validates_and_maps_the_declarations_shown(client, admin, site, validator):
    given = record(client, site, subject="s_visitor_a")
    record(client, site, subject="s_visitor_b", action="reject_all",
           choices={"necessary": True, "analytics": False, "marketing": False})  # fmt: skip
    records = export(client, admin)
    assert len(records) == 2
    for item in records:
        validator.validate(item)
    first = records[0]
    assert first["dct:identifier"] == given["id"]
    assert first["consentry:receipt"]["consentry:jws"] == given["receipt"]
    assert first["dpv:hasDataSubject"]["dct:identifier"] == "s_visitor_a"
    assert first["dpv:hasDataController"]["dpv:hasName"] == CONTROLLER["name"]
    assert first["dpv:hasDataController"]["dpv:hasContact"] == [CONTROLLER["email"]]
    assert first["dct:language"] == "en"
    assert first["consentry:declarationsFrom"] == "banner_revision"
    notices = {notice["@type"]: notice for notice in first["dpv:hasNotice"]}
    assert notices["dpv:ConsentNotice"]["consentry:sha256"] == site["revision"]
    assert notices["dpv:PrivacyNotice"]["dct:hasVersion"] == "1"
    processing = {item["dct:identifier"]: item for item in first["consentry:processing"]}
    assert processing["analytics"]["dpv:hasConsentStatus"] == "dpv:ConsentGiven"
    assert processing["marketing"]["dpv:hasConsentStatus"] == "dpv:ConsentRefused"
    assert processing["necessary"]["dpv:hasConsentStatus"] is None  # not consent-based
    assert processing["necessary"]["dpv:hasLegalBasis"] == "dpv:LegitimateInterest"
    assert processing["analytics"]["dpv:hasPurpose"] == [
        {"@type": "dpv:ServiceUsageAnalytics"},
        {"@type": "dpv:Purpose", "dct:description": "Count readers"},
    ]
    assert processing["marketing"]["dpv:hasPersonalData"][0]["@type"] == "dpv:PersonalData"
    assert processing["analytics"]["dpv:hasRecipient"] == [
        {"@type": "dpv:Recipient", "dpv:hasName": "Example Stats"}
    ]
    assert first["dpv:hasEvent"][0]["dct:valid"] == "P180D"
    assert first["dpv:hasConsentControl"]["dct:identifier"].endswith(
        f"/r/news-example/{given['id']}"
    )
    second = processing_of(records[1])
    assert second["analytics"]["dpv:hasConsentStatus"] == "dpv:ConsentRefused"


def processing_of(item):
    return {entry["dct:identifier"]: entry for entry in item["consentry:processing"]}


def test_declarations_are_those_of_the_revision_not_of_today(client, admin, site, validator):
    record(client, site, subject="s_visitor_a")
    changed = [dict(c, purposes=["Something else"]) if c["id"] == "analytics" else c
               for c in CATEGORIES]  # fmt: skip
    assert client.patch(BASE, json={"categories": changed}, headers=admin).status_code == 200
    item = export(client, admin)[0]
    validator.validate(item)
    assert processing_of(item)["analytics"]["dpv:hasPurpose"][0] == {
        "@type": "dpv:ServiceUsageAnalytics"
    }


def test_an_unknown_revision_falls_back_to_the_current_declarations(client, admin, site, validator):
    record(client, dict(site, revision="f" * 64), subject="s_visitor_a")
    item = export(client, admin)[0]
    validator.validate(item)
    assert item["consentry:declarationsFrom"] == "site_settings_at_export"
    assert item["dpv:hasDataController"]["dpv:hasName"] == CONTROLLER["name"]


def test_an_erased_record_still_validates_without_its_subject(client, admin, site, validator):
    record(client, site, subject="s_visitor_a", action="withdraw",
           choices={"necessary": True, "analytics": False, "marketing": False})  # fmt: skip
    erased = client.post(BASE + "/subjects/s_visitor_a/erase", headers=admin)
    assert erased.status_code == 200, erased.get_json()
    item = export(client, admin)[0]
    validator.validate(item)
    assert item["dpv:hasDataSubject"]["dct:identifier"] is None
    assert item["consentry:redacted"] is True
    assert processing_of(item)["analytics"]["dpv:hasConsentStatus"] == "dpv:ConsentWithdrawn"


def test_the_cli_exports_the_same_structure(app, client, admin, runner, site, validator, tmp_path):
    record(client, site, subject="s_visitor_a")
    out = tmp_path / "records.jsonl"
    result = runner.invoke(args=["export", "news-example", "--format", "iso27560", "--out", out])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 1
    validator.validate(json.loads(lines[0]))


def test_the_schema_refuses_a_record_missing_a_mandatory_field(validator):
    body = {"subject": "s", "action": "custom", "choices": {"a": True}, "revision": "a" * 64,
            "documents": {}, "locale": "en", "recorded_at": "2026-12-04T10:00:00.000Z",
            "method": "banner", "gpc": False}  # fmt: skip
    declared = {"categories": [{"id": "a", "title": "A"}], "controller": {"name": "C"}}
    entry = {"id": "0" * 8 + "-0000-4000-8000-" + "0" * 12, "entry_hash": "b" * 64}
    good = iso27560.iso_record("s", entry, body, declared, "https://x")
    validator.validate(good)
    for field in ("dct:identifier", "dpv:hasDataSubject", "dpv:hasNotice", "dpv:hasEvent"):
        broken = {key: value for key, value in good.items() if key != field}
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(broken)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(good | {"dpv:hasJurisdiction": "California"})


def test_the_proof_bundle_carries_what_each_banner_revision_declared(client, admin, site):
    import hashlib

    from service.ledger.canonical import canonical_json

    record(client, site, subject="s_visitor_a")
    bundle = client.get(BASE + "/subjects/s_visitor_a/proof", headers=admin).get_json()
    (shown,) = bundle["banner_revisions"]
    config = shown["config"]
    assert config["controller"]["name"] == CONTROLLER["name"]
    assert config["categories"][1]["purposes"] == CATEGORIES[1]["purposes"]
    assert (config["region"], config["mode"]) == ("US-CA", "opt-out")
    unsigned = {key: value for key, value in config.items() if key != "revision"}
    assert hashlib.sha256(canonical_json(unsigned)).hexdigest() == shown["revision"]
    assert bundle["verification"]["ok"] is True
