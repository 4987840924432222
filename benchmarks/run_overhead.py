"""apiary run against a naive loop (venv + pip + pytest per package), measured in one run.

    .venv/bin/python benchmarks/run_overhead.py [--packages 8]

Builds N small local packages (git repositories with a pytest suite), then times:
- naive: for each package `python -m venv`, `pip install pytest`, `python -m pytest`;
- apiary cold: `apiary run` with an empty work dir (venvs built, uv installs);
- apiary warm: the same run again (sources and venvs reused).
and prints the ratios, plus apiary's own overhead per package: the package's wall time
minus the time spent in its install and test commands, read from the run's events.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from normalized_events import PackageFinished, read_events
from sidebyside import GIT_ENV

APIARY = str(Path(sys.executable).with_name("apiary"))


def make_packages(root: Path, count: int) -> Path:
    registry = root / "registry"
    (registry / "packages").mkdir(parents=True)
    index = ["last_updated: '2026-01-01T00:00:00'", "packages:"]
    for i in range(count):
        name = f"bench-pkg-{i}"
        repo = root / "repos" / name
        (repo / f"bench_pkg_{i}").mkdir(parents=True)
        (repo / f"bench_pkg_{i}" / "__init__.py").write_text(f"VALUE = {i}\n")
        (repo / "tests").mkdir()
        (repo / "tests" / "test_value.py").write_text(
            f"import bench_pkg_{i}\n\ndef test_value():\n    assert bench_pkg_{i}.VALUE == {i}\n"
        )
        for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "b"]):
            subprocess.run(argv, cwd=repo, check=True, env=GIT_ENV)
        (registry / "packages" / f"{name}.yaml").write_text(
            f"package: {name}\nrepo: {repo}\nextension_type: pure\n"
            "install_command: pip install pytest\n"
            "test_command: python -m pytest -q -p no:cacheprovider tests\n"
            f"enriched: true\nimport_name: bench_pkg_{i}\n"
        )
        index += [f"- name: {name}", "  download_count: 1"]
    (registry / "index.yaml").write_text("\n".join(index) + "\n")
    return registry


def naive(root: Path, count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        repo = root / "repos" / f"bench-pkg-{i}"
        venv = root / "naive-venvs" / str(i)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "pytest"],
            check=True,
        )
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
            cwd=repo,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return time.perf_counter() - started


def apiary(root: Path, registry: Path, run_id: str) -> tuple[float, list[float]]:
    started = time.perf_counter()
    subprocess.run(
        [
            APIARY,
            "run",
            "--registry-dir",
            str(registry),
            "--results-dir",
            str(root / "results"),
            "--work-dir",
            str(root / "work"),
            "--run-id",
            run_id,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CI": "1"},
    )
    wall = time.perf_counter() - started
    overheads = []
    for event in read_events(root / "results" / run_id / "events.jsonl").known():
        if isinstance(event, PackageFinished):
            spent = sum(event.durations.get(step, 0.0) for step in ("install", "test", "rerun"))
            overheads.append(event.duration_s - spent)
    return wall, overheads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, default=8)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="apiary-bench-"))
    try:
        registry = make_packages(root, args.packages)
        naive_s = naive(root, args.packages)
        cold_s, cold_over = apiary(root, registry, "cold")
        warm_s, warm_over = apiary(root, registry, "warm")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    n = args.packages
    print(f"packages: {n}")
    print(f"naive loop (venv + pip + pytest): {naive_s:7.2f} s  ({naive_s / n:.2f} s/package)")
    print(f"apiary run, cold cache:           {cold_s:7.2f} s  ({cold_s / n:.2f} s/package)")
    print(f"apiary run, warm cache:           {warm_s:7.2f} s  ({warm_s / n:.2f} s/package)")
    print(f"ratio naive / apiary cold: {naive_s / cold_s:5.1f}x")
    print(f"ratio naive / apiary warm: {naive_s / warm_s:5.1f}x")
    print(
        "apiary overhead per package (outside install and test commands): "
        f"cold median {statistics.median(cold_over):.3f} s, "
        f"warm median {statistics.median(warm_over):.3f} s, warm max {max(warm_over):.3f} s"
    )


if __name__ == "__main__":
    main()
