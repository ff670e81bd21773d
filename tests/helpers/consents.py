"""Consent events as the widget sends them, documents to name in them, and the ledger's check."""

from __future__ import annotations

import uuid

from service.documents.service import publish_text

ORIGIN = "https://news.example.com"


def event(**overrides) -> dict:
    body = {
        "subject": "s_visitor_0001",
        "client_event_id": str(uuid.uuid4()),
        "action": "custom",
        "choices": {"necessary": True, "analytics": True, "marketing": False},
        "documents": {},
        "revision": "r" * 64,
        "method": "preferences",
        "gpc": False,
        "locale": "en",
        "page": "https://news.example.com/article/1?email=a@b.c#top",
    }
    body.update(overrides)
    return body


def publish(kind: str, body: str, material: bool = True) -> dict:
    state, _created = publish_text(
        "news-example", kind, {"en": {"title": kind.title(), "body": body}}, material=material
    )
    return {"version": state.document.version, "sha256": state.document.content_sha256}


def verify(client, admin) -> dict:
    response = client.get("/api/v1/sites/news-example/ledger/verify", headers=admin)
    assert response.status_code == 200
    return response.get_json()
