"""A writer process for the crash suite: posts consent events to a live service for a while and
records which ones were acknowledged (201 with a receipt).

    python -m tests.faults.crash_writer BASE_URL SECONDS OUT_FILE SEED

Like the widget, it retries an event (same body, same ``client_event_id``) on connection errors,
408, 429 and 5xx, with a short backoff, until it is acknowledged; after SECONDS it starts no new
event but finishes the one in hand. Each acknowledged event is appended to OUT_FILE at once
(``client_event_id seq``), so the list survives whatever happens to this process. Prints a JSON
summary at the end.
"""

from __future__ import annotations

import http.client
import json
import random
import sys
import time
import uuid
from urllib.parse import urlsplit

from service.documents.banner import consent_documents

SITE = "news-example"
GIVE_UP_AFTER = 120.0  # seconds of retrying one event: the service did not recover


def call(base: str, method: str, path: str, body: bytes | None = None) -> tuple[int, dict | None]:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        headers = {"Content-Type": "text/plain", "Origin": base} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, None


def banner(base: str) -> dict:
    deadline = time.monotonic() + GIVE_UP_AFTER
    while True:
        try:
            status, config = call(base, "GET", f"/api/v1/sites/{SITE}/banner?locale=en")
            if status == 200:
                return config
        except (OSError, http.client.HTTPException):
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the banner config never came")
        time.sleep(0.2)


def make_event(config: dict, rng: random.Random, base: str) -> dict:
    action = rng.choice(["accept_all", "reject_all", "custom"])
    choices = {
        c["id"]: (
            c["required"] or action == "accept_all" or (action == "custom" and rng.random() < 0.5)
        )
        for c in config["categories"]
    }
    return {
        "subject": f"s_crash_{rng.getrandbits(64):016x}",
        "client_event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "action": action,
        "choices": choices,
        "documents": consent_documents(config),
        "revision": config["revision"],
        "method": "preferences" if action == "custom" else "banner",
        "gpc": False,
        "locale": "en",
        "page": f"{base}/article/{rng.randrange(1000)}",
    }


def deliver(base: str, event: dict, stats: dict) -> dict | None:
    """Post until acknowledged; the answer, or None when refused for good or given up."""
    body = json.dumps(event).encode()
    started = time.monotonic()
    delay = 0.05
    while time.monotonic() - started < GIVE_UP_AFTER:
        stats["attempts"] += 1
        try:
            status, answer = call(base, "POST", f"/api/v1/sites/{SITE}/consents", body)
        except (OSError, http.client.HTTPException):
            # Refused, reset, or cut mid-answer (IncompleteRead) by a killed worker.
            stats["connection_errors"] += 1
        else:
            if status in (200, 201) and answer and answer.get("receipt"):
                return answer
            if status not in (408, 429) and status < 500:
                stats["refused"].append([event["client_event_id"], status, answer])
                return None
            stats["server_errors"] += 1
            by_status = stats["server_error_statuses"]
            by_status[str(status)] = by_status.get(str(status), 0) + 1
        time.sleep(delay)
        delay = min(1.0, delay * 2)
    stats["given_up"] += 1
    return None


def main() -> None:
    base, seconds, out_file, seed = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    rng = random.Random(seed)
    config = banner(base)
    stats = {
        "sent": 0,
        "acknowledged": 0,
        "attempts": 0,
        "connection_errors": 0,
        "server_errors": 0,
        "server_error_statuses": {},
        "given_up": 0,
        "refused": [],
    }
    deadline = time.monotonic() + seconds
    with open(out_file, "a", buffering=1) as out:
        while time.monotonic() < deadline:
            event = make_event(config, rng, base)
            stats["sent"] += 1
            answer = deliver(base, event, stats)
            if answer is not None:
                out.write(f"{event['client_event_id']} {answer['seq']}\n")
                stats["acknowledged"] += 1
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
