"""The work directory's budget: what belongs to a package, how much it holds, and which
packages lose their folders when the budget is exceeded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from normalized_events import PackageFinished, read_events
from runner_core.workdir import (
    WorkBudget,
    WorkLayout,
    disk_bytes,
    enforce_budget,
    footprints,
    package_in_use,
    record_footprint,
)
from runner_fixtures import run_apiary, run_args

MIB = 1024**2


def _fill(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))


def _package(layout: WorkLayout, name: str, size: int, used: float) -> None:
    """A package as a run leaves it: a venv, an installer cache, a home, a source."""
    _fill(layout.package_venvs(name) / f"{name}-0123abcd-0123456789ab" / "lib" / "big.so", size)
    _fill(layout.package_cache(name) / "uv" / "wheel.whl", size)
    _fill(layout.home(name) / ".cache" / "x", 1)
    _fill(layout.sources / "sdist" / name / "1.0" / "setup.py", 1)
    record_footprint(layout, name, now=used)


def test_a_package_s_folders_are_its_own_not_a_prefix_s(tmp_path: Path) -> None:
    layout = WorkLayout(tmp_path)
    for name in ("foo", "foo-bar"):
        _package(layout, name, 1, 1.0)
        (layout.sources / "git" / f"{name}-0123456789").mkdir(parents=True)
    # where older versions kept venvs: still the package's
    (layout.venvs / "foo-0123abcd-0123456789ab").mkdir(parents=True)
    (layout.venvs / "foo-bar-0123abcd-0123456789ab").mkdir()
    (layout.venvs / "foo-bar-0123abcd-0123456789ab-not-a-venv").mkdir()
    names = {p.relative_to(tmp_path).as_posix() for p in layout.package_paths("foo")}
    assert names == {
        "venvs/foo-0123abcd-0123456789ab",
        "sources/git/foo-0123456789",
        "sources/sdist/foo",
        "cache/packages/foo",
        "home/foo",
    }


def test_hard_links_count_once_and_symlinks_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.bin"
    _fill(outside, 4 * MIB)
    folder = tmp_path / "pkg"
    _fill(folder / "a.bin", MIB)
    os.link(folder / "a.bin", folder / "b.bin")
    (folder / "elsewhere").symlink_to(outside)
    (folder / "up").symlink_to(tmp_path, target_is_directory=True)
    assert MIB <= disk_bytes([folder]) < 2 * MIB


def test_the_least_recently_used_go_first_until_within_budget(tmp_path: Path) -> None:
    layout = WorkLayout(tmp_path)
    for used, name in enumerate(["old", "middle", "new"]):
        _package(layout, name, MIB, float(used))
    per_package = footprints(layout)[0].bytes
    budget = WorkBudget(max_bytes=per_package * 2, keep_free_bytes=0)
    evicted = enforce_budget(layout, budget)
    assert [e.package for e in evicted] == ["old"]
    assert "over its" in evicted[0].why
    assert layout.package_paths("old") == []
    assert not layout.footprint_file("old").exists()
    assert layout.package_paths("new") and layout.package_paths("middle")
    assert enforce_budget(layout, budget) == []


def test_a_package_in_use_is_never_evicted(tmp_path: Path) -> None:
    layout = WorkLayout(tmp_path)
    _package(layout, "running", MIB, 0.0)
    _package(layout, "idle", MIB, 1.0)
    with package_in_use(layout, "running"):
        evicted = enforce_budget(layout, WorkBudget(max_bytes=0, keep_free_bytes=0))
    assert [e.package for e in evicted] == ["idle"]
    assert layout.package_paths("running")


_HOLD = """
import sys
from pathlib import Path
from runner_core.workdir import WorkLayout, package_in_use
with package_in_use(WorkLayout(Path(sys.argv[1])), "shared"):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_package_another_process_runs_is_never_evicted(tmp_path: Path) -> None:
    layout = WorkLayout(tmp_path)
    _package(layout, "shared", MIB, 0.0)
    argv = [sys.executable, "-c", _HOLD, str(tmp_path)]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline() == "held\n"
        assert enforce_budget(layout, WorkBudget(max_bytes=0, keep_free_bytes=0)) == []
        holder.stdin.close()
    assert [e.package for e in enforce_budget(layout, WorkBudget(0, 0))] == ["shared"]


