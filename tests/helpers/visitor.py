"""A test client that keeps subject tokens as the widget does.

The service wants a subject's token on every consent after its first (403
``subject_token_required`` otherwise). The widget keeps the token of the first answer and sends
it with the subject's later events; this client does the same for consent POSTs made with
``json=``, so tests about other things can record several consents for one subject. The tokens
are kept per app (every client of a test's app shares them, as a browser's storage would); a
body that names its own ``subject_token`` is sent as it is. Tests of the token rule itself use
:func:`plain_client`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

CONSENTS = re.compile(r"^/api/v1/sites/([^/?]+)/consents(?:\?.*)?$")


class VisitorClient(FlaskClient):
    def open(self, *args: Any, **kwargs: Any):
        path = args[0] if args and isinstance(args[0], str) else kwargs.get("path")
        match = CONSENTS.match(path) if isinstance(path, str) else None
        body = kwargs.get("json")
        if not match or not isinstance(body, dict) or not isinstance(body.get("subject"), str):
            return super().open(*args, **kwargs)
        tokens = self.application.extensions.setdefault("test_subject_tokens", {})
        key = (match[1], body["subject"])
        if "subject_token" not in body and key in tokens:
            kwargs["json"] = body | {"subject_token": tokens[key]}
        response = super().open(*args, **kwargs)
        answer = response.get_json(silent=True) if response.status_code == 201 else None
        if isinstance(answer, dict) and answer.get("subject_token"):
            tokens[key] = answer["subject_token"]
        return response


def plain_client(app: Flask) -> FlaskClient:
    """A client that sends exactly what it is given (no tokens added)."""
    return FlaskClient(app, app.response_class, use_cookies=True)
