"""Banner config GET throughput against a bare Flask JSON endpoint, in the same run.

Starts gunicorn (2 sync workers) twice on 127.0.0.1: the real app on a seeded SQLite database
(demo site, its policies and banner texts), and a bare Flask app returning a small JSON. Drives
both with wrk (or, without wrk, a multi-process Python client) in alternating rounds, the banner
as visitors of four regions see it (EU, California, elsewhere, unknown: CDN headers from a
trusted proxy), and prints the median requests/s and each region's ratio against the bar (>= 80%).

    PYTHONPATH=. python bench/banner_throughput.py [--rounds 3] [--seconds 5] [--against PATH]

``--against PATH`` also serves another checkout's banner (say ``git worktree add ../old COMMIT``),
seeded alike, in the same alternating rounds, and prints each region's rate against it (the median
of per-round ratios). An older checkout that knows no regions answers every visitor alike.

Exit status 1 when a region's ratio is below the bar.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAR = 0.80
WORKERS = 2

BARE_APP = """
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify({"status": "ok", "site": "news-example", "revision": "0" * 64})
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(instance: Path, base_url: str, database_url: str | None = None, root: Path = ROOT) -> None:
    """Migrate a fresh database (SQLite in ``instance`` unless ``database_url``) and seed the
    demo site with its documents, with the code of the checkout at ``root``."""
    code = (
        "from flask_migrate import upgrade\n"
        "from service import create_app\n"
        "try:\n"
        "    from service.demo.seed import seed_demo\n"
        "except ImportError:  # a checkout from before service/demo/seed.py\n"
        "    from service.demo import seed_demo\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    upgrade()\n"
        f"    seed_demo({base_url!r})\n"
    )
    env = os.environ | {"CONSENTRY_INSTANCE_PATH": str(instance), "PYTHONPATH": str(root)}
    if database_url:
        env["CONSENTRY_DATABASE_URL"] = database_url
    subprocess.run([sys.executable, "-c", code], env=env, cwd=root, check=True, capture_output=True)


def start_gunicorn(
    app: str, port: int, env: dict[str, str], cwd: Path, workers: int = WORKERS, threads: int = 1
) -> subprocess.Popen:
    """gunicorn on 127.0.0.1:``port``: ``sync`` workers, or ``gthread`` ones with ``threads``."""
    worker_class = ["sync"] if threads == 1 else ["gthread", "--threads", str(threads)]
    command = [
        sys.executable, "-m", "gunicorn", "--workers", str(workers),
        "--worker-class", *worker_class,
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning", app,
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=cwd)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"gunicorn for {app} did not start on port {port}")


def run_wrk(url: str, seconds: int, headers: dict[str, str]) -> float:
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} failed responses\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def _client(args: tuple[str, int, str, dict[str, str], float]) -> int:
    host, port, path, headers, until = args
    done = 0
    while time.monotonic() < until:
        connection = http.client.HTTPConnection(host, port, timeout=5)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}")
        connection.close()
        done += 1
    return done


def run_python_client(url: str, seconds: int, headers: dict[str, str]) -> float:
    match = re.match(r"http://([^:/]+):(\d+)(.*)", url)
    host, port, path = match.group(1), int(match.group(2)), match.group(3)
    until = time.monotonic() + seconds
    with multiprocessing.Pool(8) as pool:
        counts = pool.map(_client, [(host, port, path, headers, until)] * 8)
    return sum(counts) / seconds


# Each visitor's CDN headers: the app trusts 127.0.0.1 (wrk) to send CloudFront's pair.
REGION_HEADERS = ["CloudFront-Viewer-Country", "CloudFront-Viewer-Country-Region"]
REGIONS = {
    "EU (FR), opt-in": {REGION_HEADERS[0]: "FR"},
    "California, opt-out": {REGION_HEADERS[0]: "US", REGION_HEADERS[1]: "CA"},
    "elsewhere (BR), notice": {REGION_HEADERS[0]: "BR"},
    "unknown region": {},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--against", type=Path, help="another checkout, served side by side")
    options = parser.parse_args()
    load = run_wrk if shutil.which("wrk") else run_python_client
    tool = "wrk -t2 -c16" if load is run_wrk else "python client, 8 processes"

    with tempfile.TemporaryDirectory(prefix="consentry-bench-") as folder:
        folder = Path(folder)
        bare_port = free_port()
        (folder / "bare_app.py").write_text(BARE_APP)
        servers = [
            start_gunicorn("bare_app:app", bare_port, os.environ | {"PYTHONPATH": "."}, folder)
        ]
        runs = {"bare Flask JSON ping": (f"http://127.0.0.1:{bare_port}/ping", {})}
        try:
            server, banner_url, origin = serve_banner(folder / "instance", ROOT)
            servers.append(server)
            for region, headers in REGIONS.items():
                runs[f"banner GET, {region}"] = (banner_url, {"Origin": origin} | headers)
            if options.against:
                root = options.against.resolve()
                server, url, origin = serve_banner(folder / "instance-against", root)
                servers.append(server)
                runs[f"banner GET ({root.name})"] = (url, {"Origin": origin})
            for url, headers in runs.values():
                load(url, 1, headers)  # warm up: imports, connections, the banner cache
            rates = measure(load, runs, options)
        finally:
            for server in servers:
                server.terminate()
                server.wait(10)
    return report(rates, tool, options)


def serve_banner(instance: Path, root: Path) -> tuple[subprocess.Popen, str, str]:
    """Seed the demo site with the checkout at ``root`` and serve it: (gunicorn, the banner URL,
    the site's origin)."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    seed(instance, origin, root=root)
    env = os.environ | {
        "CONSENTRY_INSTANCE_PATH": str(instance),
        "PYTHONPATH": str(root),
        "CONSENTRY_REGION_HEADERS": json.dumps([REGION_HEADERS]),
        "CONSENTRY_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]),
    }
    server = start_gunicorn("service:create_app()", port, env, root)
    return server, f"{origin}/api/v1/sites/news-example/banner?locale=en", origin


def measure(load, runs, options) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for round_number in range(options.rounds):
        # Alternate the order: the machine's load drifts during a run.
        for name in names if round_number % 2 == 0 else names[::-1]:
            url, headers = runs[name]
            rates[name].append(load(url, options.seconds, headers))
    return rates


def report(rates: dict[str, list[float]], tool: str, options) -> int:
    bare_name = next(iter(rates))
    bare_rates = rates[bare_name]
    print(f"load: {tool}, {options.rounds} rounds x {options.seconds} s, gunicorn {WORKERS} sync")
    against = next((name for name in rates if name.startswith("banner GET (")), None)
    passed = True
    for name, runs in rates.items():
        line = f"{name + ':':42} {statistics.median(runs):8.0f} req/s  (rounds: {_fmt(runs)})"
        if name != bare_name:
            ratio = _ratio(runs, bare_rates)
            passed &= ratio >= BAR
            line += f"  ratio {ratio:.1%} {'PASS' if ratio >= BAR else 'FAIL'}"
        if against and name not in (bare_name, against):
            line += f"  vs {against[12:-1]} {_ratio(runs, rates[against]):.1%}"
        print(line)
    print(f"bar: every region >= {BAR:.0%} of the bare ping: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


def _ratio(runs: list[float], baseline: list[float]) -> float:
    """The median of the per-round ratios: each round's runs saw much the same load."""
    return statistics.median(r / b for r, b in zip(runs, baseline, strict=True))


def _fmt(rates: list[float]) -> str:
    return ", ".join(f"{rate:.0f}" for rate in rates)


if __name__ == "__main__":
    sys.exit(main())
