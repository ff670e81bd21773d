"""Scale-out: one service process group, then two, on one PostgreSQL database.

Runs the service under gunicorn (2 sync workers) against one PostgreSQL database and measures
consent POST and banner GET throughput with wrk; then starts a second gunicorn (2 more workers,
same database, same keys) and drives both at once. Prints the sums, the ratio, and verifies that
the ledger the two wrote is still one linear, verified chain.

On a 2-core machine both process groups share the same two cores, so the sum cannot grow much:
the figure to read there is that nothing breaks (no forked chain, no failed request) when
processes are added. On more cores it shows how far adding processes goes.

    PYTHONPATH=. python bench/scale_out.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.banner_throughput import ROOT, free_port, run_wrk, seed, start_gunicorn
from bench.consent_throughput import (
    consent_template,
    prepare_database,
    service_env,
    verify_ledger,
    wrk_post,
)


def drive(ports: list[int], origin: str, seconds: int, template: str) -> tuple[float, float]:
    """Summed (consent POST req/s, banner GET req/s) with one wrk per process group at once."""
    headers = {"Origin": origin, "Content-Type": "application/json"}

    def post(port: int) -> float:
        url = f"http://127.0.0.1:{port}/api/v1/sites/news-example/consents"
        return wrk_post(url, seconds, template, headers)["rps"]

    def get(port: int) -> float:
        url = f"http://127.0.0.1:{port}/api/v1/sites/news-example/banner?locale=en"
        return run_wrk(url, seconds, {"Origin": origin})

    with ThreadPoolExecutor(len(ports)) as pool:
        consents = sum(pool.map(post, ports))
        banners = sum(pool.map(get, ports))
    return consents, banners


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="consentry-scale-") as folder:
        folder = Path(folder)
        database_url, _bare = prepare_database("postgresql", folder)
        instance = folder / "instance"
        ports = [free_port(), free_port()]
        origin = f"http://127.0.0.1:{ports[0]}"
        seed(instance, origin, database_url)
        env = service_env(instance, database_url)
        servers = [start_gunicorn("service:create_app()", ports[0], env, ROOT)]
        try:
            template = consent_template(origin)
            drive(ports[:1], origin, 1, template)  # warm up
            one = drive(ports[:1], origin, options.seconds, template)
            servers.append(start_gunicorn("service:create_app()", ports[1], env, ROOT))
            drive(ports[1:], origin, 1, template)
            two = drive(ports, origin, options.seconds, template)
        finally:
            for server in servers:
                server.terminate()
                server.wait(10)
        verified = verify_ledger(instance, database_url)
    print("PostgreSQL, gunicorn 2 sync workers per process group, wrk -t2 per group")
    print(f"  one process group:  consent POST {one[0]:6.0f} req/s  banner GET {one[1]:6.0f} req/s")
    print(f"  two process groups: consent POST {two[0]:6.0f} req/s  banner GET {two[1]:6.0f} req/s")
    print(f"  ratio two/one: consent {two[0] / one[0]:.2f}x, banner {two[1] / one[1]:.2f}x")
    print(f"  {verified}")
    return 0 if verified.startswith("ledger verify: ok=True") else 1


if __name__ == "__main__":
    sys.exit(main())
