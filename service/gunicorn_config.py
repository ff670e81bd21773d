"""gunicorn settings for Consentry:
``gunicorn -c python:service.gunicorn_config 'service:create_app()'``.

The access log (to stdout; ``--access-logfile`` overrides it) names no subject and no token in
clear: each line's request target is the one the app redacted (:mod:`service.accesslog`), with
subject ids as keyed hashes. Every other setting stays gunicorn's, given on the command line.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from service.accesslog import ENVIRON_KEY, redact


class AccessLogger(Logger):
    """gunicorn's logger, with the request target and the referrer redacted in access lines."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        # Set by the app (keyed hashes); without it (the app never saw the request), the
        # subject is removed rather than logged.
        target = environ.get(ENVIRON_KEY) or redact(environ.get("RAW_URI", ""), None)
        path, _, query = target.partition("?")
        atoms["r"] = f"{environ['REQUEST_METHOD']} {target} {environ['SERVER_PROTOCOL']}"
        atoms["U"], atoms["q"] = path, query
        atoms["f"] = atoms["{referer}i"] = redact(atoms["f"], None)
        return atoms


logger_class = AccessLogger
accesslog = "-"
