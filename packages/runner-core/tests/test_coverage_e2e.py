"""Suites that measure coverage run with it off unless the run says --keep-coverage.

pytest-cov started from the project's addopts puts a trace function on the interpreter
(which keeps the JIT from compiling: see test_jit_build_e2e), can fail a suite whose tests
all passed (a coverage threshold), and stops pytest before any test when coverage cannot
load a plugin (Cython's, on a free-threaded build). Each package here passes with
coverage off and does not with it kept; a command that blocks pytest-cov still runs.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from normalized_events import PackageFinished, read_events
from runner_fixtures import Fixture, build_registry, run_apiary, run_args

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]

INSTALL = "pip install pytest pytest-cov"
NO_TRACER = textwrap.dedent(
    """
    import sys

    def test_nothing_traces_the_tests():
        assert sys.gettrace() is None, sys.gettrace()
    """
)
THRESHOLD = Fixture(
    "cov-threshold",
    {
        "cov_threshold/__init__.py": "def used():\n    return 1\n\ndef unused():\n    return 2\n",
        "pyproject.toml": textwrap.dedent(
            """
            [tool.pytest.ini_options]
            addopts = "--cov=cov_threshold --cov-fail-under=100"
            filterwarnings = ["error"]
            """
        ),
        "tests/test_it.py": "from cov_threshold import used\n\n"
        "def test_used():\n    assert used() == 1\n",
    },
    install=INSTALL,
)
TRACED = Fixture(
    "cov-traced",
    {
        "cov_traced/__init__.py": "",
        "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "--cov=cov_traced"\n',
        "tests/test_it.py": NO_TRACER,
    },
    install=INSTALL,
)
# What Cython.Coverage does when coverage has no C tracer (a free-threaded build).
PLUGIN = Fixture(
    "cov-plugin",
    {
        "cov_plugin/__init__.py": "",
        "cov_plugin_loader.py": 'raise ImportError("coverage does not support plugins")\n',
        ".coveragerc": "[run]\nplugins = cov_plugin_loader\n",
        "tests/test_it.py": NO_TRACER,
    },
    install=INSTALL,
    test="python -m pytest -q -p no:cacheprovider -p pytest_cov --cov=cov_plugin tests",
)
BLOCKED = Fixture(
    "cov-blocked",
    {"cov_blocked/__init__.py": "", "tests/test_it.py": NO_TRACER},
    install=INSTALL,
    test="python -m pytest -q -p no:cacheprovider -p no:pytest_cov tests",
)


def _outcomes(run_dir: Path) -> dict[str, PackageFinished]:
    return {
        e.package: e
        for e in read_events(run_dir / "events.jsonl").known()
        if isinstance(e, PackageFinished)
    }


def test_coverage_is_off_unless_kept(tmp_path: Path) -> None:
    registry = build_registry(tmp_path, THRESHOLD, TRACED, PLUGIN, BLOCKED)
    for run_id, extra in (("off", ()), ("kept", ("--keep-coverage",))):
        done = run_apiary(
            *run_args(registry, tmp_path, run_id, "--workers", "2", *extra), cwd=tmp_path
        )
        assert done.returncode in (0, 1), done.stderr[-3000:]
    off, kept = (_outcomes(tmp_path / "results" / r) for r in ("off", "kept"))
    assert {name: e.outcome.value for name, e in off.items()} == dict.fromkeys(
        ("cov-threshold", "cov-traced", "cov-plugin", "cov-blocked"), "pass"
    ), {name: e.reason for name, e in off.items()}
    assert kept["cov-threshold"].outcome.value == "config_error"
    assert "Required test coverage of 100% not reached" in str(kept["cov-threshold"].reason)
    assert kept["cov-traced"].outcome.value == "fail"
    assert kept["cov-traced"].reason == "1 failed"
    assert kept["cov-plugin"].outcome.value == "config_error", kept["cov-plugin"].reason
    assert kept["cov-blocked"].outcome.value == "pass"
    settings = [
        json.loads((tmp_path / "results" / r / "run.json").read_text()) for r in ("off", "kept")
    ]
    assert [s["settings"]["keep_coverage"] for s in settings] == [False, True]
