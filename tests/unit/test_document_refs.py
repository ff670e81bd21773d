"""The consent schema checks ``documents`` in one pass (``DocumentRefs``) rather than through the
nested ``DocumentRefSchema`` it documents: the two must accept and refuse the same refs."""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError

from service.consents.schemas import DocumentRefs
from service.documents.schemas import DocumentRefSchema

SHA = "ab" * 32


class Event(Schema):
    documents = DocumentRefs(required=True)


@pytest.mark.parametrize(
    "ref",
    [
        {"version": 1, "sha256": SHA},
        {"version": 1_000_000, "sha256": SHA},
        {"version": 0, "sha256": SHA},
        {"version": 1_000_001, "sha256": SHA},
        {"version": -3, "sha256": SHA},
        {"version": "1", "sha256": SHA},
        {"version": 1.0, "sha256": SHA},
        {"version": True, "sha256": SHA},
        {"version": None, "sha256": SHA},
        {"version": 1, "sha256": SHA.upper()},
        {"version": 1, "sha256": SHA[:-1]},
        {"version": 1, "sha256": SHA + "0"},
        {"version": 1, "sha256": 42},
        {"version": 1},
        {"sha256": SHA},
        {"version": 1, "sha256": SHA, "extra": 1},
        {},
    ],
)
def test_one_pass_check_agrees_with_the_documented_schema(ref):
    try:
        expected = DocumentRefSchema().load(ref)
    except ValidationError:
        expected = None
    try:
        found = Event().load({"documents": {"privacy": ref}})["documents"]["privacy"]
    except ValidationError:
        found = None
    assert found == expected
