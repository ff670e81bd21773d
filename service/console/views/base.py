"""The console's blueprint: sign-in gate, the shared access check, errors as pages, and CSP."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from ...auth.guard import check_grant
from ...errors import DomainError
from ..signin import must_enrol_totp, session_user

csrf = CSRFProtect()

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/static",
)

# A strict policy: our own scripts, styles and images only; frames only our own preview page.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)
PUBLIC_ENDPOINTS = {"console.login", "console.login_code", "console.static"}
ENROL_ENDPOINTS = {"console.account", "console.logout", "console.static"}


@bp.before_request
def require_sign_in():
    # Per-request values only: a test client reuses one app context (and its g) for many requests.
    g.pop("csrf_token", None)
    g.pop("console_user", None)
    if request.method == "POST":
        csrf.protect()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    user, why = session_user()
    if user is None:
        if why:
            session["notice"] = why
        return redirect(url_for("console.login", next=request.full_path))
    g.console_user = user
    if must_enrol_totp(user) and request.endpoint not in ENROL_ENDPOINTS:
        return redirect(url_for("console.account"))
    return None


@bp.after_request
def security_headers(response):
    if request.endpoint != "console.preview_frame":
        response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    return render_template("console/error.html", status=error.status, message=error.message), (
        error.status
    )


@bp.errorhandler(CSRFError)
def csrf_error(error: CSRFError):
    message = (
        "This form expired or did not come from this console, so nothing was changed. "
        "Reload the page and try again."
    )
    return render_template("console/error.html", status=400, message=message), 400


def page(*scopes: str) -> Callable:
    """Guard a console view with the API's rule: any of ``scopes``, and the user's site."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any):
            user = g.console_user
            check_grant(user.scopes, user.site_id, scopes, kwargs.get("site"), holder="account")
            return view(*args, **kwargs)

        guarded.required_scopes = scopes
        return guarded

    return decorate


def chosen_site(values: Mapping[str, str]) -> str | None:
    """The site a form or query names (``site``; empty: all sites), unless the account is bound
    to a site: then always that one."""
    return g.console_user.site_id or (values.get("site") or None)


def download(body: Any, mimetype: str, filename: str) -> Response:
    """A file to save (``Content-Disposition: attachment``), not a page to show."""
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.context_processor
def console_globals():
    from flask import current_app

    def page_url(**changes: Any) -> str:
        """The current page's URL with some query arguments changed (pagination links)."""
        args = request.args.to_dict() | {k: v for k, v in changes.items() if v is not None}
        return url_for(request.endpoint, **(request.view_args or {}), **args)

    return {"endpoints": set(current_app.view_functions), "page_url": page_url}
