"""``service.ledger`` is pure Python: it imports and verifies a ledger with only the standard
library and ``cryptography``, in a process where Flask, SQLAlchemy, nh3 and markdown-it cannot
be imported."""

from __future__ import annotations

from tests.helpers.isolation import WEB_STACK, run_without

VERIFY_A_LEDGER = """
import sys
from service.crypto.jws import attach_signature
from service.ledger import canonical, chain, checkpoint, erasure, evidence, merkle, verify
from service.ledger import vocabulary
from tests.helpers.ledger import erase, make_ledger

ledger = make_ledger(40, checkpoint_every=10)
first = ledger.entries[0]
receipt = attach_signature(first.body, first.kid, first.signature)
erase(ledger, [1, 2, 3])
report = verify.verify_ledger(
    ledger.entries,
    ledger.checkpoints,
    public_keys=ledger.ring.public_key,
    check_signatures=True,
    erasures=ledger.erasures,
    receipts=[receipt],
)
assert report.ok, report.problems
assert report.checked == 40 and report.checkpoints_checked == 4, report
assert report.erasures_checked == 1 and report.receipts[0].status == "matches", report
loaded = [name for name in ("flask", "sqlalchemy", "nh3", "markdown_it") if name in sys.modules]
print("loaded:", loaded)
"""


def test_the_ledger_package_verifies_without_the_web_stack():
    done = run_without(WEB_STACK, VERIFY_A_LEDGER)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "loaded: []"


def test_the_blocker_really_blocks():
    done = run_without(WEB_STACK, "import service.app")
    assert done.returncode == 1
    assert "ModuleNotFoundError: No module named 'flask' (blocked)" in done.stderr
