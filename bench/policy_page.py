"""Benchmark: an anonymous GET of a hosted policy page (``/p/{site}/{kind}``), through the WSGI app.

On a fresh SQLite database, one site gets three documents, each published twice (the page shows
the changes since the version before):

- ``policy``: the demo privacy policy grown to about 60,000 characters (a long real policy);
- ``brackets``: a body of 250,000 ``[`` characters (issue 14). Where the code refuses it (the
  Markdown bounds), it is published with the bounds lifted, as a version published before them
  that migration 0013 rendered once;
- ``tables``: 300 rows of a three-column table with links.

For each, ``--requests`` GETs of the current page (version 2) are timed and the median and p95
printed in milliseconds. Run it on two checkouts to compare (``PYTHONPATH`` picks the code):

    PYTHONPATH=. python bench/policy_page.py [--requests 15]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

SITE = "bench-pages"
POLICY = (Path(__file__).resolve().parents[1] / "service/demo/policies/privacy.md").read_text()
TABLE = "| Name | Provider | Link |\n|---|---|---|\n" + "".join(
    f"| cookie_{n} | Example {n} | [details](https://example.com/{n}) |\n" for n in range(300)
)
CASES = {
    "policy": (POLICY * 20, POLICY * 19 + "One more paragraph.\n\n" + POLICY),
    "brackets": ("[" * 250_000, "[" * 250_000 + " changed"),
    "tables": (TABLE, TABLE + "| extra | Example | [x](https://example.com) |\n"),
}
KINDS = {"policy": "privacy", "brackets": "terms", "tables": "cookies"}


@contextlib.contextmanager
def bounds_lifted():
    """Publish past the Markdown bounds, where the code has them (a version from before them)."""
    from service.documents import service

    original = getattr(service, "check_markdown", None)
    if original is None:
        yield
        return
    service.check_markdown = lambda *_args, **_kwargs: None
    try:
        yield
    finally:
        service.check_markdown = original


def publish(case: str) -> None:
    from service.documents.service import publish_text

    with bounds_lifted():
        for body in CASES[case]:
            publish_text(SITE, KINDS[case], {"en": {"title": case.title(), "body": body}})


def time_page(client, kind: str, requests: int) -> list[float]:
    client.get(f"/p/{SITE}/{kind}")  # warm the templates
    timings = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(f"/p/{SITE}/{kind}")
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=15)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from service import create_app
    from service.sites.schemas import SiteCreateSchema
    from service.sites.service import create_site

    folder = tempfile.mkdtemp(prefix="consentry-bench-pages-")
    app = create_app(
        {"TESTING": True, "INSTANCE_PATH": folder, "DATABASE_URL": f"sqlite:///{folder}/b.db"}
    )
    with app.app_context():
        upgrade()
        site = {"id": SITE, "name": "Bench", "allowed_origins": ["https://bench.example"]}
        create_site(SiteCreateSchema().load(site))
        for case in CASES:
            publish(case)
    client = app.test_client()
    print(f"{'case':<10} {'median ms':>10} {'p95 ms':>10}")
    for case, kind in KINDS.items():
        timings = sorted(time_page(client, kind, args.requests))
        p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
        print(f"{case:<10} {statistics.median(timings):>10.2f} {p95:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
