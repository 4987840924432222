"""A crash in an interpreter the tests started is a crash, with its evidence, not a failure.

The test that starts the interpreter captures its output (or starts it through a shell),
so the crash's dump never reaches the suite's output; the agent in that interpreter
writes it into the evidence folder, with the test that was running. A suite that crashes
a child on purpose and passes still passes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from normalized_events import PackageFinished, read_events
from runner_fixtures import Fixture, build_registry, run_apiary, run_args

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]

CRASHING_CHILD = "import ctypes\\nctypes.string_at(0)"
CAPTURED = Fixture(
    "child-captured",
    {
        "child_captured/__init__.py": "",
        "tests/test_cli.py": textwrap.dedent(
            f"""
            import subprocess, sys

            def test_before():
                pass

            def test_the_cli_runs():
                done = subprocess.run(
                    [sys.executable, "-c", "{CRASHING_CHILD}"], capture_output=True
                )
                assert done.returncode == 0

            def test_after():
                pass
            """
        ),
    },
)
THROUGH_A_SHELL = Fixture(
    "child-shell",
    {
        "child_shell/__init__.py": "",
        "tests/test_cli.py": textwrap.dedent(
            f"""
            import shlex, subprocess, sys

            def test_the_script_runs():
                inner = shlex.join([sys.executable, "-c", "{CRASHING_CHILD}"])
                done = subprocess.run(["sh", "-c", inner + " 2>/dev/null"])
                assert done.returncode == 0
            """
        ),
    },
)
ON_PURPOSE = Fixture(
    "child-on-purpose",
    {
        "child_on_purpose/__init__.py": "",
        "tests/test_cli.py": textwrap.dedent(
            f"""
            import signal, subprocess, sys

            def test_a_crash_is_reported():
                done = subprocess.run(
                    [sys.executable, "-c", "{CRASHING_CHILD}"], capture_output=True
                )
                assert done.returncode == -signal.SIGSEGV
            """
        ),
    },
)

# ... and another test fails: the crash explains nothing, the suite failed.
ON_PURPOSE_OTHER_FAILS = Fixture(
    "child-other-fails",
    {
        "child_other_fails/__init__.py": "",
        "tests/test_cli.py": ON_PURPOSE.files["tests/test_cli.py"]
        + "\n\ndef test_unrelated():\n    assert 1 + 1 == 3\n",
    },
)


def test_a_crashed_child_is_a_crash_of_the_test_that_started_it(tmp_path: Path) -> None:
    registry = build_registry(
        tmp_path, CAPTURED, THROUGH_A_SHELL, ON_PURPOSE, ON_PURPOSE_OTHER_FAILS
    )
    done = run_apiary(*run_args(registry, tmp_path, "child", "--workers", "2"), cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    run_dir = tmp_path / "results" / "child"
    finished = {
        e.package: e
        for e in read_events(run_dir / "events.jsonl").known()
        if isinstance(e, PackageFinished)
    }
    assert finished["child-on-purpose"].outcome.value == "pass"
    other = finished["child-other-fails"]
    assert (other.outcome.value, other.reason) == ("fail", "1 failed, 1 passed")
    for name, test_id in (
        ("child-captured", "tests/test_cli.py::test_the_cli_runs"),
        ("child-shell", "tests/test_cli.py::test_the_script_runs"),
    ):
        event = finished[name]
        assert event.outcome.value == "crash", (name, event.reason)
        assert "a child process crashed: Segmentation fault" in str(event.reason)
        crash = event.crash
        assert crash is not None
        assert crash.kind == "segfault"
        assert crash.frames[:2] == ["ctypes/__init__.py:string_at", "<string>:<module>"]
        assert crash.test_id == test_id
        assert crash.isolated == "reproduces", crash.isolated_reason
        assert crash.reproducible is True
        log = (run_dir / "logs" / name / "test.log").read_text()
        assert "a process the tests started" in log and "Fatal Python error" in log
