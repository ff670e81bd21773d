"""API keys: list, create (the key is shown once, on the page that answers the form), revoke."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for

from ...auth import service as keys
from ...auth.models import ApiKey
from ...errors import DomainError, NotFound
from ...extensions import db
from ...sites.service import list_sites
from .base import bp, chosen_site, page
from .forms import parse_int, problem_lines


def visible_keys() -> list[ApiKey]:
    bound = g.console_user.site_id
    return [k for k in keys.list_api_keys() if bound is None or k.site_id == bound]


def render(errors=None, created=None, plaintext=None, status=200):
    return render_template(
        "console/keys.html",
        keys=visible_keys(),
        scopes=keys.SCOPES,
        sites=list_sites(g.console_user.site_id),
        errors=errors or [],
        created=created,
        plaintext=plaintext,
    ), status


@bp.route("/keys", endpoint="keys")
@page("sites:admin")
def keys_page():
    return render()


@bp.route("/keys", methods=["POST"])
@page("sites:admin")
def create_key():
    try:
        key, plaintext = keys.create_api_key(
            request.form.getlist("scopes"),
            chosen_site(request.form),
            (request.form.get("label") or "")[:200],
        )
    except DomainError as error:
        return render(errors=problem_lines(error), status=422)
    return render(created=key, plaintext=plaintext, status=201)


@bp.route("/keys/<key_id>/revoke", methods=["POST"])
@page("sites:admin")
def revoke_key(key_id: str):
    number = parse_int(key_id, "key id", 1)
    key = db.session.get(ApiKey, number)
    bound = g.console_user.site_id
    if key is None or (bound is not None and key.site_id != bound):
        raise NotFound(f"No API key with id {number}.")
    try:
        keys.revoke_api_key(number)
    except DomainError as error:
        return render(errors=problem_lines(error), status=error.status)
    return redirect(url_for("console.keys"))
