"""`--iterations` on a release build: where the runs stop, and `--all-iterations`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from normalized_events import PackageFinished, read_events
from runner_fixtures import Fixture, build_registry, run_apiary, run_args

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]

# Crashes in its second run only (a marker file in the source counts the runs).
SECOND_RUN_CRASHES = Fixture(
    "second-crash",
    {
        "second_crash/__init__.py": "",
        "tests/test_count.py": textwrap.dedent(
            """
            import ctypes, pathlib

            def test_count():
                runs = pathlib.Path(".runs")
                count = int(runs.read_text()) + 1 if runs.exists() else 1
                runs.write_text(str(count))
                if count == 2:
                    ctypes.string_at(0)
            """
        ),
    },
)


def _finished(run_dir: Path) -> PackageFinished:
    return next(
        e for e in read_events(run_dir / "events.jsonl").known() if isinstance(e, PackageFinished)
    )


@pytest.mark.parametrize(
    ("every", "outcomes"),
    [(False, ["pass", "crash"]), (True, ["pass", "crash", "pass", "pass"])],
)
def test_iterations_stop_at_the_first_crash_unless_all_are_asked(
    tmp_path: Path, every: bool, outcomes: list[str]
) -> None:
    registry = build_registry(tmp_path, SECOND_RUN_CRASHES)
    extra = ["--iterations", "4", "--crash-reruns", "0", *(["--all-iterations"] if every else [])]
    done = run_apiary(*run_args(registry, tmp_path, "it", *extra), cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    finished = _finished(tmp_path / "results" / "it")
    assert finished.outcome.value == "crash", finished.reason
    assert [o.value for o in finished.iteration_outcomes] == outcomes
    assert finished.iterations == len(outcomes)
    logs = tmp_path / "results" / "it" / "logs" / "second-crash"
    assert (logs / "test.log").is_file() and (logs / "test-2.log").is_file()
    assert (logs / "test-4.log").is_file() == every
