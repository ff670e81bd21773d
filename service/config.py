"""Configuration: defaults, then ``CONSENTRY_*`` environment variables, then an explicit mapping.

Every setting can be given as ``CONSENTRY_<NAME>``; values that look like JSON are parsed as JSON
(Flask's ``from_prefixed_env``), so ``CONSENTRY_MAX_CONTENT_LENGTH=131072`` is an int.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

# Secrets shorter than this are refused in production (HMAC-SHA256 keys: 256 bits).
MIN_SECRET_BYTES = 32
# Answered in development when ALLOWED_HOSTS is not set.
DEVELOPMENT_HOSTS = ("localhost", ".localhost", "127.0.0.1")

DEFAULTS: dict[str, Any] = {
    # "development" generates missing secrets in the instance folder; "production" refuses to.
    "ENV": "development",
    "DATABASE_URL": None,  # None: SQLite file consentry.db in the instance folder
    "MAX_CONTENT_LENGTH": 64 * 1024,
    # Document drafts carry whole policies in several languages.
    "DOCUMENT_MAX_CONTENT_LENGTH": 512 * 1024,
    # One locale's Markdown body, in characters: bounds the one rendering at publication and
    # every draft preview (docs/security.md).
    "DOCUMENT_MAX_MARKDOWN_CHARS": 150_000,
    # Receipts presented to ledger verification (about 1 KB each).
    "RECEIPTS_MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
    "SECRET_KEY": None,
    "SECRET_KEY_FILE": None,
    # Former secret keys, newest first, still accepted when verifying tokens (rotation).
    "OLD_SECRET_KEYS": [],
    "PEPPER": None,
    "PEPPER_FILE": None,
    "RATELIMIT_STORAGE_URI": "memory://",
    # Stated for every app: Flask-Limiter's extension object otherwise carries it over.
    "RATELIMIT_ENABLED": True,
    # Valid consents per site, across all workers when the storage is Redis; requests refused as
    # invalid are not counted here, so they cannot use up a site's budget.
    "CONSENT_RATE_LIMIT": "100 per second",
    # Every consent POST of one client (an IPv4 address, or an IPv6 /64), valid or not.
    "CONSENT_CLIENT_RATE_LIMIT": "20 per second",
    # A checkpoint (signed tree head) is cut every N entries or T seconds of activity: the
    # entries since the newest one are the ledger's tail that only the head and receipts
    # vouch for (docs/security.md, "The tail window").
    "CHECKPOINT_EVERY": 256,
    "CHECKPOINT_SECONDS": 60,
    # PostgreSQL: an append frees its site's lock before its WAL flush (consents/writer.py).
    "EARLY_LOCK_RELEASE": True,
    # PostgreSQL: the append's statements are prepared once per connection (consents/writer.py);
    # false behind a proxy that moves sessions between server connections (PgBouncer, transaction
    # pooling).
    "PREPARED_STATEMENTS": True,
    # Production signing keys: PEM texts or files, current first, then retired ones.
    "SIGNING_KEYS": [],
    "SIGNING_KEY_FILES": [],
    # e.g. https://consent.example.com; required in production. In development links are built
    # from each request's Host, so only ALLOWED_HOSTS are answered.
    "PUBLIC_URL": None,
    # Host names answered (Flask's TRUSTED_HOSTS; ".example.com" includes subdomains). None: in
    # development the local names below, in production any (PUBLIC_URL builds every link).
    "ALLOWED_HOSTS": None,
    # Proxies (addresses or CIDR ranges, JSON list) whose forwarding headers are believed: the
    # client address (X-Forwarded-For) and the visitor's region (REGION_HEADERS). Default none.
    "TRUSTED_PROXIES": [],
    # How many trusted proxies in a row append to X-Forwarded-For (CDN + load balancer: 2).
    "PROXY_HOPS": 1,
    # CDN headers that carry the visitor's country and subdivision, in order of preference: a
    # header name or a [country, subdivision] pair, e.g. ["CF-IPCountry",
    # ["CloudFront-Viewer-Country", "CloudFront-Viewer-Country-Region"]] (docs/compliance.md).
    "REGION_HEADERS": [],
    # The Open Cookie Database CSV the compliance linter reads; None: the copy in the package.
    "COOKIE_DATABASE": None,
    "JSON_SORT_KEYS": False,
    # flask-smorest / OpenAPI
    "API_TITLE": "Consentry",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    # pool_pre_ping: a pooled connection cut by a database restart is replaced, not used.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    # Refuse to run on a database that could lose a committed consent (docs/operations.md).
    "CHECK_DURABILITY": True,
}


def load_config(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config`` from defaults, environment and ``overrides``; derive the rest."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("CONSENTRY")
    if overrides:
        app.config.from_mapping(overrides)

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app)
    app.config["SECRET_KEY"] = load_secret(app, "SECRET_KEY", "secret_key")
    app.config["PEPPER"] = load_secret(app, "PEPPER", "pepper")
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    app.config["TRUSTED_HOSTS"] = allowed_hosts(app)
    if app.config["ENV"] == "production":
        refuse_unsafe_production(app)


def allowed_hosts(app: Flask) -> list[str] | None:
    hosts = app.config.get("ALLOWED_HOSTS")
    if hosts is None and app.config["ENV"] != "production":
        return list(DEVELOPMENT_HOSTS)
    return list(hosts) if hosts is not None else None


def refuse_unsafe_production(app: Flask) -> None:
    """Production never starts with guessable secrets, a debugger, or links taken from Host."""
    problems = [
        f"CONSENTRY_{name} must be at least {MIN_SECRET_BYTES} bytes"
        for name in ("SECRET_KEY", "PEPPER")
        if len(app.config[name].encode()) < MIN_SECRET_BYTES
    ]
    if app.debug or app.config.get("DEBUG"):
        problems.append("debug mode is on (FLASK_DEBUG): its console runs code for anyone")
    public_url = app.config.get("PUBLIC_URL") or ""
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append("CONSENTRY_PUBLIC_URL must be set to the service's https:// address")
    if problems:
        raise RuntimeError("Refusing to start in production: " + "; ".join(problems) + ".")


def instance_path() -> str:
    """The instance folder: ``CONSENTRY_INSTANCE_PATH``, else ``./instance`` (working directory)."""
    return os.path.abspath(os.environ.get("CONSENTRY_INSTANCE_PATH") or "instance")


def database_uri(app: Flask) -> str:
    url = app.config.get("DATABASE_URL")
    if not url:
        return "sqlite:///" + os.path.join(app.instance_path, "consentry.db")
    # Accept the usual "postgresql://" and "postgres://" forms and use psycopg 3 for them.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_secret(app: Flask, name: str, filename: str) -> str:
    """A secret from the config/environment, from a file named there, or (development only) from
    the instance folder, generated with 0600 permissions on first run."""
    value = app.config.get(name)
    if value:
        return str(value)
    named_file = app.config.get(f"{name}_FILE")
    if named_file:
        return Path(named_file).read_text().strip()
    if app.config["ENV"] == "production":
        raise RuntimeError(
            f"CONSENTRY_{name} or CONSENTRY_{name}_FILE must be set when CONSENTRY_ENV=production"
        )
    return read_or_create_secret_file(Path(app.instance_path) / filename)


def read_or_create_secret_file(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(48)
    # Write a private temp file, then link it into place: the link fails if another worker won the
    # race, and nobody ever reads a half-written file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    try:
        os.link(tmp, path)
    except FileExistsError:
        value = path.read_text().strip()
    finally:
        tmp.unlink()
    return value
