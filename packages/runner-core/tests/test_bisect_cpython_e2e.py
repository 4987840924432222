"""`apiary bisect --cpython` for real: commits of CPython 3.13.5 built one after another.

The repository (cpython_repo) is Debian's 3.13.5 source with four commits on top; the
third makes `abs(-1337)` read through a NULL pointer. A package whose test calls it is
installed into a venv of each step's build; the bisection must name that third commit.
The steps share one build folder in the user cache (keyed by the repository), so only a
fresh machine pays for the full build; each step after it rebuilds what its commit
changed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cpython_repo import cpython_repo
from normalized_events import BisectFinished, BisectStep, read_events
from runner_core.pythons.toolchain import installed_llvm
from runner_fixtures import Fixture, build_registry, run_apiary

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cpython-bisect")]

ABS_PKG = Fixture(
    "abs-pkg",
    {
        "abs_pkg/__init__.py": "def magnitude(x):\n    return abs(x)\n",
        "tests/test_abs.py": (
            "import abs_pkg\n\n"
            "def test_small():\n    assert abs_pkg.magnitude(-3) == 3\n\n"
            "def test_the_one_input():\n    assert abs_pkg.magnitude(-1337) == 1337\n"
        ),
    },
    import_name="abs_pkg",
)


def _args(
    registry: Path, tmp_path: Path, checkout: Path, good: str, bad: str, variant: str = "plain"
) -> list[str]:
    return [
        "bisect",
        "--cpython",
        str(checkout),
        "--package",
        "abs-pkg",
        "--variant",
        variant,
        "--good",
        good,
        "--bad",
        bad,
        "--tries",
        "1",
        "--registry-dir",
        str(registry),
        "--results-dir",
        str(tmp_path / "results"),
        "--work-dir",
        str(tmp_path / "work"),
    ]


def test_the_commit_that_made_a_builtin_crash_is_named(tmp_path: Path) -> None:
    repo = cpython_repo()
    registry = build_registry(tmp_path, ABS_PKG)
    args = _args(registry, tmp_path, repo.path, repo.base, repo.commits[-1])
    done = run_apiary(*args, cwd=tmp_path, timeout=7200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"first bad commit: {repo.culprit}  Python: abs() takes a shortcut" in done.stdout
    (folder,) = (tmp_path / "results").glob("bisect-abs-pkg-*-cpython-plain")
    events = read_events(folder / "events.jsonl").known()
    steps = [e for e in events if isinstance(e, BisectStep)]
    (finished,) = [e for e in events if isinstance(e, BisectFinished)]
    assert finished.first_bad == repo.culprit
    verdicts = {s.commit: s.verdict for s in steps}
    assert verdicts[repo.culprit] == "bad" and verdicts[repo.commits[1]] == "good"
    assert all(s.build_s is not None and s.build_s > 0 for s in steps)
    assert steps[0].endpoint and steps[0].verdict == "bad"
    assert all(s.bucket == steps[0].bucket for s in steps if s.verdict == "bad")
    assert not list(folder.glob("steps/*/python"))  # each step's install is removed


def test_bad_revisions_of_cpython_build_nothing(tmp_path: Path) -> None:
    repo = cpython_repo()
    registry = build_registry(tmp_path, ABS_PKG)
    for good, bad, expected in (
        (repo.base, "no-such-rev", "error: --bad no-such-rev: no such commit in"),
        (repo.commits[-1], repo.base, "is not an ancestor of --bad"),
    ):
        done = run_apiary(*_args(registry, tmp_path, repo.path, good, bad), cwd=tmp_path)
        assert done.returncode == 2
        (line,) = [line for line in done.stderr.splitlines() if line.strip()]
        assert expected in line
    done = run_apiary(
        *_args(registry, tmp_path, repo.path, repo.base, repo.commits[-1], "jit+nope"), cwd=tmp_path
    )
    assert done.returncode == 2 and "--variant 'nope': unknown" in done.stderr
    llvm = installed_llvm()
    if llvm is not None and llvm != 18:  # 3.13 pins LLVM 18; without --llvm: refused, unbuilt
        done = run_apiary(
            *_args(registry, tmp_path, repo.path, repo.base, repo.commits[-1], "jit"),
            cwd=tmp_path,
        )
        assert done.returncode == 2
        (line,) = [line for line in done.stderr.splitlines() if line.strip()]
        assert line.startswith("error: --variant jit: this source's JIT expects LLVM 18")
        assert f"pass --llvm {llvm}" in line
    assert not (tmp_path / "results").exists()
