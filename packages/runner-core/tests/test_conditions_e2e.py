"""A/B conditions in one run: regressions, retries that expose flakiness, the retry list."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from normalized_events import PackageFinished, RunStarted, read_events
from reporter import Category, compare_conditions, load_run
from runner_fixtures import package_outcomes, pyenv_python, run_apiary, run_args

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]


def test_two_conditions_show_exactly_the_expected_regressions(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("passing-pkg", "flagged", "segv-pkg", "flaky-pkg")
    results = tmp_path / "results"
    done = run_apiary(
        *run_args(registry, tmp_path, "ab"),
        "--workers",
        "2",
        "--condition",
        "base:env.APIARY_FIXTURE_CRASH=0",
        "--condition",
        "flag:env.APIARY_FIXTURE_CRASH=1",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    run_dir = results / "ab"
    assert package_outcomes(run_dir) == {
        "passing-pkg:base": "pass",
        "passing-pkg:flag": "pass",
        "flagged:base": "pass",
        "flagged:flag": "crash",
        "segv-pkg:base": "crash",
        "segv-pkg:flag": "crash",
        "flaky-pkg:base": "pass",
        "flaky-pkg:flag": "crash",
    }
    finished = {
        (e.package, e.condition): e
        for e in read_events(run_dir / "events.jsonl").known()
        if isinstance(e, PackageFinished)
    }
    # Differing outcomes were retried under both conditions (default: 2 retries).
    assert [o.value for o in finished["flagged", "flag"].attempt_outcomes] == ["crash"] * 3
    assert [o.value for o in finished["flaky-pkg", "flag"].attempt_outcomes] == [
        "crash",
        "pass",
        "pass",
    ]
    assert finished["passing-pkg", "flag"].attempts == 1
    categories = {
        pair.package: pair.category
        for pair in compare_conditions(load_run(run_dir), "base", "flag").pairs
    }
    assert categories == {
        "passing-pkg": Category.SAME,
        "flagged": Category.REGRESSED,
        "segv-pkg": Category.STILL_BROKEN,
        "flaky-pkg": Category.SPURIOUS,
    }
    retry = run_dir / "retry-list.txt"
    assert retry.read_text() == "flagged\n"
    # The retry list feeds a new run as it is.
    again = run_apiary(
        *run_args(registry, tmp_path, "retry"),
        "--packages-from",
        str(retry),
        "--dry-run",
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    assert "run   flagged" in again.stdout and "passing-pkg" not in again.stdout


def test_conditions_on_two_interpreters_report_each_its_own(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    older = pyenv_python("3.12")
    if older is None:
        pytest.skip("pyenv 3.12 is needed")
    registry = fixture_registry("passing-pkg")
    done = run_apiary(
        *run_args(registry, tmp_path, "two"),
        "--condition",
        f"old:python={older}",
        "--condition",
        "new",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "results" / "two"
    (start,) = [e for e in read_events(run_dir / "events.jsonl").known() if e.type == "run_started"]
    assert isinstance(start, RunStarted)
    assert set(start.condition_interpreters) == {"old"}
    assert start.condition_interpreters["old"].version.startswith("3.12.")
    assert start.condition_interpreters["old"].version != start.interpreter.version
    shown = run_apiary(
        "report",
        "compare",
        str(run_dir),
        "--condition-a",
        "old",
        "--condition-b",
        "new",
        cwd=tmp_path,
    )
    assert shown.returncode == 0, shown.stderr
    a_line = next(line for line in shown.stdout.splitlines() if line.startswith("A interpreter"))
    b_line = next(line for line in shown.stdout.splitlines() if line.startswith("B interpreter"))
    assert "3.12." in a_line and "3.12." not in b_line
    assert "the interpreter differs between A and B" in shown.stdout
    summary = run_apiary("report", "summary", str(run_dir), cwd=tmp_path)
    assert "interpreter [old]" in summary.stdout and str(older) in summary.stdout
