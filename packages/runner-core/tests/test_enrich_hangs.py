"""Tests that hang, found by a run with a per-test limit and deselected: the rewrites
over real pytest output, then verify end to end on a suite with a test that never ends."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from normalized_events import Outcome
from registry_core import PackageEntry, load_registry
from runner_core.enrich.hangs import deselect, probe
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
    # nothing to deselect without a probe, or when nothing overstayed
    assert deselect(_entry(), output) is None
    assert deselect(_entry(fix.test_command), "1 passed") is None


def test_only_a_pytest_suite_that_stopped_is_probed() -> None:
    assert probe(_entry(), Outcome.HANG, 30) is not None
    assert probe(_entry(), Outcome.CRASH, 30) is None
    assert probe(_entry(), Outcome.FAIL, 30) is None
    assert probe(_entry("python -m unittest"), Outcome.TIMEOUT, 30) is None
    assert probe(_entry(f"{TEST} --timeout=30"), Outcome.TIMEOUT, 30) is None  # once


@pytest.mark.slow
@pytest.mark.xdist_group("enrich")
def test_verify_deselects_a_test_that_hangs(tmp_path: Path) -> None:
    source = tmp_path / "src" / "hangs"
    pytest_output(source, {"hangs/__init__.py": "", **HANGING}, "--collect-only", "-q")
    registry = tmp_path / "registry"
    (registry / "packages").mkdir(parents=True)
    (registry / "packages" / "hangs.yaml").write_text(
        f"package: hangs\nrepo: {source}\nextension_type: pure\n"
        "install_command: pip install pytest\n"
        f"test_command: {json.dumps(TEST)}\ntimeout: 20\nnotes: ''\nenriched: false\n"
    )
    (registry / "index.yaml").write_text("last_updated: '2026-01-01T00:00:00'\npackages: []\n")
    options = VerifyOptions(
        registry_dir=registry,
        results_dir=tmp_path / "results",
        work_dir=tmp_path / "work",
        pythons=(sys.executable,),
        idle_timeout_s=300,
        run_prefix="h",
        write=True,
        per_test_s=2,
    )
    (item,) = verify(["hangs"], options)
    outcomes = [next(iter(a.results.values())).outcome.value for a in item.attempts]
    # stopped at the time limit; with the per-test limit: a verdict naming the two; clean
    assert outcomes == ["timeout", "fail", "pass"], item.summary()
    assert item.tried[1].startswith("2 tests hung with the network off")
    entry = load_registry(registry, use_cache=False).entries["hangs"]
    assert entry.enriched is True
    assert entry.test_command == (
        f"{TEST} --deselect tests/test_a.py::test_waits_for_a_broker"
        " --deselect 'tests/test_a.py::test_param[c]'"
    )
    assert "deselected: tests/test_a.py::test_waits_for_a_broker" in entry.notes
