"""Fixtures of the jurisdictions tests."""

from __future__ import annotations

import pytest

from service import create_app
from service.extensions import db
from tests.helpers.regions import CF, CLOUDFRONT


@pytest.fixture
def cdn_app(app, tmp_path):
    """A second app on the test's database, behind a CDN at 127.0.0.1 (the test client's
    address) that sends CF-IPCountry or CloudFront's pair."""
    regional = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "cdn"),
            "DATABASE_URL": app.config["DATABASE_URL"],
            "RATELIMIT_ENABLED": False,
            "REGION_HEADERS": [CLOUDFRONT, CF],
            "TRUSTED_PROXIES": ["127.0.0.1/32", "::1"],
        }
    )
    yield regional
    with regional.app_context():
        db.engine.dispose()
