"""``/demo``: a news article page of the demo site, embedding the widget like any customer page.

It carries a gated analytics script and a gated advertising iframe that show on the page whether
they ran, the links to the hosted policies and a "Cookie settings" footer link. No inline script or
style, and it is served under the strict Content-Security-Policy that docs/embedding.md promises
the widget works with.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from ..demo.seed import DEMO_SITE

bp = Blueprint(
    "demo",
    __name__,
    url_prefix="/demo",
    template_folder="templates",
    static_folder="static/demo",
    static_url_path="",
)

CONTENT_SECURITY_POLICY = (
    "script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'self'"
)
# The demo's own files (the ad frame, its styles): the article may frame them.
STATIC_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'self'"


@bp.after_request
def demo_files_may_be_framed_by_the_article(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", STATIC_POLICY)
    return response


@bp.get("")
def article() -> Response:
    """The demo article."""
    response = Response(render_template("demo/article.html", site=DEMO_SITE))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response
