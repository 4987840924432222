"""The crash's narrowed rerun (the test alone) against the full suite's run, in one run.

    .venv/bin/python benchmarks/narrowed_rerun.py [--modules 40] [--tests 25]

Builds one local package whose pytest suite has MODULES x TESTS tests doing a little
real work each, one of which crashes the interpreter (SIGSEGV through ctypes) halfway
through; runs `apiary run` on it and reads from the run's events how long the suite
took (test step), the test alone (isolate step) and, when the test alone did not
reproduce the crash, the whole suite again (rerun step); the triage's cost is set against
rerunning the suite and the test alone (the suite's own step standing for the rerun).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from normalized_events import StepFinished, read_events
from sidebyside import GIT_ENV

APIARY = str(Path(sys.executable).with_name("apiary"))
WORK = textwrap.dedent(
    """
    import hashlib, json

    def work(seed):
        data = json.dumps({"seed": seed, "items": list(range(2000))}).encode()
        for _ in range(40):
            data = hashlib.sha256(data).hexdigest().encode() * 50
        return data[:8]
    """
)


def make_package(root: Path, modules: int, tests: int) -> Path:
    repo = root / "repo"
    (repo / "bench_suite").mkdir(parents=True)
    (repo / "bench_suite" / "__init__.py").write_text(WORK)
    (repo / "tests").mkdir()
    crash_module = modules // 2
    for m in range(modules):
        body = ["import ctypes", "from bench_suite import work", ""]
        for t in range(tests):
            body += [f"def test_{t}():", f"    assert work({m * tests + t})", ""]
        if m == crash_module:
            body += ["def test_crashes():", "    ctypes.string_at(0)", ""]
        (repo / "tests" / f"test_m{m:03}.py").write_text("\n".join(body))
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "b"]):
        subprocess.run(argv, cwd=repo, check=True, env=GIT_ENV)
    registry = root / "registry"
    (registry / "packages").mkdir(parents=True)
    (registry / "packages" / "bench-suite.yaml").write_text(
        f"package: bench-suite\nrepo: {repo}\nextension_type: pure\n"
        "install_command: pip install pytest\ntest_command: python -m pytest tests -q\n"
        "test_framework: pytest\nuses_xdist: false\ntimeout: null\nskip: false\n"
        "enriched: true\nimport_name: bench_suite\n"
    )
    (registry / "index.yaml").write_text(
        "last_updated: '2026-01-01T00:00:00'\npackages:\n- name: bench-suite\n"
        "  download_count: 1\n  extension_type: pure\n  enriched: true\n  skip: false\n"
        "  skip_versions_keys: []\n"
    )
    return registry


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modules", type=int, default=40)
    parser.add_argument("--tests", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        registry = make_package(root, args.modules, args.tests)
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
                "bench",
            ],
            check=False,
            capture_output=True,
            env={**os.environ, "CI": "1"},
        )
        steps = {
            e.step.value: e.duration_s
            for e in read_events(root / "results" / "bench" / "events.jsonl").known()
            if isinstance(e, StepFinished)
        }
    suite, alone, rerun = steps["test"], steps["isolate"], steps.get("rerun")
    total = args.modules * args.tests + 1
    print(f"suite of {total} tests, crashing in module {args.modules // 2 + 1} of {args.modules}")
    print(f"test step (until the crash): {suite:7.2f} s")
    print(f"the test alone (isolate):    {alone:7.2f} s")
    if rerun is None:
        print("the suite again (rerun):     not run: the test alone reproduced the crash")
    else:
        print(f"the suite again (rerun):     {rerun:7.2f} s")
    triage = alone + (rerun or 0.0)
    # The suite's own step stands for what a rerun of it costs.
    print(
        f"triage after the crash:      {triage:7.2f} s, {triage / (suite + alone):.3f}x of a "
        f"rerun of the suite and the test alone ({suite + alone:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
