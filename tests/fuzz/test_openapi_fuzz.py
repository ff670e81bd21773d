"""Property-based fuzzing of every operation in /api/openapi.json with schemathesis.

Each operation is called with generated valid and invalid input, with an all-scope key bound to
site A and with one bound to site B (the fixture seeds both with documents and records), and
every answer goes through **all** of schemathesis' checks: no 5xx, status codes, content types,
headers and bodies as documented, invalid input refused, valid input accepted, auth not ignored,
unsupported methods refused. Bounded for CI by ``CONSENTRY_FUZZ_EXAMPLES`` (default 10 per
operation and mode, each case sent with both keys; docs/security.md).
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from tests.helpers.consents import ORIGIN, event

EXAMPLES = int(os.environ.get("CONSENTRY_FUZZ_EXAMPLES", "10"))
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


def all_checks() -> list:
    load_all_checks()
    checks = CHECKS.get_all()
    assert len(checks) >= 14, [check.__name__ for check in checks]
    return checks


def operation_test(app, operation, mode: GenerationMode, keys: dict[str, str], checks: list):
    """A Hypothesis test: ``operation`` called with ``mode`` cases and each site's key, every
    answer through ``checks``."""

    @given(case=operation.as_strategy(generation_mode=mode))
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
            headers = {"Origin": ORIGIN}
            if "Authorization" not in (case.headers or {}):  # else a negated one, sent as is
                headers["Authorization"] = f"Bearer {keys[key_site]}"
            case.call_and_validate(app=app, headers=headers, checks=checks)

    return exercise


def failure_titles(error: BaseException) -> list[str]:
    """Each distinct failure of a schemathesis failure group, by its first line."""
    if isinstance(error, BaseExceptionGroup):
        return sorted({title for inner in error.exceptions for title in failure_titles(inner)})
    return [f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}"]


# Where the answers may differ from schemathesis' defaults, and why:
# - schema-valid input may still be a 422: rules the OpenAPI document cannot state (the
#   compliance linter, fields that must agree with each other or with the site's categories and
#   documents in force, real calendar dates within 1970-9998, IDNA host names);
# - schema-valid input may be a 400: a JSON string holding a lone surrogate ("\ud800", valid
#   to JSON Schema, not Unicode) is refused as malformed_json wherever it is (docs/api.md);
# - invalid input may be refused with a 413 (a body over the size limit) as well as a 4xx.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": [
                    "2xx",
                    "3xx",
                    "400",
                    "401",
                    "403",
                    "404",
                    "409",
                    "422",
                    "429",
                ]
            },
            "negative_data_rejection": {
                "expected-statuses": [
                    "400",
                    "401",
                    "403",
                    "404",
                    "405",
                    "406",
                    "409",
                    "413",
                    "415",
                    "422",
                    "428",
                    "429",
                ]
            },
        }
    }
)


def test_no_operation_answers_5xx_or_breaks_its_schema(app, fuzz_setup):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=CONFIG)
    checks = all_checks()
    failures: dict[str, list[str]] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                operation_test(app, operation, mode, fuzz_setup, checks)()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE, operation.label
                continue  # nothing in this operation's input can be made invalid
            except Exception as error:  # keep going: report every failing operation at once
                failures[f"{operation.label} ({mode})"] = failure_titles(error)
            except BaseExceptionGroup as group:  # schemathesis' FailureGroup
                failures[f"{operation.label} ({mode})"] = failure_titles(group)
    assert failures == {}, json.dumps(failures, indent=1)
