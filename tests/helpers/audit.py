"""Helpers shared by the audit tests: a site with a published privacy policy and a recorder."""

from __future__ import annotations

from tests.helpers.consents import ORIGIN, event
from tests.helpers.documents import draft_and_publish

SITE = "news-example"
BASE = f"/api/v1/sites/{SITE}"


class Recorder:
    """Records consent events over HTTP, naming the documents in force."""

    def __init__(self, client, admin) -> None:
        self.client = client
        self.admin = admin
        self.documents: dict = {}

    def publish(self, kind: str = "privacy", body: str | None = None, site: str = SITE) -> dict:
        version = draft_and_publish(self.client, self.admin, kind, site, body=body)
        self.documents[kind] = {"version": version["version"], "sha256": version["content_sha256"]}
        return version

    def __call__(self, site: str = SITE, **overrides) -> dict:
        overrides.setdefault("documents", dict(self.documents))
        response = self.client.post(
            f"/api/v1/sites/{site}/consents", json=event(**overrides), headers={"Origin": ORIGIN}
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()


def recording_site(client, admin, make_site) -> Recorder:
    """The site ``news-example`` with privacy policy version 1, and a recorder for it."""
    make_site()
    recorder = Recorder(client, admin)
    recorder.publish()
    return recorder


def accept(subject: str = "s_visitor_0001", **overrides) -> dict:
    return {
        "subject": subject,
        "action": "accept_all",
        "choices": {"necessary": True, "analytics": True, "marketing": True},
        "method": "banner",
        **overrides,
    }


def reject(subject: str = "s_visitor_0001", **overrides) -> dict:
    return {
        "subject": subject,
        "action": "reject_all",
        "choices": {"necessary": True, "analytics": False, "marketing": False},
        "method": "banner",
        **overrides,
    }
