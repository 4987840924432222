"""`apiary run` against `labeille run` on the same six local packages, measured in one run.

    .venv/bin/python benchmarks/run_vs_labeille.py [--labeille PATH] [--rounds 2]
        [--target-python PATH] [--workers 2] [--before CHECKOUT]

Six small git repositories, one registry both tools read (the same format): a suite that
passes, one that fails, one that segfaults, one that aborts, one whose tests import a
missing dependency, and an ordinary one of several tests. Both tools run them with the
same interpreter, uv as the installer and 2 workers:
- cold: empty work dir (clones, venvs) and an empty uv cache;
- warm: the same work dir again (clones and venvs reused; labeille with --repos-dir and
  --venvs-dir), the uv cache kept.
Rounds alternate the tools. apiary does its extra work all along (sandbox, import check,
crash reruns, events); its per-step timings are printed from the run's events. Without
labeille, apiary's figures are printed alone. Beside the wall times it prints the CPU the
whole machine spent during each run (every process either tool started, sandboxed or
not: read it on an idle machine). With `--before`, a checkout of an earlier apiary (its
sources put on PYTHONPATH) is measured too, in the same rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from normalized_events import PackageFinished, read_events
from sidebyside import GIT_ENV, Sample, Series, bytecode_env, find_labeille, load_average, timed

APIARY = str(Path(sys.executable).with_name("apiary"))
TESTS = {
    "bench-pass": "def test_ok():\n    assert 1 + 1 == 2\n",
    "bench-fail": "def test_bad():\n    assert 1 + 1 == 3\n",
    "bench-segv": "import ctypes\n\ndef test_segv():\n    ctypes.string_at(0)\n",
    "bench-abort": "import os\n\ndef test_abort():\n    os.abort()\n",
    "bench-missing": "import bench_absent_dependency\n\ndef test_never():\n    pass\n",
    "bench-ordinary": "".join(
        f"def test_{i}():\n    assert sum(range({i})) == {i * (i - 1) // 2}\n\n" for i in range(30)
    ),
}


def make_registry(root: Path) -> Path:
    """The six repositories and a registry naming them by file:// URL."""
    registry = root / "registry"
    (registry / "packages").mkdir(parents=True)
    index = ["last_updated: '2026-01-01T00:00:00'", "packages:"]
    for rank, (name, test) in enumerate(TESTS.items()):
        module = name.replace("-", "_")
        repo = root / "repos" / name
        (repo / module).mkdir(parents=True)
        (repo / module / "__init__.py").write_text("VALUE = 1\n")
        (repo / "tests").mkdir()
        (repo / "tests" / "test_it.py").write_text(test)
        (repo / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "1.0"\n'
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        )
        for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "b"]):
            subprocess.run(argv, cwd=repo, check=True, env=GIT_ENV)
        (registry / "packages" / f"{name}.yaml").write_text(
            f"package: {name}\nrepo: file://{repo}\nextension_type: pure\n"
            "install_command: pip install -e . pytest\n"
            "test_command: python -m pytest -q -p no:cacheprovider tests\n"
            f"enriched: true\nimport_name: {module}\n"
        )
        index += [f"- name: {name}", f"  download_count: {100 - rank}"]
    (registry / "index.yaml").write_text("\n".join(index) + "\n")
    return registry


def run_apiary(
    root: Path, registry: Path, target: str, workers: int, tag: str, side: str, before: str | None
) -> Sample:
    """apiary's run; the side "apiary-before" runs the code of `before` (a checkout) with
    its own work dir, results and uv cache."""
    suffix = "-before" if side == "apiary-before" else ""
    argv = [
        APIARY, "run", "--registry-dir", str(registry), "--target-python", target,
        "--workers", str(workers), "--installer", "uv",
        "--results-dir", str(root / f"results{suffix}"),
        "--work-dir", str(root / f"apiary-work{suffix}"), "--run-id", tag,
    ]  # fmt: skip
    env = bytecode_env({"CI": "1", "UV_CACHE_DIR": str(root / f"uv-cache-apiary{suffix}")})
    if suffix and before:
        sources = sorted(str(p) for p in Path(before).glob("packages/*/src"))
        env["PYTHONPATH"] = os.pathsep.join(sources)
    return timed(argv, env, check=False)


def run_labeille(
    labeille: Path, root: Path, registry: Path, target: str, workers: int, tag: str
) -> Sample:
    work = root / "labeille-work"
    argv = [
        str(labeille), "run", "--registry-dir", str(registry), "--target-python", target,
        "--workers", str(workers), "--installer", "uv", "--results-dir",
        str(root / "labeille-results"), "--repos-dir", str(work / "repos"),
        "--venvs-dir", str(work / "venvs"), "--run-id", tag, "--timeout", "600",
        "--log-file", str(root / f"labeille-{tag}.log"), "-q",
    ]  # fmt: skip
    # labeille looks for uv on PATH: the same uv apiary uses.
    uv_dir = str(Path(shutil.which("uv") or Path(sys.executable).with_name("uv")).parent)
    env = bytecode_env({"UV_CACHE_DIR": str(root / "uv-cache-labeille")})
    env["PATH"] = f"{uv_dir}{os.pathsep}{env.get('PATH', '')}"
    return timed(argv, env, cwd=root, check=False)


