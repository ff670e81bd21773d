"""Helpers shared by the document tests."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from service.timeutil import utcnow

VERSIONS = "/api/v1/sites/{site}/documents/{kind}/versions"


def texts(body: str = "We collect little.\n\nWe keep it safe.", title: str = "Privacy Policy"):
    return {"en": {"title": title, "body": body}}


def draft(client, headers, kind="privacy", site="news-example", **payload):
    payload.setdefault("texts", texts())
    response = client.post(VERSIONS.format(site=site, kind=kind), json=payload, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def publish(client, headers, version, kind="privacy", site="news-example", **payload):
    url = VERSIONS.format(site=site, kind=kind) + f"/{version}/publish"
    response = client.post(url, json=payload, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def draft_and_publish(client, headers, kind="privacy", site="news-example", body=None, **options):
    payload = {"texts": texts(body)} if body else {}
    version = draft(client, headers, kind, site, **payload)["version"]
    return publish(client, headers, version, kind, site, **options)


class Clock:
    """Moves the service's notion of now; everything else keeps the real time."""

    def __init__(self, monkeypatch) -> None:
        self.offset = timedelta()
        modules = (
            "service.documents.service",
            "service.documents.banner",
            "service.documents.fastpath",
        )
        for module in modules:
            monkeypatch.setattr(f"{module}.utcnow", self.now)

    def now(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)
