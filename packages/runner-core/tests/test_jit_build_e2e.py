"""On a real JIT build of CPython 3.13.5: doctor sees the JIT, and crashes are attributed.

The build comes from `cpython_builds` (Debian's pristine tarball, built once into the
user cache). The fixture suites crash only when the JIT's optimizer is really active in
the process (`_testinternalcapi.get_optimizer()`), not when a variable says so: the
attribution rerun must really run the interpreter with the JIT off.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from cpython_builds import built
from normalized_events import PackageFinished, read_events
from runner_fixtures import Fixture, build_registry, run_apiary, run_args, run_reproducer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("jit-build")]

JIT_ONLY = {
    "jit_only_pkg/__init__.py": "",
    "tests/test_hot.py": textwrap.dedent(
        """
        import ctypes, _testinternalcapi

        def test_warm_up():
            assert sum(i * i for i in range(10000)) > 0

        def test_crashes_under_the_jit():
            if _testinternalcapi.get_optimizer() is not None:
                ctypes.string_at(0)
        """
    ),
}
ALWAYS = {
    "always_pkg/__init__.py": "",
    "tests/test_always.py": "import os\n\ndef test_abort():\n    os.abort()\n",
}


@pytest.fixture(scope="module")
def jit_python() -> Path:
    return built("jit").python


def _one_package(
    jit_python: Path, tmp_path: Path, fixture: Fixture, run_id: str, *extra: str
) -> PackageFinished:
    """`apiary run` of one fixture package on the JIT build (its registry made by the first
    call in `tmp_path`): its package_finished."""
    registry = tmp_path / "registry"
    if not registry.exists():
        build_registry(tmp_path, fixture)
    args = run_args(registry, tmp_path, run_id, "--target-python", str(jit_python), *extra)
    done = run_apiary(*args, cwd=tmp_path, timeout=1200)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    events = read_events(tmp_path / "results" / run_id / "events.jsonl").known()
    [finished] = [e for e in events if isinstance(e, PackageFinished)]
    return finished


def test_doctor_says_the_jit_is_available(jit_python: Path, tmp_path: Path) -> None:
    done = run_apiary("doctor", "--target-python", str(jit_python), cwd=tmp_path)
    text = done.stdout + done.stderr
    assert "JIT available" in text, text


def test_a_crash_only_the_jit_causes_is_jit_only(jit_python: Path, tmp_path: Path) -> None:
    registry = build_registry(
        tmp_path, Fixture("jit-only-pkg", JIT_ONLY), Fixture("always-pkg", ALWAYS)
    )
    done = run_apiary(
        *run_args(registry, tmp_path, "jit", "--target-python", str(jit_python)),
        cwd=tmp_path,
        timeout=1200,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    run_dir = tmp_path / "results" / "jit"
    crashes = {
        e.package: e.crash
        for e in read_events(run_dir / "events.jsonl").known()
        if isinstance(e, PackageFinished) and e.crash is not None
    }
    jit_only, always = crashes["jit-only-pkg"], crashes["always-pkg"]
    assert jit_only is not None and always is not None
    assert jit_only.test_id == "tests/test_hot.py::test_crashes_under_the_jit"
    assert jit_only.isolated == "reproduces"
    assert jit_only.jit_only is True, jit_only.jit_only_reason
    assert always.jit_only is False, always.jit_only_reason
    record = json.loads((run_dir / (jit_only.record_path or "")).read_text())
    jit_off = [r for r in record["reruns"] if r["step"] == "jit_off"]
    assert jit_off and all(r["outcome"] == "pass" for r in jit_off)
    log = (run_dir / "logs" / "jit-only-pkg" / "jit_off.log").read_text()
    assert "1 passed" in log  # the narrowed test alone, with the JIT really off


JIT_LOOP = {
    "jit_loop_pkg/__init__.py": "",
    "tests/test_spin.py": textwrap.dedent(
        """
        import _testinternalcapi

        def spin_while_the_jit_is_on():
            while _testinternalcapi.get_optimizer() is not None:
                pass

        def test_spins_under_the_jit():
            spin_while_the_jit_is_on()
        """
    ),
}
ALWAYS_LOOP = {
    "always_loop_pkg/__init__.py": "",
    "tests/test_spin.py": textwrap.dedent(
        """
        def spin_forever():
            while True:
                pass

        def test_spins():
            spin_forever()
        """
    ),
}


def test_a_hang_only_the_jit_causes_is_jit_only(jit_python: Path, tmp_path: Path) -> None:
    registry = build_registry(
        tmp_path, Fixture("jit-loop-pkg", JIT_LOOP), Fixture("always-loop-pkg", ALWAYS_LOOP)
    )
    args = run_args(registry, tmp_path, "hang", "--target-python", str(jit_python))
    done = run_apiary(*args, "--idle-timeout", "8", cwd=tmp_path, timeout=1200)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    run_dir = tmp_path / "results" / "hang"
    finished = {
        e.package: e
        for e in read_events(run_dir / "events.jsonl").known()
        if isinstance(e, PackageFinished)
    }
    jit_loop, always = finished["jit-loop-pkg"], finished["always-loop-pkg"]
    assert jit_loop.outcome.value == "hang" and always.outcome.value == "hang"
    assert jit_loop.crash is not None and always.crash is not None
    assert jit_loop.crash.kind == "busy_hang"
    assert jit_loop.crash.frames[:1] == ["test_spin.py:spin_while_the_jit_is_on"]
    assert jit_loop.crash.reproducible is True
    assert jit_loop.crash.test_id == "tests/test_spin.py::test_spins_under_the_jit"
    assert jit_loop.crash.jit_only is True, jit_loop.crash.jit_only_reason
    assert "finished (pass)" in (jit_loop.crash.jit_only_reason or "")
    assert always.crash.jit_only is False, always.crash.jit_only_reason
    assert "1 passed" in (run_dir / "logs" / "jit-loop-pkg" / "jit_off.log").read_text()


# A loop that prints as it goes never trips the idle limit: it runs into the time limit.
JIT_PRINTING_LOOP = {
    "jit_printing_pkg/__init__.py": "",
    "tests/test_spin.py": textwrap.dedent(
        """
        import time
        import _testinternalcapi

        def spin_while_the_jit_is_on():
            said = time.monotonic()
            while _testinternalcapi.get_optimizer() is not None:
                if time.monotonic() - said > 1:
                    print("still going", flush=True)
                    said = time.monotonic()

        def test_spins_under_the_jit():
            spin_while_the_jit_is_on()
        """
    ),
}


def test_a_loop_only_the_jit_causes_stopped_at_the_time_limit_is_jit_only(
    jit_python: Path, tmp_path: Path
) -> None:
    printing = Fixture(
        "jit-printing-pkg",
        JIT_PRINTING_LOOP,
        test="python -m pytest -q -s -p no:cacheprovider tests",
        timeout=15,
    )
    registry = build_registry(tmp_path, printing)
    args = run_args(registry, tmp_path, "limit", "--target-python", str(jit_python))
    done = run_apiary(*args, "--idle-timeout", "120", cwd=tmp_path, timeout=1200)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    run_dir = tmp_path / "results" / "limit"
    (finished,) = [
        e for e in read_events(run_dir / "events.jsonl").known() if isinstance(e, PackageFinished)
    ]
    assert finished.outcome.value == "timeout", finished.reason
    assert finished.crash is not None
    assert finished.crash.kind == "busy_hang"
    assert finished.crash.frames[:1] == ["test_spin.py:spin_while_the_jit_is_on"]
    assert finished.crash.reproducible is True
    assert finished.crash.jit_only is True, finished.crash.jit_only_reason
    assert "finished (pass)" in (finished.crash.jit_only_reason or "")


REPRODUCER = (
    Path(__file__).resolve().parents[3] / "examples" / "jit-hang-inspect-bind" / "reproducer.py"
)


def test_the_inspect_bind_reproducer_hangs_only_under_the_jit(
    jit_python: Path, tmp_path: Path
) -> None:
    """The example of docs/findings.md, run as a package's test, is a JIT-only busy hang."""
    test_file = REPRODUCER.read_text() + "\n\ndef test_autospec_rounds():\n    autospec_rounds()\n"
    files = {"bind_hang_pkg/__init__.py": "", "tests/test_autospec.py": test_file}
    registry = build_registry(tmp_path, Fixture("bind-hang-pkg", files))
    args = run_args(registry, tmp_path, "bind", "--target-python", str(jit_python))
    done = run_apiary(*args, "--idle-timeout", "15", cwd=tmp_path, timeout=1200)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    run_dir = tmp_path / "results" / "bind"
    finished = [
        e for e in read_events(run_dir / "events.jsonl").known() if isinstance(e, PackageFinished)
    ]
    assert [e.package for e in finished] == ["bind-hang-pkg"]
    hang = finished[0]
    assert hang.outcome.value == "hang"
    assert hang.crash is not None
    assert hang.crash.kind == "busy_hang"
    assert hang.crash.frames[:1] == ["inspect.py:_bind"], hang.crash.frames
    assert hang.crash.reproducible is True
    assert hang.crash.test_id == "tests/test_autospec.py::test_autospec_rounds"
    assert hang.crash.jit_only is True, hang.crash.jit_only_reason
    assert "1 passed" in (run_dir / "logs" / "bind-hang-pkg" / "jit_off.log").read_text()
    # the loop it spins on ends with EXTENDED_ARG; JUMP_BACKWARD: the known livelock
    assert "JUMP_BACKWARD at inspect.py:3261" in str(hang.crash.jit_only_reason)


