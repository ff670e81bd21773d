"""Run Python in a subprocess where some packages cannot be imported, as if not installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the pure parts (service.ledger, the offline verifier) must run without.
WEB_STACK = ("flask", "werkzeug", "sqlalchemy", "flask_sqlalchemy", "nh3", "markdown_it")

BLOCKER = """
import sys


class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


sys.meta_path.insert(0, Refuse())
"""


def run_without(
    blocked: tuple[str, ...], code: str, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run ``code`` (with ``sys.argv[1:] == args``) where ``blocked`` cannot be imported."""
    for name in blocked:  # already imported by the parent: nothing to block in the child
        assert "." not in name
    program = f"BLOCKED = {blocked!r}\n{BLOCKER}\n{code}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", program, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
