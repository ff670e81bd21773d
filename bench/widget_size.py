"""Benchmark: the widget's size (JS + CSS, gzip -9) against its peers: the first layer (what
loads before the banner shows), the on-demand parts, and everything the widget can load.

Builds the widget (``npm run build`` in widget/, which itself fails over the budgets), then
installs the peers from npm into a temporary folder and measures what a site loads for each one
(JS + CSS + English) with the same gzip -9. Without npm or the registry, it prints the anchors of
DESIGN.md section 6, marked as such. The widget's texts come with its config (34 languages, not in
the bundle). Bars: first layer <= 5,120 bytes, everything <= 10,240 bytes.

    PYTHONPATH=. python bench/widget_size.py [--no-build]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "service" / "static" / "widget.js"
ON_DEMAND = ROOT / "service" / "static" / "widget-more.js"
BUDGET = 5120
TOTAL_BUDGET = 10240

# name, npm spec, files a site loads (JS + CSS + English), what it covers
PEERS = [
    (
        "Osano cookieconsent",
        "cookieconsent@3.1.1",
        ["build/cookieconsent.min.js", "build/cookieconsent.min.css"],
        "notice only",
    ),
    (
        "vanilla-cookieconsent",
        "vanilla-cookieconsent@3.1.0",
        ["dist/cookieconsent.umd.js", "dist/cookieconsent.css"],
        "",
    ),
    (
        "tarteaucitron",
        "tarteaucitronjs@1.34.0",
        [
            "tarteaucitron.min.js",
            "tarteaucitron.services.min.js",
            "lang/tarteaucitron.en.min.js",
            "css/tarteaucitron.min.css",
        ],
        "several requests",
    ),
    ("klaro", "klaro@0.7.22", ["dist/klaro.js"], "CSS and translations inlined"),
]
# DESIGN.md section 6, measured earlier on this machine
ANCHORS = {
    "Osano cookieconsent": 8044,
    "vanilla-cookieconsent": 15474,
    "tarteaucitron": 60364,
    "klaro": 67123,
}


NODE_GZIP = (
    "const {readFileSync} = require('fs'); const {gzipSync} = require('zlib');"
    "console.log(gzipSync(Buffer.concat(process.argv.slice(1).map(f => readFileSync(f))),"
    " {level: 9}).length)"
)


def gzip9(*paths: Path) -> int:
    """gzip -9 size of the files concatenated (as one response would carry them), with Node's
    zlib like widget/build.mjs's budget check (it compresses a little worse than Python's zlib
    or GNU gzip: the stricter figure); Python's zlib without Node."""
    if shutil.which("node"):
        answer = subprocess.run(
            ["node", "-e", NODE_GZIP, *map(str, paths)], check=True, capture_output=True, text=True
        )
        return int(answer.stdout)
    data = b"".join(path.read_bytes() for path in paths)
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def build_widget() -> None:
    widget = ROOT / "widget"
    if not (widget / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=widget, check=True)
    subprocess.run(["npm", "run", "--silent", "build"], cwd=widget, check=True)


def measure_peers() -> tuple[dict[str, int], str]:
    """Sizes of the peers installed from npm now, or the DESIGN.md anchors and why."""
    if shutil.which("npm") is None:
        return ANCHORS, "npm not found: DESIGN.md anchors, not measured in this run"
    with tempfile.TemporaryDirectory(prefix="consentry-peers-") as folder:
        command = ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--ignore-scripts"]
        try:
            subprocess.run(
                [*command, "--prefix", folder, *(spec for _, spec, _, _ in PEERS)],
                check=True,
                capture_output=True,
                timeout=180,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            return ANCHORS, f"npm install failed ({error}): DESIGN.md anchors, not measured"
        modules = Path(folder) / "node_modules"
        sizes = {}
        for name, spec, files, _ in PEERS:
            package = modules / spec.rsplit("@", 1)[0]
            sizes[name] = gzip9(*(package / f for f in files))
        return sizes, "measured now from npm"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="measure the committed bundle")
    args = parser.parse_args()
    if not args.no_build:
        build_widget()
    ours = gzip9(BUNDLE)
    more = gzip9(ON_DEMAND)
    peers, source = measure_peers()

    print(f"Widget size, JS + CSS (+ English for the peers), gzip -9 (peers: {source})")
    print(f"{'widget':<24}{'bytes':>8}  {'x Consentry':>11}  note")
    first = f"{'Consentry first layer':<24}{ours:>8}  {1:>11.2f}"
    print(f"{first}  before the banner; bar <= {BUDGET:,}")
    print(f"{'Consentry on demand':<24}{more:>8}  {'':>11}  dialog, placeholders, retries")
    print(f"{'Consentry everything':<24}{ours + more:>8}  {'':>11}  bar <= {TOTAL_BUDGET:,}")
    for name, spec, _, note in PEERS:
        size = peers[name]
        anchor = f"DESIGN.md anchor {ANCHORS[name]:,}" if peers is not ANCHORS else "anchor"
        print(f"{name:<24}{size:>8}  {size / ours:>11.2f}  {spec}; {note}; {anchor}".rstrip())
    ok = ours <= BUDGET and ours + more <= TOTAL_BUDGET
    print(
        f"\nConsentry first layer {ours:,} bytes, everything {ours + more:,} bytes: "
        f"{'within' if ok else 'OVER'} the {BUDGET:,} / {TOTAL_BUDGET:,}-byte budgets"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
