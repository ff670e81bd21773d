"""Region headers as a CDN sends them, for the jurisdictions tests."""

from __future__ import annotations

CF = "CF-IPCountry"
CLOUDFRONT = ["CloudFront-Viewer-Country", "CloudFront-Viewer-Country-Region"]
