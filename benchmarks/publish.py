"""Time the snapshot publisher's build + verify of the whole set against a plain baseline.

    .venv/bin/python benchmarks/publish.py [--repeat N]

Both sides run in this process, one after the other, on a copy of the committed tree:
- publisher: tools/ build_and_verify (packages built in parallel, `python -m build
  --installer uv` when uv is found, then every check including the install into a
  fresh venv);
- baseline: a plain sequential `python -m build` of each package (pip as installer), which
  neither rewrites, verifies nor installs anything.
Uploading is not measured (it depends on the registry, not on this code).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from snapshot_publisher.discover import discover
from snapshot_publisher.pipeline import build_and_verify
from snapshot_publisher.plan import make_plan
from snapshot_publisher.versioning import SnapshotId

REPO = Path(__file__).resolve().parents[1]


def committed_tree(dest: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "HEAD"], check=True, capture_output=True
    ).stdout
    dest.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def publisher_once(tree: Path, out: Path) -> float:
    plan = make_plan(tree, SnapshotId(int(time.time()), "benchmark"))
    start = time.perf_counter()
    build_and_verify(plan, out, echo=lambda _line: None)
    return time.perf_counter() - start


def baseline_once(tree: Path, out: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    start = time.perf_counter()
    for package in discover(tree):
        subprocess.run(
            [sys.executable, "-m", "build", "--outdir", str(out), str(package.directory)],
            check=True,
            capture_output=True,
            env=env,
        )
    return time.perf_counter() - start


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cli.add_argument("--repeat", type=int, default=2)
    args = cli.parse_args()
    ours: list[float] = []
    plain: list[float] = []
    with tempfile.TemporaryDirectory(prefix="apiary-bench-") as tmp:
        count = len(discover(REPO))
        for run in range(args.repeat):
            # Alternate the order so neither side always gets the warmer caches.
            sides = [("publisher", ours), ("baseline", plain)]
            for name, results in sides if run % 2 == 0 else reversed(sides):
                tree = committed_tree(Path(tmp) / f"{name}-{run}" / "tree")
                out = tree.parent / "dist"
                once = publisher_once if name == "publisher" else baseline_once
                results.append(once(tree, out))
                print(f"run {run + 1} {name:9} {results[-1]:6.2f} s", flush=True)
    ours_median, plain_median = statistics.median(ours), statistics.median(plain)
    print(f"packages: {count}, runs: {args.repeat}, cores: {os.cpu_count()}")
    print(f"publisher build + verify (parallel, uv):   median {ours_median:6.2f} s")
    print(f"baseline sequential python -m build (pip): median {plain_median:6.2f} s")
    print(f"ratio publisher / baseline: {ours_median / plain_median:.2f}")


if __name__ == "__main__":
    main()
