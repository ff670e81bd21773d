"""A mixed load of admin writes, consents and audit reads against a live service, and the checks
of what it left behind.

Each client thread owns a site (``c0``, ``c1``...: its consents, erasures, own documents) and
shares one site with every other thread (``shared``: drafts, publications and edits of the same
documents, renames of the same site), so that both uncontended and contended writes are made.
Every answer is kept; :func:`check_run` then says what is wrong: a 5xx, a 409 that the rules do
not justify (a lone client would not have got it), an acknowledged write missing or present twice,
version numbers with gaps or repeats, a ledger or chain that does not verify.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from service.documents.digest import content_sha256, normalise_texts

KINDS = ("privacy", "terms", "cookies", "banner")
SHARED = "shared"
CONTESTED = "contested"  # every thread tries to create it: one 201, the rest a real 409


class HttpClient:
    """JSON over HTTP with a bearer key; every answer is ``(status, body)``, never an exception."""

    def __init__(self, base_url: str, key: str, timeout: float = 120) -> None:
        self.base_url, self.key, self.timeout = base_url, key, timeout

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base_url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={
                "Authorization": f"Bearer {self.key}",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read())


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return {"raw": raw[:200].decode(errors="replace")}


def texts(kind: str, marker: str) -> dict[str, Any]:
    """Texts that name ``marker``, so each version's content tells which write made it."""
    return {"en": {"title": f"{kind.title()} {marker}", "body": f"Text {marker}.\n\nMore text."}}


def sha_of(kind: str, marker: str) -> str:
    return content_sha256(kind, normalise_texts(texts(kind, marker)))


def consent_event(subject: str, documents: dict[str, Any]) -> dict[str, Any]:
    return {
        "subject": subject,
        "client_event_id": str(uuid.uuid4()),
        "action": "custom",
        "choices": {"necessary": True, "analytics": True, "marketing": False},
        "documents": documents,
        "revision": "r" * 64,
        "method": "preferences",
        "gpc": False,
        "locale": "en",
        "page": "https://example.com/page",
    }


def site_body(site_id: str) -> dict[str, Any]:
    return {"id": site_id, "name": f"Site {site_id}", "allowed_origins": [origin(site_id)]}


def origin(site_id: str) -> str:
    return f"https://{site_id}.example.com"


@dataclass
class Answer:
    op: str
    status: int
    body: Any
    seconds: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Draft:
    kind: str
    version: int
    marker: str  # of its latest acknowledged texts
    owner: int


