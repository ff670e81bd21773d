"""The banner config's fast path: cache hits answered before Flask dispatches the request.

``GET /api/v1/sites/{site}/banner`` is what every page view of every site calls. A hit needs one
read of ``sites.config_version`` and a dictionary lookup, yet going through Flask's request
cycle (rate limiter, session, URL matching, hooks) costs several times that. This middleware
answers a hit with exactly the headers the Flask view gives it (ETag, Cache-Control, Vary, CORS
for the site's allowed origins, 304) and hands everything else to Flask: misses, which build and
cache the entry, any other method, query or path, and every error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from flask import Flask
from werkzeug.http import parse_etags
from werkzeug.sansio.utils import host_is_trusted
from werkzeug.wrappers import Request

from ..extensions import db
from ..jurisdictions.resolution import resolver
from ..sites.cors import cors_headers
from ..sites.schemas import SLUG_PATTERN
from ..timeutil import utcnow
from . import banner
from .locales import is_valid_locale

BANNER_PATH = re.compile(rf"^/api/v1/sites/({SLUG_PATTERN})/banner$")


class BannerFastPath:
    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._engine = None
        self._regions = resolver(app)
        self._vary = ", ".join(["Origin", *self._regions.vary])

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        answer = None
        if environ.get("REQUEST_METHOD") == "GET":
            match = BANNER_PATH.match(environ.get("PATH_INFO", ""))
            if match:
                answer = self._answer_hit(match.group(1), environ)
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return [body]

    def _answer_hit(self, site_id: str, environ: dict[str, Any]):
        query = environ.get("QUERY_STRING", "")
        if query and not query.startswith("locale="):
            return None
        locale = query[7:] or None
        if locale is not None and not is_valid_locale(locale):
            return None  # Flask answers the 422
        base_url = self._base_url(environ)
        if base_url is None:
            return None
        try:
            prepare = self.app.config["PREPARED_STATEMENTS"]
            version = banner.read_config_version(self._db_engine(), site_id, prepare)
        except Exception:
            return None  # Flask will meet the same problem and answer it properly
        if version is None:
            return None
        region = self._regions.from_headers(environ)
        cache = banner.banner_cache(self.app)
        entry = cache.peek(banner.cache_key(site_id, locale, base_url, region), version, utcnow())
        if entry is None:
            return None
        headers = [*entry.headers.items(), ("Vary", self._vary)]
        origin = environ.get("HTTP_ORIGIN")
        if origin:
            headers += cors_headers(entry.site, origin).items()
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match and parse_etags(if_none_match).contains(entry.revision):
            return "304 NOT MODIFIED", headers, b""
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(entry.body)))]
        return "200 OK", headers, entry.body

    def _base_url(self, environ: dict[str, Any]) -> str | None:
        public_url = self.app.config.get("PUBLIC_URL")
        if public_url:
            return public_url.rstrip("/")
        host = environ.get("HTTP_HOST")
        if not host:
            return None  # let Flask validate the host
        trusted_hosts = self.app.config.get("TRUSTED_HOSTS")
        return request_base_url(
            host,
            environ["wsgi.url_scheme"],
            environ.get("SCRIPT_NAME", ""),
            tuple(trusted_hosts) if trusted_hosts else None,
        )

    def _db_engine(self):
        if self._engine is None:
            with self.app.app_context():
                self._engine = db.engine
        return self._engine


@lru_cache(maxsize=256)  # a few hosts serve a site; each banner GET asks again
def request_base_url(
    host: str, scheme: str, script_name: str, trusted_hosts: tuple[str, ...] | None
) -> str | None:
    """The base URL the Flask view would build (``request.scheme/host/root_path``, normalised
    the same way), or None for an untrusted host (Flask answers 400)."""
    if trusted_hosts and not host_is_trusted(host, trusted_hosts):
        return None
    environ = {"HTTP_HOST": host, "wsgi.url_scheme": scheme, "SCRIPT_NAME": script_name}
    request = Request(environ, populate_request=False, shallow=True)
    return f"{request.scheme}://{request.host}{request.root_path}"


def init_app(app: Flask) -> None:
    app.wsgi_app = BannerFastPath(app, app.wsgi_app)
