"""The order a run hands its packages to its workers: longest first, by an earlier run."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from normalized_events import EventWriter, Outcome, PackageFinished, PackageStarted, read_events
from runner_core.durations import durations_from_run, longest_first
from runner_fixtures import run_apiary, run_args

pytestmark = pytest.mark.xdist_group("run-e2e")

PACKAGES = ("passing-pkg", "failing-pkg", "segv-pkg", "abort-pkg")


def _earlier_run(results: Path, run_id: str, seconds: dict[str, float]) -> Path:
    writer = EventWriter(results / run_id / "events.jsonl", run_id)
    for package, duration in seconds.items():
        event = PackageFinished(
            run_id=run_id, package=package, outcome=Outcome.PASS, duration_s=duration
        )
        writer.emit(event)
    writer.close()
    return results / run_id


def test_longest_first_counts_an_unknown_package_as_the_median_and_keeps_ties_in_order() -> None:
    durations = {"b": 10.0, "c": 10.0, "d": 30.0, "e": 1.0}
    assert longest_first(["a", "b", "c", "d", "e"], durations) == ["d", "a", "b", "c", "e"]
    assert longest_first(["c", "b"], durations) == ["c", "b"]
    assert longest_first(["x", "y"], {}) == ["x", "y"]


def test_durations_of_a_hostile_run_keep_only_real_seconds(tmp_path: Path) -> None:
    run = _earlier_run(tmp_path, "old", {"a": 3.0, "b": 2.0})
    with (run / "events.jsonl").open("a") as log:
        log.write("not json at all\n")
        for package, seconds in (("a", "4.5"), ("c", "NaN"), ("d", "-7"), ("e", "Infinity")):
            log.write(
                '{"type":"package_finished","run_id":"old","ts":"2026-12-04T00:00:00Z",'
                f'"package":"{package}","outcome":"pass","duration_s":{seconds}}}\n'
            )
    assert durations_from_run(run) == {"a": 7.5, "b": 2.0}


def _planned(
    registry: Path, tmp_path: Path, *extra: str
) -> tuple[list[str], subprocess.CompletedProcess[str]]:
    done = run_apiary(*run_args(registry, tmp_path, "new", "--dry-run", *extra), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    planned = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("  run ")]
    return planned, done


def test_a_run_with_workers_hands_out_the_longest_first(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry(*PACKAGES)
    selected, _ = _planned(registry, tmp_path, "--workers", "2")
    assert sorted(selected) == sorted(PACKAGES)
    results = tmp_path / "results"
    seconds = {"failing-pkg": 5.0, "abort-pkg": 50.0, "passing-pkg": 1.0, "segv-pkg": 20.0}
    newest = _earlier_run(results, "old", seconds)
    longest = ["abort-pkg", "segv-pkg", "failing-pkg", "passing-pkg"]

    planned, done = _planned(registry, tmp_path, "--workers", "2")
    assert planned == longest
    assert f"order: longest first, by the durations recorded in {newest}" in done.stderr
    # One worker, or the order asked for: as selected.
    assert _planned(registry, tmp_path, "--workers", "1")[0] == selected
    assert _planned(registry, tmp_path, "--workers", "2", "--order", "selection")[0] == selected
    # --balance-from names the run; an unreadable newer run is passed over.
    other = results / "other"
    other.mkdir()
    (other / "events.jsonl").write_text("".join(f"{name[::-1]}\n" for name in longest))
    assert _planned(registry, tmp_path, "--workers", "2")[0] == longest
    balanced = _earlier_run(tmp_path, "balanced", {"passing-pkg": 90.0})
    by_balance = _planned(registry, tmp_path, "--workers", "2", "--balance-from", str(balanced))
    assert by_balance[0][0] == "passing-pkg"
    assert str(other) not in by_balance[1].stderr


def test_earlier_runs_a_stranger_could_plant_are_passed_over_unread(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry(*PACKAGES)
    results = tmp_path / "results"
    _earlier_run(results, "old", {"passing-pkg": 90.0})
    elsewhere = _earlier_run(tmp_path / "elsewhere", "far", {"abort-pkg": 500.0})
    (results / "fifo").mkdir()
    os.mkfifo(results / "fifo" / "events.jsonl")  # read, it would never end
    (results / "linked-log").mkdir()
    (results / "linked-log" / "events.jsonl").symlink_to(elsewhere / "events.jsonl")
    (results / "linked-dir").symlink_to(elsewhere)
    done = run_apiary(*run_args(registry, tmp_path, "new", "--dry-run", "--workers", "2"),
                      cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    planned = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("  run ")]
    assert planned[0] == "passing-pkg"
    assert f"durations recorded in {results / 'old'}" in done.stderr


def test_an_unknown_order_is_one_clear_line(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("passing-pkg")
    done = run_apiary(
        "run", "--registry-dir", str(registry), "--dry-run", "--order", "random", cwd=tmp_path
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: --order: 'random' is not one of longest-first, selection"
    )


@pytest.mark.slow
def test_the_workers_start_the_longest_packages_first(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("passing-pkg", "failing-pkg", "broken-import")
    results = tmp_path / "results"
    _earlier_run(results, "old", {"passing-pkg": 1.0, "failing-pkg": 2.0, "broken-import": 30.0})
    done = run_apiary(*run_args(registry, tmp_path, "new", "--workers", "2"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    events = read_events(results / "new" / "events.jsonl").known()
    started = [e.package for e in events if isinstance(e, PackageStarted)]
    assert set(started[:2]) == {"broken-import", "failing-pkg"}
    assert started[2] == "passing-pkg"
