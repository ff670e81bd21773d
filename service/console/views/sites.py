"""Site settings: every setting the API has, read with the API's own schema and saved with the
same service function (so the same rules, the same messages)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import g, redirect, render_template, request, url_for
from marshmallow import ValidationError, fields, validate

from ...errors import DomainError, Forbidden, Unprocessable
from ...sites import service
from ...sites.schemas import SiteCreateSchema, SiteSchema, SiteSettingsSchema
from .base import bp, page
from .forms import field_messages, problem_lines

SETTINGS = tuple(SiteSettingsSchema().fields)


@dataclass(frozen=True)
class Field:
    """How one schema field is edited: text, number, checkbox, choice, lines or JSON."""

    name: str
    widget: str
    value: Any
    choices: tuple[str, ...] = ()


def widget_for(field: fields.Field) -> tuple[str, tuple[str, ...]]:
    if isinstance(field, fields.Boolean):
        return "checkbox", ()
    if isinstance(field, fields.Integer):
        return "number", ()
    if isinstance(field, fields.String):
        for validator in [field.validate, *field.validators]:
            if isinstance(validator, validate.OneOf):
                return "choice", tuple(validator.choices)
        return "text", ()
    if isinstance(field, fields.List) and isinstance(field.inner, fields.String):
        return "lines", ()
    return "json", ()


def form_fields(schema, values: dict[str, Any], names: tuple[str, ...]) -> list[Field]:
    result = []
    for name in names:
        widget, choices = widget_for(schema.fields[name])
        value = values.get(name)
        if widget == "json" and not isinstance(value, str):
            value = json.dumps(value, indent=2, ensure_ascii=False)
        elif widget == "lines" and isinstance(value, list):
            value = "\n".join(value)
        result.append(Field(name, widget, value, choices))
    return result


def read_form(schema, names: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
    """The submitted values in the shape the API takes, and the JSON fields that did not parse."""
    data: dict[str, Any] = {}
    problems = []
    for name in names:
        widget, _choices = widget_for(schema.fields[name])
        raw = request.form.get(name, "")
        if widget == "checkbox":
            data[name] = name in request.form
        elif widget == "lines":
            data[name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif widget == "json":
            try:
                data[name] = json.loads(raw) if raw.strip() else None
            except ValueError as error:
                problems.append(f"{name}: not valid JSON ({error.msg}, line {error.lineno}).")
            if data.get(name) is None:
                data.pop(name, None)
        elif raw == "" and schema.fields[name].allow_none:
            data[name] = None  # an empty optional text: the setting is unset
        else:
            data[name] = raw
    return data, problems


def messages_of(error: ValidationError) -> list[str]:
    return field_messages(Unprocessable("", {"fields": error.messages}))


@bp.route("/sites/<site>/settings", methods=["GET", "POST"])
@page("sites:admin")
def site_settings(site: str):
    current = SiteSchema().dump(service.get_site(site))
    schema = SiteSettingsSchema(partial=SETTINGS)
    errors: list[str] = []
    saved = False
    values = current
    if request.method == "POST":
        submitted, errors = read_form(schema, SETTINGS)
        values = {**current, **submitted}
        if not errors:
            try:
                service.update_site(site, schema.load(submitted))
                return redirect(url_for("console.site_settings", site=site, saved=1))
            except ValidationError as error:
                errors = messages_of(error)
            except DomainError as error:
                errors = problem_lines(error)
    saved = request.args.get("saved") == "1"
    return render_template(
        "console/site_settings.html",
        site=site,
        fields=form_fields(schema, values, SETTINGS),
        errors=errors,
        saved=saved,
    ), (422 if errors else 200)


@bp.route("/sites/new", methods=["GET", "POST"])
@page("sites:admin")
def new_site():
    if g.console_user.site_id is not None:
        raise Forbidden("An account bound to one site cannot create sites.")
    schema = SiteCreateSchema()
    names = ("id", "name", "allowed_origins")
    errors: list[str] = []
    values: dict[str, Any] = {}
    if request.method == "POST":
        values, errors = read_form(schema, names)
        if not errors:
            try:
                created = service.create_site(schema.load(values))
                return redirect(url_for("console.site_settings", site=created.id))
            except ValidationError as error:
                errors = messages_of(error)
            except DomainError as error:
                errors = problem_lines(error)
    return render_template(
        "console/new_site.html", fields=form_fields(schema, values, names), errors=errors
    ), (422 if errors else 200)
