"""A separate writer process for the concurrency tests: ``python -m tests.helpers.ledger_writer
DATABASE_URL INSTANCE_PATH WRITER_ID COUNT SHARED_EVENT_JSON`` posts COUNT events of its own plus
one shared duplicate, then prints how many answers were 201."""

from __future__ import annotations

import json
import sys

from service import create_app
from tests.helpers.consents import ORIGIN, event


def main() -> None:
    url, instance, writer, count, shared = sys.argv[1:6]
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    bodies = [json.loads(shared)] + [
        event(subject=f"s_proc{writer}_{n:05d}") for n in range(int(count))
    ]
    created = 0
    for body in bodies:
        response = client.post(
            "/api/v1/sites/news-example/consents", json=body, headers={"Origin": ORIGIN}
        )
        if response.status_code != 201:
            raise SystemExit(f"writer {writer}: {response.status_code} {response.get_json()}")
        created += 1
    print(created)


if __name__ == "__main__":
    main()
