"""Every feature's commands are on ``consentry``; a refused command prints one line, exits 1."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from service.app import FEATURES

COMMANDS = {
    "keys": {"create", "list", "revoke", "rotate-signing"},
    "ledger": {"checkpoint", "verify"},
    "documents": {"publish", "list", "diff"},
    "retention": {"apply"},
    "sites": {"create", "list", "update"},
    "subjects": {"erase"},
}


def test_each_feature_registers_its_commands(app):
    for group, subcommands in COMMANDS.items():
        assert set(app.cli.commands[group].commands) == subcommands
    assert {"export", "verify-bundle", "demo"} <= set(app.cli.commands)


def test_every_feature_package_wires_itself_in():
    import importlib

    for name in FEATURES:
        assert callable(importlib.import_module(name).init_app), name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["keys", "revoke", "999"], "Error: No API key with id 999."),
        (["ledger", "verify", "nosuch"], "Error: Site 'nosuch' not found."),
        (["ledger", "checkpoint", "nosuch"], "Error: Site 'nosuch' not found."),
        (["documents", "list", "nosuch"], "Error: Site 'nosuch' not found."),
        (["export", "nosuch", "--out", "/dev/null"], "Error: Site 'nosuch' not found."),
        (["retention", "apply", "--site", "nosuch"], "Error: Site 'nosuch' not found."),
        (["sites", "update", "nosuch", "--name", "N"], "Error: Site 'nosuch' not found."),
        (
            ["subjects", "erase", "nosuch", "s_x", "--reason", "r"],
            "Error: Site 'nosuch' not found.",
        ),
    ],
)
def test_a_refused_command_prints_one_line_and_fails(runner, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert result.output.strip() == message
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_installed_command_reports_a_refusal_without_a_traceback(tmp_path):
    database = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "CONSENTRY_DATABASE_URL": database}
    env["CONSENTRY_INSTANCE_PATH"] = str(tmp_path)
    command = [sys.executable, "-c", "from service.cli import main; main()"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*command, *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )

    unmigrated = run("keys", "revoke", "999")
    assert unmigrated.returncode == 1
    assert unmigrated.stderr.strip().splitlines() == [
        "Error: The database refused the command: no such table: api_keys"
    ]
    assert run("db", "upgrade").returncode == 0
    for args, line in (
        (("keys", "revoke", "999"), "Error: No API key with id 999."),
        (("ledger", "verify", "nosuch"), "Error: Site 'nosuch' not found."),
    ):
        result = run(*args)
        assert (result.returncode, result.stderr.strip()) == (1, line)