def test_too_little_free_disk_evicts_even_under_the_cap(tmp_path: Path) -> None:
    layout = WorkLayout(tmp_path)
    _package(layout, "a", MIB, 0.0)
    _package(layout, "b", MIB, 1.0)
    free = shutil.disk_usage(tmp_path).free
    evicted = enforce_budget(layout, WorkBudget(max_bytes=None, keep_free_bytes=free * 2))
    assert [e.package for e in evicted] == ["a", "b"]
    assert "free, under the" in evicted[0].why


def test_no_cap_and_no_floor_evicts_nothing(tmp_path: Path) -> None:
    layout = WorkLayout(tmp_path)
    _package(layout, "a", MIB, 0.0)
    assert enforce_budget(layout, WorkBudget(max_bytes=None, keep_free_bytes=0)) == []


def test_a_package_without_a_record_is_measured_and_dated_by_its_home(tmp_path: Path) -> None:
    layout = WorkLayout(tmp_path)
    _package(layout, "before", MIB, 5.0)
    layout.footprint_file("before").write_text("{not json")
    os.utime(layout.home("before"), (3.0, 3.0))
    (found,) = footprints(layout)
    assert found.last_used == 3.0
    assert found.bytes >= 2 * MIB


def test_eviction_never_reaches_through_a_planted_symlink(tmp_path: Path) -> None:
    """A package's tests write its home; what they plant there must not take others down."""
    layout = WorkLayout(tmp_path / "work")
    victim = tmp_path / "victim"
    _fill(victim / "keep.txt", 10)
    _package(layout, "evil", MIB, 0.0)
    (layout.home("evil") / "link").symlink_to(victim, target_is_directory=True)
    shutil.rmtree(layout.package_cache("evil"))
    layout.package_cache("evil").parent.mkdir(parents=True, exist_ok=True)
    layout.package_cache("evil").symlink_to(victim, target_is_directory=True)
    evicted = enforce_budget(layout, WorkBudget(max_bytes=0, keep_free_bytes=0))
    assert [e.package for e in evicted] == ["evil"]
    assert (victim / "keep.txt").read_bytes()
    assert layout.package_paths("evil") == []


@pytest.mark.slow
def test_a_run_over_budget_keeps_the_last_package_and_reruns_the_others(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("passing-pkg", "failing-pkg")
    budget = ("--work-budget", "1", "--keep-free", "off", "--workers", "1")
    first = run_apiary(*run_args(registry, tmp_path, "r1", *budget), cwd=tmp_path)
    assert first.returncode in (0, 1), first.stderr
    layout = WorkLayout(tmp_path / "work")
    kept = [p for p in ("passing-pkg", "failing-pkg") if layout.package_paths(p)]
    assert len(kept) == 1
    log = (tmp_path / "work" / "evictions.log").read_text()
    assert "MiB removed (the work directory holds" in log
    again = run_apiary(*run_args(registry, tmp_path, "r2", *budget), cwd=tmp_path)
    assert again.returncode == first.returncode, again.stderr
    outcomes = {
        run: sorted(
            (e.package, e.outcome.value)
            for e in read_events(tmp_path / "results" / run / "events.jsonl").known()
            if isinstance(e, PackageFinished)
        )
        for run in ("r1", "r2")
    }
    assert outcomes["r1"] == outcomes["r2"] == [("failing-pkg", "fail"), ("passing-pkg", "pass")]


def test_the_work_commands_list_and_prune_as_a_user_runs_them(tmp_path: Path) -> None:
    layout = WorkLayout(tmp_path / "work")
    for used, name in enumerate(["old", "middle", "new"]):
        _package(layout, name, MIB, float(used))
    where = ("--work-dir", str(layout.root))
    listed = run_apiary("work", "list", *where, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines()[:3]]
    assert names == ["new", "middle", "old"]
    assert "3 package(s)" in listed.stdout
    named = run_apiary("work", "prune", "middle", "absent", *where, cwd=tmp_path)
    assert named.returncode == 2
    assert named.stderr.strip() == f"error: absent: nothing of it in {layout.root}"
    assert "removed middle:" in named.stdout and not layout.package_paths("middle")
    pruned = run_apiary(
        "work", "prune", "--work-budget", "1", "--keep-free", "off", *where, cwd=tmp_path
    )
    assert pruned.returncode == 0, pruned.stderr
    assert "removed old:" in pruned.stdout and "removed new:" in pruned.stdout
    assert layout.packages_on_disk() == set()
    bad = run_apiary("work", "prune", "--work-budget", "lots", *where, cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: --work-budget: cannot read 'lots'")
