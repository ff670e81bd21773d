"""Hostile values for every schema field (tests/helpers/hostile.py), two ways.

1. Every marshmallow schema of the service loads each generated object or refuses it with a
   ``ValidationError``: nothing else may escape a schema (no app, no database: cheap).
2. Every endpoint that reads a body or a query string gets bodies it accepts with one field
   replaced by a hostile value, and wholly generated ones: no answer is a 5xx, and every refusal
   is the one error envelope. The table of endpoints must cover each such operation of
   ``/api/openapi.json`` (a new one fails the test until it is added).

Bounded for CI by ``CONSENTRY_FUZZ_EXAMPLES`` (examples per schema and per endpoint; default 20
and 15, docs/security.md).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import marshmallow
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import service
from tests.helpers.consents import ORIGIN, event
from tests.helpers.documents import draft, texts
from tests.helpers.hostile import RawJSON, encode, mutations, schema_values
from tests.helpers.sites import site_payload

EXAMPLES = int(os.environ.get("CONSENTRY_FUZZ_EXAMPLES", "0")) or None
SCHEMA_EXAMPLES = EXAMPLES or 20
ENDPOINT_EXAMPLES = EXAMPLES or 15
SITE = "fuzz-site"
# The banner config reads its query by hand (its hot path has no schema pass): these are its fields.
BANNER_QUERY = marshmallow.Schema.from_dict(
    {"locale": marshmallow.fields.String(), "region": marshmallow.fields.String()}
)()
BOUNDED = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def service_schemas() -> list[type[marshmallow.Schema]]:
    for module in pkgutil.walk_packages(service.__path__, "service."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found, pending = [], list(marshmallow.Schema.__subclasses__())
    while pending:
        schema = pending.pop()
        pending.extend(schema.__subclasses__())
        if schema.__module__.startswith("service.") and schema not in found:
            found.append(schema)
    return sorted(found, key=lambda schema: f"{schema.__module__}.{schema.__qualname__}")


def as_python(value: Any) -> Any:
    """What a JSON parser would hand a schema (deep nesting cut at 200 levels)."""
    if isinstance(value, RawJSON):
        return _nest(str(value)[0], min(len(value) // 2, 200))
    if isinstance(value, dict):
        return {key: as_python(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_python(item) for item in value]
    return value


def _nest(opening: str, depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if opening == "[" else {"a": value}
    return value


def loader(schema: marshmallow.Schema):
    """A Hypothesis test: ``schema`` loads each object or raises ``ValidationError``."""

    @settings(BOUNDED, max_examples=SCHEMA_EXAMPLES)
    @given(data=schema_values(schema))
    def load(data):
        with contextlib.suppress(marshmallow.ValidationError):
            schema.load(as_python(data))

    return load


def test_every_schema_loads_or_refuses_hostile_values():
    schemas = service_schemas()
    assert len(schemas) >= 40
    escaped: dict[str, str] = {}
    for schema_class in schemas:
        try:
            loader(schema_class())()
        except Exception as error:  # report every schema at once
            escaped[schema_class.__qualname__] = f"{type(error).__name__}: {str(error)[:500]}"
    assert escaped == {}


@dataclass(frozen=True)
class Endpoint:
    """An operation reading a body (``json``) or a query string (``query``)."""

    method: str
    path: str  # {site}, {draft}, {record}, {subject}
    schema: marshmallow.Schema
    location: str
    baseline: dict[str, Any]


def endpoints(world: dict[str, Any]) -> list[Endpoint]:
    from service.audit import schemas as audit
    from service.consents.schemas import (
        ConsentEventSchema,
        LedgerVerifyRequestSchema,
        ReceiptVerifyRequestSchema,
    )
    from service.documents import schemas as documents
    from service.scanner import schemas as scanner
    from service.sites.schemas import SITE_SETTINGS, SiteCreateSchema, SiteSettingsSchema

    site = f"/api/v1/sites/{SITE}"
    versions = f"{site}/documents/privacy/versions"
    query = {"from": "2026-01-01", "to": "2026-12-31"}
    return [
        Endpoint("POST", "/api/v1/sites", SiteCreateSchema(), "json", site_payload("fuzz-new")),
        Endpoint("PATCH", site, SiteSettingsSchema(partial=SITE_SETTINGS), "json", {"name": "N"}),
        Endpoint("POST", versions, documents.DraftCreateSchema(), "json", {"texts": texts()}),
        Endpoint(
            "PATCH",
            f"{versions}/{{draft}}",
            documents.DraftUpdateSchema(),
            "json",
            {"texts": texts()},
        ),
        Endpoint("POST", f"{versions}/{{draft}}/publish", documents.PublishSchema(), "json", {}),
        Endpoint("POST", f"{site}/consents", ConsentEventSchema(), "json", world["event"]),
        Endpoint(
            "POST",
            "/api/v1/receipts/verify",
            ReceiptVerifyRequestSchema(),
            "json",
            {"receipt": world["receipt"]},
        ),
        Endpoint(
            "POST",
            f"{site}/ledger/verify",
            LedgerVerifyRequestSchema(),
            "json",
            {"receipts": [world["receipt"]], "signatures": True},
        ),
        Endpoint("GET", f"{site}/consents", audit.RecordQuerySchema(), "query", query),
        Endpoint("GET", f"{site}/export", audit.ExportQuerySchema(), "query", query),
        Endpoint("GET", f"{site}/stats", audit.StatsQuerySchema(), "query", query),
        Endpoint(
            "GET", f"{site}/subjects/s_fuzz_0001/proof", audit.ProofQuerySchema(), "query", {}
        ),
        Endpoint("GET", f"{versions}/1", documents.LocaleQuerySchema(), "query", {"locale": "en"}),
        Endpoint("GET", f"{site}/documents/privacy", documents.LocaleQuerySchema(), "query", {}),
        Endpoint("GET", f"{versions}/1/diff", documents.DiffQuerySchema(), "query", {}),
        Endpoint("GET", f"{site}/banner", BANNER_QUERY, "query", {"locale": "en"}),
        Endpoint("GET", f"{site}/scans", scanner.ScanListQuerySchema(), "query", {}),
        Endpoint("GET", f"{site}/scans/1", scanner.ScanQuerySchema(), "query", {}),
    ]


@pytest.fixture
def world(client, admin, make_site) -> dict[str, Any]:
    """A site with a published policy, a draft and a recorded consent (and its receipt)."""
    make_site(SITE)
    published = draft(client, admin, site=SITE)
    client.post(
        f"/api/v1/sites/{SITE}/documents/privacy/versions/1/publish", json={}, headers=admin
    )
    refs = {"privacy": {"version": 1, "sha256": published["content_sha256"]}}
    recorded = client.post(
        f"/api/v1/sites/{SITE}/consents",
        json=event(subject="s_fuzz_0001", documents=refs),
        headers={"Origin": ORIGIN},
    )
    assert recorded.status_code == 201, recorded.get_json()
    return {"event": event(documents=refs), "receipt": recorded.get_json()["receipt"]}


def query_string(values: dict[str, Any]) -> str:
    """Each value as the text a client would put in a URL (lone surrogates kept, as bytes)."""
    parts = []
    for name, value in values.items():
        text = value if isinstance(value, str) else encode(value)
        raw = text.encode("utf-8", "surrogatepass")
        parts.append(f"{quote(str(name).encode('utf-8', 'surrogatepass'))}={quote(raw)}")
    return "&".join(parts)


def send(client, admin, endpoint: Endpoint, path: str, data: dict[str, Any]):
    headers = {**admin, "Origin": ORIGIN}
    if endpoint.location == "query":
        return client.open(path, method=endpoint.method, query_string=query_string(data),
                           headers=headers)  # fmt: skip
    if data.get("subject") == endpoint.baseline.get("subject") and "subject" in data:
        # A fresh visitor and event each time: a consent for a known subject needs its token.
        data = {**data, "subject": f"s_{uuid.uuid4().hex}", "client_event_id": str(uuid.uuid4())}
    body = encode(data).encode("utf-8", "surrogatepass")
    return client.open(
        path, method=endpoint.method, data=body, content_type="application/json", headers=headers
    )


def endpoint_test(client, admin, endpoint: Endpoint):
    """A Hypothesis test: hostile requests to ``endpoint`` are answered below 500, refusals
    with the error envelope."""

    @settings(BOUNDED, max_examples=ENDPOINT_EXAMPLES)
    @given(
        data=st.one_of(
            mutations(endpoint.baseline, endpoint.schema), schema_values(endpoint.schema)
        )
    )
    def exercise(data):
        path = endpoint.path
        if "{draft}" in path:  # a draft of its own for each example
            path = path.replace("{draft}", str(draft(client, admin, site=SITE)["version"]))
        response = send(client, admin, endpoint, path, data)
        assert response.status_code < 500, (response.status_code, response.data[:300])
        if response.status_code >= 400:
            error = response.get_json()["error"]
            assert set(error) == {"code", "message", "details"}

    return exercise


def test_every_endpoint_answers_hostile_values_without_a_5xx(app, client, admin, world):
    table = endpoints(world)
    failures: dict[str, str] = {}
    for endpoint in table:
        exercise = endpoint_test(client, admin, endpoint)
        try:
            exercise()
        except Exception as error:  # report every endpoint at once
            failures[f"{endpoint.method} {endpoint.path}"] = str(error)[:1500]
    assert failures == {}


def test_the_table_covers_every_operation_with_input(app, client, world):
    """A new operation with a body or query parameters must be added to the table above."""
    spec = client.get("/api/openapi.json").get_json()
    with_input = set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            parameters = [p for p in operation.get("parameters", []) if p["in"] == "query"]
            if parameters or "requestBody" in operation:
                with_input.add((method.upper(), path.replace("{kind}", "privacy")))
    covered = set()
    for endpoint in endpoints(world):
        path = endpoint.path.replace(SITE, "{site}").replace("s_fuzz_0001", "{subject}")
        path = path.replace("{draft}", "{version}").replace("/versions/1", "/versions/{version}")
        path = path.replace("/scans/1", "/scans/{scan_id}")
        covered.add((endpoint.method, path))
    assert with_input - covered == set(), json.dumps(sorted(with_input - covered))
