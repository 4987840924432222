"""Tests that hang, found by a run with a per-test limit and deselected: the rewrites
over real pytest output, then verify end to end on a suite with a test that never ends."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from normalized_events import Outcome
from registry_core import PackageEntry, load_registry
from runner_core.enrich.hangs import deselect, longer_limit, probe
from runner_core.enrich.verify import VerifyOptions, verify
from test_enrich_fixes import pytest_output

HANGING = {
    "tests/test_a.py": """
        import time
        import pytest

        def test_ok():
            pass

        def test_waits_for_a_broker():
            time.sleep(3600)

        @pytest.mark.parametrize("x", ["a b", "c"])
        def test_param(x):
            if x == "c":
                time.sleep(3600)
    """,
}
TEST = "python -m pytest -p no:cacheprovider tests"


def _entry(test: str = TEST) -> PackageEntry:
    return PackageEntry(package="demo", install_command="pip install pytest", test_command=test)


def test_a_suite_that_stopped_is_probed_and_what_overstayed_is_deselected(
    tmp_path: Path,
) -> None:
    fix = probe(_entry(), Outcome.TIMEOUT, 1)
    assert fix is not None
    assert fix.install_command == "pip install pytest pytest-timeout"
    assert fix.test_command == f"{TEST} --timeout=1 -vv"
    assert fix.description == (
        "the suite stopped at the time limit -> a run with a per-test time limit of 1 s"
        " (pytest-timeout) to find the tests that hang"
    )
    # a real run with the probe's options: pytest-timeout fails the two that sleep
    code, output = pytest_output(tmp_path, HANGING, "tests", "--timeout=1", "-vv")
    assert code == 1
    found = deselect(_entry(fix.test_command), output)
    assert found is not None
    assert found.test_command == (
        f"{TEST} --deselect tests/test_a.py::test_waits_for_a_broker"
        " --deselect 'tests/test_a.py::test_param[c]'"
    )
    assert found.description == (
        "2 tests hung with the network off (each stopped by a 1 s per-test limit) -> deselected:"
        " tests/test_a.py::test_waits_for_a_broker, tests/test_a.py::test_param[c]"
    )
    # nothing to deselect without a probe
    assert deselect(_entry(), output) is None


def test_the_test_a_stopped_run_names_is_deselected_and_reruns_turned_off() -> None:
    install = "pip install pytest pytest-rerunfailures"
    stopped = PackageEntry(package="demo", install_command=install, test_command=TEST)
    fix = probe(stopped, Outcome.TIMEOUT, 30, "tests/test_a.py::test_b[x y]")
    assert fix is not None
    assert fix.install_command == f"{install} pytest-timeout"
    assert fix.test_command == (
        f"{TEST} --deselect tests/test_a.py::test_b --timeout=30 -vv --reruns=0"
    )
    assert fix.description == (
        "the suite stopped at the time limit in tests/test_a.py::test_b[x y]"
        " (deselected: tests/test_a.py::test_b)"
        " -> a run with a per-test time limit of 30 s (pytest-timeout, no reruns)"
        " to find the tests that hang"
    )
    probing = stopped.model_copy(update={"test_command": fix.test_command})
    # pytest named one: the probe's options go, both deselections stay
    named = deselect(probing, "FAILED tests/test_c.py::test_d - Failed: Timeout (>30.0s) from")
    assert named is not None
    assert named.test_command == (
        f"{TEST} --deselect tests/test_a.py::test_b --deselect tests/test_c.py::test_d"
    )


def test_a_probe_run_that_stopped_too_deselects_the_test_its_hang_names() -> None:
    probing = _entry(f"{TEST} --deselect tests/a.py::t1 --timeout=30 -vv")
    fix = deselect(probing, "no summary: stopped at the time limit", "tests/a.py::t2[3]")
    assert fix is not None
    assert fix.test_command == (
        f"{TEST} --deselect tests/a.py::t1 --deselect tests/a.py::t2 --timeout=30 -vv"
    )
    assert fix.description == (
        "the run with a 30 s per-test limit stopped too, in tests/a.py::t2[3] (out of the"
        " limit's reach) -> deselected: tests/a.py::t2, again to find the tests that hang"
    )
    # the one named deselected already: nothing to do
    assert deselect(probing, "", "tests/a.py::t1") is None
    # nothing stopped: the limit goes
    done = deselect(probing, "1 passed")
    assert done is not None
    assert done.test_command == f"{TEST} --deselect tests/a.py::t1"
    assert done.description == "the run with a 30 s per-test limit stopped in no test -> without it"


def test_only_a_pytest_suite_that_stopped_is_probed() -> None:
    assert probe(_entry(), Outcome.HANG, 30) is not None
    assert probe(_entry(), Outcome.CRASH, 30) is None
    assert probe(_entry(), Outcome.FAIL, 30) is None
    assert probe(_entry("python -m unittest"), Outcome.TIMEOUT, 30) is None
    assert probe(_entry(f"{TEST} --timeout=30"), Outcome.TIMEOUT, 30) is None  # once


@pytest.mark.slow
@pytest.mark.xdist_group("enrich")
def test_verify_deselects_a_test_that_hangs(tmp_path: Path) -> None:
    registry = _one_package_registry(tmp_path, "hangs", HANGING, timeout=20)
    (item,) = verify(["hangs"], _options(tmp_path, registry, max_attempts=3))
    outcomes = [next(iter(a.results.values())).outcome.value for a in item.attempts]
    # stopped at the time limit in the first (deselected at once); with the per-test
    # limit: a verdict naming the other; clean
    assert outcomes == ["timeout", "fail", "pass"], item.summary()
    waits = "tests/test_a.py::test_waits_for_a_broker"
    assert item.tried[0].startswith(
        f"the suite stopped at the time limit in {waits} (deselected: {waits})"
    )
    assert item.tried[1].startswith("1 test hung with the network off")
    entry = load_registry(registry, use_cache=False).entries["hangs"]
    assert entry.enriched is True
    assert entry.test_command == (
        f"{TEST} --deselect tests/test_a.py::test_waits_for_a_broker"
        " --deselect 'tests/test_a.py::test_param[c]'"
    )
    assert f"in {waits} (deselected: {waits})" in entry.notes
    assert "deselected: tests/test_a.py::test_param[c]" in entry.notes


# A hang out of pytest-timeout's reach: its signal is blocked while the test waits.
UNREACHABLE = {
    "tests/test_a.py": """
        import signal
        import time

        def test_ok():
            pass

        def _stuck():
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(3600)

        def test_holds_a_lock_forever():
            _stuck()

        def test_waits_on_a_dead_child():
            _stuck()
    """,
}


@pytest.mark.slow
@pytest.mark.xdist_group("enrich")
def test_verify_deselects_hangs_the_per_test_limit_cannot_stop(tmp_path: Path) -> None:
    registry = _one_package_registry(tmp_path, "stuck", UNREACHABLE, timeout=15)
    (item,) = verify(["stuck"], _options(tmp_path, registry, max_attempts=5))
    outcomes = [next(iter(a.results.values())).outcome.value for a in item.attempts]
    # each stopped run names the test it stopped in; the probe goes on without it
    assert outcomes == ["timeout", "timeout", "pass", "pass"], item.summary()
    stuck = {
        "tests/test_a.py::test_holds_a_lock_forever",
        "tests/test_a.py::test_waits_on_a_dead_child",
    }
    (first,) = [test for test in stuck if test in item.tried[0]]
    (second,) = stuck - {first}
    assert item.tried[0].startswith(f"the suite stopped at the time limit in {first}")
    assert item.tried[1].startswith(f"the run with a 2 s per-test limit stopped too, in {second}")
    entry = load_registry(registry, use_cache=False).entries["stuck"]
    assert entry.enriched is True
    assert entry.test_command is not None
    assert "--timeout" not in entry.test_command
    assert f"--deselect {first}" in entry.test_command
    assert f"--deselect {second}" in entry.test_command


# A suite that computes for longer than its first time limit: slow, not hung.
BUSY = {
    "tests/test_a.py": """
        import time

        def test_computes():
            end = time.monotonic() + 8
            while time.monotonic() < end:
                pass
    """,
}


def test_a_suite_still_computing_gets_four_times_its_limit_up_to_the_runs() -> None:
    entry = _entry().model_copy(update={"timeout": 300})
    fix = longer_limit(entry, 1800)
    assert fix is not None and fix.timeout == 1200
    assert fix.description == "the suite was still running at its time limit of 300 s -> 1200 s"
    assert fix.apply(entry).timeout == 1200
    assert fix.apply(entry).test_command == entry.test_command
    capped = longer_limit(entry.model_copy(update={"timeout": 1200}), 1800)
    assert capped is not None and capped.timeout == 1800
    assert longer_limit(entry.model_copy(update={"timeout": 1800}), 1800) is None


@pytest.mark.slow
@pytest.mark.xdist_group("enrich")
def test_verify_gives_a_suite_still_computing_a_longer_limit(tmp_path: Path) -> None:
    registry = _one_package_registry(tmp_path, "slow", BUSY, timeout=4)
    (item,) = verify(["slow"], _options(tmp_path, registry, max_attempts=3))
    outcomes = [next(iter(a.results.values())).outcome.value for a in item.attempts]
    # a thread still running at the limit: no test is taken for hung, the limit grows
    assert outcomes == ["timeout", "pass"], item.summary()
    assert item.tried == ["the suite was still running at its time limit of 4 s -> 16 s"]
    entry = load_registry(registry, use_cache=False).entries["slow"]
    assert entry.enriched is True
    assert entry.test_command == TEST
    assert entry.timeout == 300  # five times what the suite took, at least the floor


def _one_package_registry(tmp_path: Path, name: str, tests: dict[str, str], timeout: int) -> Path:
    """A registry of one package, `name`, whose tree holds `tests`, run by TEST."""
    source = tmp_path / "src" / name
    pytest_output(source, {f"{name}/__init__.py": "", **tests}, "--collect-only", "-q")
    registry = tmp_path / "registry"
    (registry / "packages").mkdir(parents=True)
    (registry / "packages" / f"{name}.yaml").write_text(
        f"package: {name}\nrepo: {source}\nextension_type: pure\n"
        "install_command: pip install pytest\n"
        f"test_command: {json.dumps(TEST)}\ntimeout: {timeout}\nnotes: ''\nenriched: false\n"
    )
    (registry / "index.yaml").write_text("last_updated: '2026-01-01T00:00:00'\npackages: []\n")
    return registry


def _options(tmp_path: Path, registry: Path, max_attempts: int) -> VerifyOptions:
    return VerifyOptions(
        registry_dir=registry,
        results_dir=tmp_path / "results",
        work_dir=tmp_path / "work",
        pythons=(sys.executable,),
        max_attempts=max_attempts,
        idle_timeout_s=300,
        run_prefix="v",
        write=True,
        per_test_s=2,
    )