@dataclass
class Ledger:
    """What the run's clients were told, shared by the threads (under ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: list[Answer] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)  # shared site's acknowledged drafts
    published: dict[tuple[str, int], str] = field(default_factory=dict)  # -> sha published
    receipts: dict[str, str] = field(default_factory=dict)  # record id -> site
    erased: dict[str, str] = field(default_factory=dict)  # subject -> site
    keys_created: list[int] = field(default_factory=list)
    keys_revoked: list[int] = field(default_factory=list)
    contested_created: int = 0
    cli: list[tuple[list[str], int, str]] = field(default_factory=list)
    cli_versions: list[tuple[str, int, str]] = field(default_factory=list)  # kind, version, sha

    def keep(self, answer: Answer) -> Answer:
        with self.lock:
            self.answers.append(answer)
        return answer


class RunEnd:
    """A run lasts ``seconds``, and longer, up to four times as long, until ``minimum_answers``
    requests were answered: on a busy machine (CI beside other jobs) it still proves something."""

    def __init__(self, ledger: Ledger, seconds: float, minimum_answers: int) -> None:
        self.ledger, self.minimum = ledger, minimum_answers
        self.start = time.monotonic()
        self.seconds = seconds

    def reached(self) -> bool:
        elapsed = time.monotonic() - self.start
        if elapsed >= 4 * self.seconds:
            return True
        return elapsed >= self.seconds and len(self.ledger.answers) >= self.minimum


class AdminClient:
    """One client thread: a loop of weighted operations until the run ends."""

    WEIGHTS = {
        "draft_shared": 4,
        "publish_shared": 2,
        "publish_any": 2,
        "edit_shared": 2,
        "rename_shared": 1,
        "categories_own": 1,
        "publish_own": 1,
        "draft_delete_own": 1,
        "consent": 5,
        "erase": 1,
        "audit_read": 2,
        "proof": 1,
    }

    def __init__(self, index: int, http: HttpClient, ledger: Ledger, seed: int = 0) -> None:
        self.index, self.http, self.ledger = index, http, ledger
        self.site = f"c{index}"
        self.random = random.Random(seed * 1000 + index)
        self.documents: dict[str, Any] = {}  # own site's documents in force
        self.subjects: list[str] = []  # own site's subjects with a record
        self.records: list[str] = []
        self.ops = list(self.WEIGHTS)
        self.weights = [self.WEIGHTS[op] for op in self.ops]

    def call(self, op: str, method: str, path: str, body: Any = None, **detail) -> Answer:
        headers = {"Origin": origin(self.site)} if op == "consent" else None
        start = time.perf_counter()
        status, answer = self.http.call(method, path, body, headers)
        return self.ledger.keep(Answer(op, status, answer, time.perf_counter() - start, detail))

    def marker(self) -> str:
        return f"{self.index}-{uuid.uuid4().hex[:10]}"

    def start(self) -> None:
        self.call("create_site", "POST", "/api/v1/sites", site_body(self.site))
        answer = self.call("create_contested", "POST", "/api/v1/sites", site_body(CONTESTED))
        if answer.status == 201:
            with self.ledger.lock:
                self.ledger.contested_created += 1

    def run(self, end: RunEnd) -> None:
        self.start()
        while not end.reached():
            op = self.random.choices(self.ops, self.weights)[0]
            getattr(self, op)()

    # The shared site's documents: contended.

    def draft_shared(self) -> Draft | None:
        # Mostly one document, so that drafts of it are often made at the same moment.
        kind = self.random.choices(KINDS, [6, 2, 1, 1])[0]
        marker = self.marker()
        answer = self.call(
            "draft_shared",
            "POST",
            f"/api/v1/sites/{SHARED}/documents/{kind}/versions",
            {"texts": texts(kind, marker)},
        )
        if answer.status != 201:
            return None
        draft = Draft(kind, answer.body["version"], marker, self.index)
        with self.ledger.lock:
            self.ledger.drafts.append(draft)
        return draft

    def publish_shared(self) -> None:
        draft = self.draft_shared()
        if draft is not None:
            self.publish(draft)

    def publish_any(self) -> None:
        with self.ledger.lock:
            drafts = list(self.ledger.drafts)
        if drafts:
            self.publish(self.random.choice(drafts))

    def publish(self, draft: Draft) -> None:
        path = f"/api/v1/sites/{SHARED}/documents/{draft.kind}/versions/{draft.version}/publish"
        answer = self.call("publish", "POST", path, {}, kind=draft.kind, version=draft.version)
        if answer.status == 200:
            with self.ledger.lock:
                self.ledger.published[draft.kind, draft.version] = answer.body["content_sha256"]

    def edit_shared(self) -> None:
        """Edit one of this thread's drafts (one editor per draft: the last edit is known)."""
        with self.ledger.lock:
            mine = [draft for draft in self.ledger.drafts if draft.owner == self.index]
        if not mine:
            return
        draft = self.random.choice(mine)
        marker = self.marker()
        path = f"/api/v1/sites/{SHARED}/documents/{draft.kind}/versions/{draft.version}"
        body = {"texts": texts(draft.kind, marker)}
        answer = self.call("edit", "PATCH", path, body, kind=draft.kind, version=draft.version)
        if answer.status == 200:
            with self.ledger.lock:
                draft.marker = marker

    def rename_shared(self) -> None:
        self.call("rename_shared", "PATCH", f"/api/v1/sites/{SHARED}", {"name": self.marker()})

    # The thread's own site: uncontended, but in the same database as everyone's writes.

    def categories_own(self) -> None:
        status, site = self.http.call("GET", f"/api/v1/sites/{self.site}")
        if status != 200:
            return
        categories = [c for c in site["categories"] if not c["id"].startswith("extra")]
        if self.random.random() < 0.5:
            extra = {"id": f"extra{self.index}", "title": "Extra", "description": "More."}
            categories.append(extra)
        body = {"categories": categories}
        self.call("categories_own", "PATCH", f"/api/v1/sites/{self.site}", body)

    def publish_own(self) -> None:
        marker = self.marker()
        base = f"/api/v1/sites/{self.site}/documents/privacy/versions"
        answer = self.call("draft_own", "POST", base, {"texts": texts("privacy", marker)})
        if answer.status != 201:
            return
        version = answer.body["version"]
        answer = self.call("publish_own", "POST", f"{base}/{version}/publish", {})
        if answer.status == 200:
            self.documents = {
                "privacy": {"version": version, "sha256": answer.body["content_sha256"]}
            }

    def draft_delete_own(self) -> None:
        base = f"/api/v1/sites/{self.site}/documents/terms/versions"
        answer = self.call("draft_own", "POST", base, {"texts": texts("terms", self.marker())})
        if answer.status == 201:
            self.call("delete_own", "DELETE", f"{base}/{answer.body['version']}")

    def consent(self) -> None:
        subject = f"s_{self.index}_{uuid.uuid4().hex[:12]}"
        path = f"/api/v1/sites/{self.site}/consents"
        answer = self.call("consent", "POST", path, consent_event(subject, self.documents))
        if answer.status == 201:
            self.subjects.append(subject)
            self.records.append(answer.body["id"])
            with self.ledger.lock:
                self.ledger.receipts[answer.body["id"]] = self.site

    def erase(self) -> None:
        if not self.subjects:
            return
        subject = self.random.choice(self.subjects)
        path = f"/api/v1/sites/{self.site}/subjects/{subject}/erase"
        answer = self.call("erase", "POST", path, {})
        if answer.status == 200:
            with self.ledger.lock:
                self.ledger.erased[subject] = self.site

    def audit_read(self) -> None:
        path = self.random.choice(["consents?limit=20", "stats", "ledger/verify"])
        self.call("audit_read", "GET", f"/api/v1/sites/{self.site}/{path}")

    def proof(self) -> None:
        """An inclusion proof cuts a checkpoint when the record is newer than the last one."""
        if self.records:
            record = self.random.choice(self.records)
            self.call("proof", "GET", f"/api/v1/sites/{self.site}/consents/{record}/proof")