def default_target() -> str:
    """python3.13 as its real path (a pyenv shim without a selected version fails to
    run), else this interpreter."""
    found = shutil.which("python3.13")
    if found is None:
        return sys.executable
    probe = [found, "-c", "import sys; print(sys.executable)"]
    done = subprocess.run(probe, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else sys.executable


def outcomes(root: Path, side: str, tag: str) -> str:
    """The verdicts one run gave, to show that both tools did the whole work."""
    if side.startswith("apiary"):
        results = "results-before" if side == "apiary-before" else "results"
        path = root / results / tag / "events.jsonl"
        if not path.is_file():
            raise SystemExit(f"{side}: the run wrote no {path} (try `apiary doctor`)")
        events = read_events(path).known()
        found = [e.outcome.value for e in events if isinstance(e, PackageFinished)]
    else:
        lines = (root / "labeille-results" / tag / "results.jsonl").read_text().splitlines()
        found = [json.loads(line)["status"] for line in lines if line.strip()]
    return " ".join(sorted(found))


def step_medians(root: Path, tags: list[str], results: str = "results") -> dict[str, float]:
    """Median seconds per step over apiary's packages in the runs `tags`, from the events."""
    found: dict[str, list[float]] = defaultdict(list)
    for tag in tags:
        for event in read_events(root / results / tag / "events.jsonl").known():
            if isinstance(event, PackageFinished):
                found["(package)"].append(event.duration_s)
                for step, seconds in event.durations.items():
                    found[str(step)].append(seconds)
    return {step: statistics.median(values) for step, values in sorted(found.items())}


def labeille_medians(root: Path, tags: list[str]) -> dict[str, float]:
    """Median seconds per package in labeille's results: in all, and of it the install."""
    found: dict[str, list[float]] = defaultdict(list)
    for tag in tags:
        for line in (root / "labeille-results" / tag / "results.jsonl").read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                found["(package)"].append(float(record.get("duration_seconds") or 0))
                found["install"].append(float(record.get("install_duration_seconds") or 0))
    return {key: statistics.median(values) for key, values in sorted(found.items())}


def one_round(
    labeille: Path | None, registry: Path, args: argparse.Namespace, series: Series, n: int
) -> None:
    """A cold then a warm run of each tool, labeille first on odd rounds."""
    root = registry.parent
    for path in ("apiary-work", "labeille-work", "uv-cache-apiary", "uv-cache-labeille"):
        for suffix in ("", "-before"):
            shutil.rmtree(root / f"{path}{suffix}", ignore_errors=True)
    sides = ["apiary", "labeille"] if labeille is not None else ["apiary"]
    if args.before:
        sides.insert(1, "apiary-before")
    if n % 2:
        sides.reverse()
    for phase in ("cold", "warm"):
        for side in sides:
            tag = f"{phase}-{n}"
            if side.startswith("apiary"):
                sample = run_apiary(
                    root, registry, args.target_python, args.workers, tag, side, args.before
                )
            else:
                assert labeille is not None
                sample = run_labeille(
                    labeille, root, registry, args.target_python, args.workers, tag
                )
            series.add(f"{side} {phase}", sample)
            verdicts = outcomes(root, side, tag)
            print(f"round {n} {side} {phase}: {sample.wall:.2f} s wall ({verdicts})", flush=True)


def print_times(series: Series, args: argparse.Namespace, with_labeille: bool) -> None:
    """Medians of the wall times, the ratios, and the machine's CPU during the runs."""
    for phase in ("cold", "warm"):
        busy = [
            f"{side} {cpu:.2f} s"
            for side in ("apiary", "apiary-before", "labeille")
            if f"{side} {phase}" in series.samples
            and (cpu := series.machine_cpu(f"{side} {phase}")) is not None
        ]
        if busy:
            print(f"{phase}, the machine's CPU during the run: {', '.join(busy)}")
    for phase in ("cold", "warm"):
        apiary_s = series.wall(f"apiary {phase}")
        line = f"{phase}: apiary {apiary_s:6.2f} s"
        if args.before:
            line += f", apiary before {series.wall(f'apiary-before {phase}'):6.2f} s"
        if with_labeille:
            labeille_s = series.wall(f"labeille {phase}")
            line += f", labeille {labeille_s:6.2f} s, ratio {apiary_s / labeille_s:.2f}x"
            if args.before:
                ratio = series.wall(f"apiary-before {phase}") / labeille_s
                line += f" (before: {ratio:.2f}x)"
        print(line)


def print_steps(root: Path, args: argparse.Namespace, with_labeille: bool) -> None:
    """Median seconds per package and step, from each run's records."""
    for phase in ("cold", "warm"):
        tags = [f"{phase}-{n}" for n in range(args.rounds)]
        for results in ("results", "results-before") if args.before else ("results",):
            medians = step_medians(root, tags, results).items()
            steps = ", ".join(f"{k} {v:.2f}" for k, v in medians)
            side = "apiary before" if results == "results-before" else "apiary"
            print(f"{side} {phase}, median seconds per package and step: {steps}")
        if with_labeille:
            medians = labeille_medians(root, tags).items()
            print(
                f"labeille {phase}, median seconds per package: "
                + ", ".join(f"{k} {v:.2f}" for k, v in medians)
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labeille", help="labeille's executable (else $APIARY_BENCH_LABEILLE)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--target-python", default=default_target())
    parser.add_argument(
        "--before",
        help="a checkout of apiary to measure as well (its packages' sources on PYTHONPATH)",
    )
    args = parser.parse_args()
    labeille = find_labeille(args.labeille)
    root = Path(tempfile.mkdtemp(prefix="apiary-vs-labeille-"))
    series = Series()
    try:
        registry = make_registry(root)
        print(f"target {args.target_python}; load average before: {load_average()}")
        for n in range(args.rounds):
            one_round(labeille, registry, args, series, n)
        print(f"load average after: {load_average()}; medians of {args.rounds} rounds")
        print_times(series, args, labeille is not None)
        print_steps(root, args, labeille is not None)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
