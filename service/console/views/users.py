"""Console users: list, create (a one-time password shown once), disable, enable, reset."""

from __future__ import annotations

from flask import g, render_template, request

from ...errors import Conflict, DomainError, Forbidden
from ...sites.service import list_sites
from .. import users
from .base import bp, chosen_site, page
from .forms import problem_lines


def render(errors=None, notice=None, password=None, status=200):
    return render_template(
        "console/users.html",
        users=users.list_users(g.console_user.site_id),
        roles=users.ROLES,
        sites=list_sites(g.console_user.site_id),
        errors=errors or [],
        notice=notice,
        password=password,
    ), status


@bp.route("/users", endpoint="users")
@page("sites:admin")
def users_page():
    return render()


@bp.route("/users", methods=["POST"])
@page("sites:admin")
def create_user():
    password = users.generate_password()
    try:
        user = users.create_user(
            request.form.get("email", ""),
            request.form.get("role", ""),
            password,
            chosen_site(request.form),
        )
    except DomainError as error:
        return render(errors=problem_lines(error), status=422)
    return render(
        notice=f"Created {user.email}. Give them this one-time password:",
        password=password,
        status=201,
    )


@bp.route("/users/change", methods=["POST"])
@page("sites:admin")
def change_user():
    """Disable, enable or reset the password of a user this account manages."""
    email = request.form.get("email", "")
    operation = request.form.get("operation")
    bound = g.console_user.site_id
    try:
        if email.strip().lower() == g.console_user.email and operation != "reset":
            raise Conflict("You cannot disable or enable your own account.")
        if operation == "disable":
            users.disable_user(email, bound)
            return render(notice=f"Disabled {email}; their sessions have ended.")
        if operation == "enable":
            users.enable_user(email, bound)
            return render(notice=f"Enabled {email}.")
        if operation == "reset":
            password = users.generate_password()
            users.reset_password(email, password, bound)
            return render(notice=f"New one-time password for {email}:", password=password)
        raise Forbidden("Unknown operation.")
    except DomainError as error:
        return render(errors=problem_lines(error), status=error.status)
