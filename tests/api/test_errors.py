"""Every error under /api answers the one envelope, never a stack trace or an HTML page."""

from __future__ import annotations

import pytest

from tests.helpers.apps import app_on


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    assert "Traceback" not in response.get_data(as_text=True)
    return error


def test_unknown_route_is_404_envelope(client):
    assert_envelope(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_405_envelope(client, admin):
    response = client.delete("/api/v1/sites", headers=admin)
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_malformed_json_is_400(client, admin):
    response = client.post(
        "/api/v1/sites", data="{not json", content_type="application/json", headers=admin
    )
    assert_envelope(response, 400, "malformed_json")


def test_validation_error_is_422_with_field_details(client, admin):
    response = client.post("/api/v1/sites", json={"id": "x"}, headers=admin)
    error = assert_envelope(response, 422, "validation_failed")
    assert set(error["details"]["fields"]) >= {"name", "allowed_origins"}


@pytest.mark.parametrize("body", ["[]", "null", "42", '"text"'])
def test_json_that_is_not_an_object_is_422(client, admin, body):
    response = client.post(
        "/api/v1/sites", data=body, content_type="application/json", headers=admin
    )
    assert_envelope(response, 422, "validation_failed")


def test_oversized_body_is_413(client, admin):
    response = client.post(
        "/api/v1/sites",
        data='{"name": "' + "x" * (65 * 1024) + '"}',
        content_type="application/json",
        headers=admin,
    )
    assert_envelope(response, 413, "payload_too_large")


def test_body_limit_is_configurable(backend, tmp_path):
    with app_on(backend, tmp_path, MAX_CONTENT_LENGTH=100) as app:
        response = app.test_client().post(
            "/api/v1/sites", data="{" + " " * 200 + "}", content_type="application/json"
        )
    assert_envelope(response, 413, "payload_too_large")


@pytest.mark.parametrize("content_type", ["application/xml", "text/html", "multipart/form-data"])
def test_unsupported_media_type_is_415(client, admin, content_type):
    response = client.post(
        "/api/v1/sites", data="<site/>", content_type=content_type, headers=admin
    )
    assert_envelope(response, 415, "unsupported_media_type")


def test_internal_error_is_500_without_internals(app, client):
    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    app.testing = False  # let the handler answer instead of propagating
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/api/v1/boom")
    error = assert_envelope(response, 500, "internal_error")
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert error["details"] == {}


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_openapi_document_and_local_docs_ui(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/sites" in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "swagger-ui-bundle.js" in html and "//cdn" not in html and "unpkg" not in html
    assert client.get("/api/docs/swagger-ui-bundle.js").status_code == 200
