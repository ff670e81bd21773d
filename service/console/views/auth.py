"""Sign-in, the TOTP step, sign-out and the account page (TOTP enrolment)."""

from __future__ import annotations

from flask import g, redirect, render_template, request, session, url_for

from ...errors import Unprocessable
from .. import signin, users
from .base import bp


def safe_next(target: str | None) -> str:
    """Only a path inside the console: never another host (open redirect)."""
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return url_for("console.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    notice = session.pop("notice", None)
    if request.method == "GET":
        return render_template("console/login.html", notice=notice, next=request.args.get("next"))
    result = signin.check_password_step(
        request.form.get("email", ""), request.form.get("password", "")
    )
    target = safe_next(request.form.get("next"))
    if result.needs_totp:
        session["pending_next"] = target
        return redirect(url_for("console.login_code"))
    if result.user is None:
        status = 429 if result.throttled else 401
        return render_template(
            "console/login.html", error=signin.GENERIC_FAILURE, next=target
        ), status
    return redirect(target)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    if signin.pending_user() is None:
        return redirect(url_for("console.login"))
    if request.method == "GET":
        return render_template("console/login_code.html")
    target = session.get("pending_next")
    result = signin.check_totp_step(request.form.get("code", ""))
    if result.user is None:
        status = 429 if result.throttled else 401
        if signin.pending_user() is None:
            return redirect(url_for("console.login"))
        return render_template("console/login_code.html", error=signin.GENERIC_FAILURE), status
    return redirect(safe_next(target))


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    session["notice"] = "You are signed out."
    return redirect(url_for("console.login"))


@bp.route("/account", methods=["GET", "POST"])
def account():
    user = g.console_user
    error = None
    if request.method == "POST" and not user.totp_secret:
        secret = session.get("totp_secret")
        try:
            if not secret:
                raise Unprocessable("Start again: the setup expired.")
            users.enable_totp(user, secret, request.form.get("code", ""))
            session.pop("totp_secret", None)
            return redirect(url_for("console.account"))
        except Unprocessable as problem:
            error = problem.message
    secret = None
    if not user.totp_secret:
        secret = session.setdefault("totp_secret", users.new_totp_secret())
    return render_template(
        "console/account.html",
        secret=secret,
        uri=users.totp_uri(user, secret) if secret else None,
        required=signin.must_enrol_totp(user),
        error=error,
    ), (422 if error else 200)
