"""A test pytest-timeout stops while it runs is a hang; one it stops while it waits fails.

pytest-timeout (its signal method) fails the test at its limit and the suite goes on, so
a loop that never ends was one more failure. The agent records where the test was and
how much CPU its thread had; a busy one makes the suite a `hang` of that test.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from normalized_events import PackageFinished, read_events
from runner_fixtures import Fixture, build_registry, run_apiary, run_args

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]

INSTALL = "pip install pytest pytest-timeout"
LIMIT = "[tool.pytest.ini_options]\ntimeout = 2\n"
LOOPS = Fixture(
    "timeout-loop",
    {
        "timeout_loop/__init__.py": "",
        "pyproject.toml": LIMIT,
        "tests/test_it.py": textwrap.dedent(
            """
            def spin():
                while True:
                    pass

            def test_fine():
                pass

            def test_spins():
                spin()
            """
        ),
    },
    install=INSTALL,
)
WAITS = Fixture(
    "timeout-wait",
    {
        "timeout_wait/__init__.py": "",
        "pyproject.toml": LIMIT,
        "tests/test_it.py": "import time\n\ndef test_waits():\n    time.sleep(30)\n",
    },
    install=INSTALL,
)


def test_a_test_stopped_while_running_is_a_hang(tmp_path: Path) -> None:
    registry = build_registry(tmp_path, LOOPS, WAITS)
    done = run_apiary(*run_args(registry, tmp_path, "limits", "--workers", "2"), cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    finished = {
        e.package: e
        for e in read_events(tmp_path / "results" / "limits" / "events.jsonl").known()
        if isinstance(e, PackageFinished)
    }
    waits = finished["timeout-wait"]
    assert (waits.outcome.value, waits.reason, waits.crash) == ("fail", "1 failed", None)
    loops = finished["timeout-loop"]
    assert loops.outcome.value == "hang", loops.reason
    assert "pytest-timeout stopped tests/test_it.py::test_spins" in str(loops.reason)
    hang = loops.crash
    assert hang is not None and hang.kind == "busy_hang"
    assert hang.frames[:1] == ["test_it.py:spin"]
    assert hang.test_id == "tests/test_it.py::test_spins"
    # a release build: hangs are rerun to ask the JIT, which it has not (the JIT build's
    # case is test_jit_build_e2e)
    assert (hang.jit_only, hang.jit_only_reason) == (None, "the interpreter has no JIT")