def run_clients(
    base_url: str,
    key: str,
    threads: int,
    seconds: float,
    cli: CliClient | None = None,
    minimum_answers: int = 0,
    seed: int = 0,
) -> tuple[Ledger, list[AdminClient]]:
    """Create the shared site, then run ``threads`` clients (and the CLI's loops) for ``seconds``,
    or longer until ``minimum_answers`` were answered (:class:`RunEnd`)."""
    ledger = cli.ledger if cli else Ledger()
    http = HttpClient(base_url, key)
    status, body = http.call("POST", "/api/v1/sites", site_body(SHARED))
    assert status == 201, body
    clients = [AdminClient(index, http, ledger, seed) for index in range(threads)]
    end = RunEnd(ledger, seconds, minimum_answers)
    loops = [client.run for client in clients] + ([cli.run] if cli else [])
    workers = [threading.Thread(target=loop, args=(end,)) for loop in loops]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return ledger, clients


# What a lone client may be answered 409 for, per operation (each checked against the end state).
def justified_conflict(answer: Answer, state: dict[tuple[str, int], Any]) -> bool:
    code = (answer.body or {}).get("error", {}).get("code")
    details = (answer.body or {}).get("error", {}).get("details", {})
    if code != "conflict":
        return False
    if answer.op == "create_contested":
        return True  # the site exists: created by another thread
    key = (answer.detail.get("kind"), answer.detail.get("version"))
    row = state.get(key)
    if answer.op == "edit":  # published meanwhile by another thread
        return row is not None and row["status"] == "published"
    if answer.op == "publish":
        if details.get("status") == "published":  # published already
            return row is not None and row["status"] == "published"
        later = details.get("latest_published")  # a newer version was published first
        newer = state.get((key[0], later))
        return later is not None and later > key[1] and newer and newer["status"] == "published"
    return False


def summarise(answers: list[Answer]) -> dict[str, Any]:
    """Answers by operation and status, and the latencies."""
    by_op: dict[str, Counter] = {}
    for answer in answers:
        by_op.setdefault(answer.op, Counter())[answer.status] += 1
    return {op: dict(sorted(counts.items())) for op, counts in sorted(by_op.items())}


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


class CliClient:
    """The commands that write, run as an operator would (one process each), in a loop:
    policy as code on the shared site, API keys, retention, checkpoints; and a verification."""

    def __init__(self, command: list[str], env: dict[str, str], ledger: Ledger, folder) -> None:
        self.command, self.env, self.ledger, self.folder = command, env, ledger, folder
        self.key_ids: list[int] = []

    def run(self, end: RunEnd) -> None:
        """Each command in a loop of its own, at once; each runs at least once."""
        loops = [
            self.publish,
            self.key_created_and_revoked,
            self.checkpoint,
            self.retention,
            self.verify,
        ]

        def repeat(step) -> None:
            step()
            while not end.reached():
                step()

        threads = [threading.Thread(target=repeat, args=(step,)) for step in loops]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def key_created_and_revoked(self) -> None:
        self.create_key()
        self.revoke_key()

    def invoke(self, *args: str) -> tuple[int, str]:
        import subprocess

        done = subprocess.run(
            [*self.command, *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        output = done.stdout + done.stderr
        with self.ledger.lock:
            self.ledger.cli.append((list(args), done.returncode, output[-2000:]))
        return done.returncode, output

    def publish(self) -> None:
        marker = f"cli-{uuid.uuid4().hex[:10]}"
        path = self.folder / f"{marker}.md"
        path.write_text(f"# Privacy {marker}\n\nText {marker}.\n", encoding="utf-8")
        status, output = self.invoke("documents", "publish", SHARED, "privacy", str(path))
        if status == 0 and output.startswith("published"):
            words = output.split()
            version, sha = int(words[4]), words[-1]
            with self.ledger.lock:
                self.ledger.published["privacy", version] = sha
                self.ledger.cli_versions.append(("privacy", version, sha))

    def create_key(self) -> None:
        status, output = self.invoke("keys", "create", "--scope", "audit:read", "--label", "cli")
        if status == 0:
            key_id = int(output.split("key id ")[1].split(",")[0])
            self.key_ids.append(key_id)
            with self.ledger.lock:
                self.ledger.keys_created.append(key_id)

    def revoke_key(self) -> None:
        if self.key_ids:
            key_id = self.key_ids.pop(0)
            if self.invoke("keys", "revoke", str(key_id))[0] == 0:
                with self.ledger.lock:
                    self.ledger.keys_revoked.append(key_id)

    def checkpoint(self) -> None:
        self.invoke("ledger", "checkpoint")

    def retention(self) -> None:
        self.invoke("retention", "apply")

    def verify(self) -> None:
        """A long read beside the writes (the demo site's ledger): it must hold none of them up."""
        self.invoke("ledger", "verify", "news-example")
