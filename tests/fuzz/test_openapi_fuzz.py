"""Property-based fuzzing of every operation in /api/openapi.json with schemathesis.

Each operation is called with generated valid and invalid input, with an all-scope key bound to
site A and with one bound to site B (the fixture seeds both with documents and records). No answer
may be a 5xx, and every answer must match the documented response schema. Bounded for CI by
``CONSENTRY_FUZZ_EXAMPLES`` (default 15 per operation and key).
"""

from __future__ import annotations

import hashlib
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.helpers.consents import ORIGIN, event

EXAMPLES = int(os.environ.get("CONSENTRY_FUZZ_EXAMPLES", "15"))
SITES = ("site-a", "site-b")


@pytest.fixture
def fuzz_setup(app, client, admin):
    """Two sites, each with a published policy and a few consent records, and a key per site."""
    from service.auth.service import SCOPES, create_api_key
    from service.documents.service import publish_text
    from tests.helpers.sites import site_payload

    keys = {}
    for site in SITES:
        response = client.post("/api/v1/sites", json=site_payload(site), headers=admin)
        assert response.status_code == 201
        state, _ = publish_text(site, "privacy", {"en": {"title": "Privacy", "body": "Text."}})
        refs = {"privacy": {"version": 1, "sha256": state.document.content_sha256}}
        for n in range(3):
            client.post(
                f"/api/v1/sites/{site}/consents",
                json=event(subject=f"s_fuzz_subject_{n}", documents=refs),
                headers={"Origin": ORIGIN},
            )
        keys[site] = create_api_key(SCOPES, site)[1]
    return keys


def test_no_operation_answers_5xx_or_breaks_its_schema(app, fuzz_setup):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case):
            # Mostly aim at the real sites (else nearly every case stops at 404), reproducibly.
            site = (case.path_parameters or {}).get("site")
            if site is not None:
                digest = hashlib.sha256(str(site).encode()).digest()[0]
                if digest % 4:
                    case.path_parameters["site"] = SITES[digest % 2]
            for key_site in SITES:  # the URL's own site's key, and the other site's key
                case.call_and_validate(
                    app=app,
                    headers={"Authorization": f"Bearer {fuzz_setup[key_site]}", "Origin": ORIGIN},
                    checks=[not_a_server_error, response_schema_conformance],
                )

        try:
            exercise()
        except Exception as error:  # keep going: report every failing operation at once
            failures[operation.label] = str(error)[:1500]
    assert failures == {}
