"""A site as the API takes it."""

from __future__ import annotations


def site_payload(site_id: str = "news-example", **overrides) -> dict:
    payload = {
        "id": site_id,
        "name": "The Daily Example",
        "allowed_origins": ["https://news.example.com", "http://localhost:8000"],
    }
    payload.update(overrides)
    return payload