LIVELOCK = REPRODUCER.parents[1] / "jit-hang-extended-arg-gc" / "reproducer.py"


def test_the_extended_arg_livelock_reproducer_hangs_only_under_the_jit(jit_python: Path) -> None:
    """The example of docs/findings.md (autopep8's hang, narrowed): the loop stops at its
    trigger with the JIT on, and finishes at once with PYTHON_JIT=0."""

    def run(jit: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHON_JIT": jit}
        return subprocess.run(
            [str(jit_python), str(LIVELOCK), "5"],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip

    hung, finished = run("1"), run("0")
    assert hung.returncode == 1, hung.stdout + hung.stderr
    assert "loop index i=500 (trigger=500" in hung.stderr
    assert finished.returncode == 0, finished.stderr
    assert "-- no hang" in finished.stdout


# Crashes only when the JIT really compiled the test's loop (an executor exists for it):
# a trace function, such as coverage's, keeps the JIT from compiling anything.
COVERED = {
    "covered_pkg/__init__.py": "",
    "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "--cov=covered_pkg"\n',
    "tests/test_hot.py": textwrap.dedent(
        """
        import _opcode, ctypes

        def hot():
            total = 0
            for i in range(20000):
                total += i * i
            return total

        def compiled(code):
            found = 0
            for offset in range(0, len(code.co_code), 2):
                try:
                    _opcode.get_executor(code, offset)
                    found += 1
                except (ValueError, RuntimeError):
                    pass
            return found

        def test_crashes_where_the_jit_compiled_the_loop():
            hot()
            if compiled(hot.__code__):
                ctypes.string_at(0)
        """
    ),
}


def test_coverage_is_off_so_the_jit_compiles(jit_python: Path, tmp_path: Path) -> None:
    """A suite measured for coverage (pytest-cov in addopts) runs with the JIT compiling
    nothing: its JIT crash shows only because apiary turns coverage off, and the
    reproducer does the same."""
    fixture = Fixture("covered-pkg", COVERED, install="pip install pytest pytest-cov")
    outcomes = {
        run_id: _one_package(jit_python, tmp_path, fixture, run_id, *extra)
        for run_id, extra in (("cov-off", ()), ("cov-kept", ("--keep-coverage",)))
    }
    kept = outcomes["cov-kept"]
    assert kept.outcome.value == "pass", kept.reason
    crash = outcomes["cov-off"].crash
    assert outcomes["cov-off"].outcome.value == "crash" and crash is not None
    assert crash.test_id == "tests/test_hot.py::test_crashes_where_the_jit_compiled_the_loop"
    assert crash.jit_only is True, crash.jit_only_reason
    run_dir = tmp_path / "results" / "cov-off"
    assert "--no-cov" in (run_dir / (crash.reproducer_path or "")).read_text()
    output = run_reproducer(run_dir, crash.reproducer_path, tmp_path / "repro")
    assert "exited with status 139" in output, output[-3000:]


# A test that runs a script in a new interpreter and checks its status, as CLI tests do:
# the script crashes only where the JIT compiled its loop.
JIT_CHILD_SCRIPT = textwrap.dedent(
    """
    import _opcode, ctypes

    def hot():
        total = 0
        for i in range(20000):
            total += i * i
        return total

    hot()
    code = hot.__code__
    for offset in range(0, len(code.co_code), 2):
        try:
            _opcode.get_executor(code, offset)
        except (ValueError, RuntimeError):
            continue
        ctypes.string_at(0)
    """
)
JIT_CHILD = {
    "jit_child_pkg/__init__.py": "",
    "jit_child_pkg/script.py": JIT_CHILD_SCRIPT,
    "tests/test_cli.py": textwrap.dedent(
        """
        import subprocess, sys
        from pathlib import Path

        def test_the_script_runs():
            script = Path(__file__).parents[1] / "jit_child_pkg" / "script.py"
            done = subprocess.run([sys.executable, str(script)], capture_output=True)
            assert done.returncode == 0
        """
    ),
}


def test_a_jit_crash_in_a_process_the_tests_started_is_jit_only(
    jit_python: Path, tmp_path: Path
) -> None:
    finished = _one_package(jit_python, tmp_path, Fixture("jit-child-pkg", JIT_CHILD), "child")
    assert finished.outcome.value == "crash", finished.reason
    crash = finished.crash
    assert crash is not None and crash.kind == "segfault"
    assert crash.test_id == "tests/test_cli.py::test_the_script_runs"
    assert crash.isolated == "reproduces", crash.isolated_reason
    assert crash.jit_only is True, crash.jit_only_reason


def test_a_jit_loop_stopped_by_pytest_timeout_is_a_jit_only_hang(
    jit_python: Path, tmp_path: Path
) -> None:
    """pytest-timeout fails the test and the suite goes on: the loop is still the hang."""
    files = {
        **JIT_LOOP,
        "pyproject.toml": "[tool.pytest.ini_options]\ntimeout = 5\n",
        "tests/test_other.py": "def test_before():\n    pass\n",
    }
    fixture = Fixture(
        "jit-timeout-pkg",
        files,
        install="pip install pytest pytest-timeout",
        import_name="jit_loop_pkg",
    )
    finished = _one_package(jit_python, tmp_path, fixture, "stopped")
    assert finished.outcome.value == "hang", finished.reason
    assert "pytest-timeout stopped tests/test_spin.py::test_spins_under_the_jit" in str(
        finished.reason
    )
    hang = finished.crash
    assert hang is not None and hang.kind == "busy_hang"
    assert hang.frames[:1] == ["test_spin.py:spin_while_the_jit_is_on"], hang.frames
    assert hang.signature == (
        "busy_hang | a test ran until its time limit stopped it"
        " | test_spin.py:spin_while_the_jit_is_on"
    )
    assert hang.test_id == "tests/test_spin.py::test_spins_under_the_jit"
    assert hang.reproducible is True
    assert hang.jit_only is True, hang.jit_only_reason
