"""The parts of a free-threading hunt, each on real inputs: JUnit XML pytest wrote, stacks
faulthandler dumped, the GIL warning python3.13t printed, and bad options."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cpython_builds import built
from runner_core.crash import bucket, signature
from runner_core.crash.hang import ProcessStacks, hang_record
from runner_core.gil import gil_enabled_by
from runner_core.junit import junit_addopts, read_junit
from runner_fixtures import run_apiary

SUITE = textwrap.dedent(
    """
    import pytest

    def test_pass():
        pass

    def test_fail():
        assert False

    class TestGroup:
        @pytest.mark.parametrize("n", [1, 2])
        def test_param(self, n):
            assert n == 1

    @pytest.mark.skip
    def test_skipped():
        pass

    @pytest.fixture
    def broken():
        raise RuntimeError("setup")

    def test_error(broken):
        pass
    """
)


def test_per_test_outcomes_from_the_junit_xml_pytest_writes(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_mix.py").write_text(SUITE)
    report = tmp_path / "junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTEST_ADDOPTS": junit_addopts("-p no:randomly", report)},
        capture_output=True,
        check=False,
    )
    found = read_junit(report)
    assert found.problem is None
    assert found.outcomes == {
        "tests/test_mix.py::test_pass": "passed",
        "tests/test_mix.py::test_fail": "failed",
        "tests/test_mix.py::TestGroup::test_param[1]": "passed",
        "tests/test_mix.py::TestGroup::test_param[2]": "failed",
        "tests/test_mix.py::test_skipped": "skipped",
        "tests/test_mix.py::test_error": "error",
    }


def test_a_missing_or_cut_junit_file_is_one_line(tmp_path: Path) -> None:
    assert read_junit(tmp_path / "junit.xml").problem == (
        "junit.xml: not written (the run died or never started)"
    )
    cut = tmp_path / "junit.xml"
    cut.write_text('<?xml version="1.0"?><testsuites><testsuite><testcase name="a"')
    problem = read_junit(cut).problem
    assert problem is not None and problem.startswith("junit.xml: not complete XML (")


DEADLOCK = textwrap.dedent(
    """
    import faulthandler, sys, threading
    faulthandler.register({signum}, file=open(sys.argv[1], "w"), all_threads=True)
    a, b = threading.Lock(), threading.Lock()
    both = threading.Barrier(2)
    def {first}():
        with a:
            both.wait()
            with b: pass
    def {second}():
        with b:
            both.wait()
            with a: pass
    threads = [threading.Thread(target=f) for f in ({first}, {second})]
    for t in threads: t.start()
    print("ready", flush=True)
    for t in threads: t.join()
    """
)


def _dump(tmp_path: Path, python: str, name: str, first: str, second: str) -> str:
    script = tmp_path / name / "locks.py"
    script.parent.mkdir()
    out = tmp_path / name / "stacks.txt"
    signum = int(signal.SIGRTMIN) + 4
    script.write_text(DEADLOCK.format(signum=signum, first=first, second=second))
    process = subprocess.Popen([python, str(script), str(out)], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stdout.readline() == b"ready\n"
        while "take" not in out.read_text():
            process.send_signal(signum)
            subprocess.run(["sleep", "0.2"], check=True)
    finally:
        process.kill()
        process.wait()
    return out.read_text()


def test_deadlocks_at_one_site_share_a_bucket_whatever_the_path(tmp_path: Path) -> None:
    python = str(built("ft").python)
    one = _dump(tmp_path, python, "one", "take_a", "take_b")
    two = _dump(tmp_path, python, "two", "take_b", "take_a")  # started the other way round
    other = _dump(tmp_path, python, "three", "take_a", "take_c")
    records = [hang_record([ProcessStacks(1, text, 3, 0, 3)]) for text in (one, two, other)]
    assert all(r is not None for r in records)
    first, second, third = (r for r in records if r is not None)
    assert first.kind.value == "deadlock"
    assert signature(first) == (
        "deadlock | every thread waited on a lock"
        " | locks.py:<module> | locks.py:take_a | locks.py:take_b"
    )
    assert bucket(first) == bucket(second)
    assert bucket(third) != bucket(first)
    busy = hang_record([ProcessStacks(1, one, 3, 1, 2)])
    assert busy is not None and busy.kind.value == "busy_hang"
    asleep = hang_record([ProcessStacks(1, one, 3, 0, 2)])  # one thread in a sleep or a read
    assert asleep is not None and asleep.kind.value == "blocked"
    assert hang_record([ProcessStacks(1, "", 1, 0, 1)]) is None  # no stack, no record


LEGACY = textwrap.dedent(
    """
    #include <Python.h>
    static PyModuleDef_Slot slots[] = {{0, NULL}};
    static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "legacy", NULL, 0, NULL, slots};
    PyMODINIT_FUNC PyInit_legacy(void) { return PyModuleDef_Init(&module); }
    """
)


def test_the_gil_warning_of_a_real_ft_build_names_the_module(tmp_path: Path) -> None:
    python = str(built("ft").python)
    paths = subprocess.run(
        [
            python,
            "-c",
            "import sysconfig as s; print(s.get_paths()['include']);"
            "print(s.get_config_var('EXT_SUFFIX'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    (tmp_path / "legacy.c").write_text(LEGACY)
    subprocess.run(
        ["gcc", "-shared", "-fPIC", f"-I{paths[0]}", "-o", f"legacy{paths[1]}", "legacy.c"],
        cwd=tmp_path,
        check=True,
    )
    done = subprocess.run(
        [python, "-c", "import legacy, sys; print(sys._is_gil_enabled())"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "True\n"
    assert gil_enabled_by(done.stderr) == ["legacy"]
    forced = subprocess.run(
        [python, "-c", "import legacy"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHON_GIL": "0"},
    )
    assert gil_enabled_by(forced.stderr) == []  # PYTHON_GIL=0: nothing re-enables it


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--iterations", "0"], "error: --iterations 0: must be 1 or more"),
        (
            ["--tsan-suppressions", "/nonexistent/tsan.supp"],
            "error: --tsan-suppressions /nonexistent/tsan.supp: no such file",
        ),
        (["--tsan"], "is not a ThreadSanitizer build (its configure flags lack"),
    ],
)
def test_bad_options_are_one_line_and_status_2(
    tmp_path: Path, options: list[str], line: str
) -> None:
    done = run_apiary(
        "run",
        "--results-dir",
        str(tmp_path),
        "--packages",
        "x",
        "--dry-run",
        *options,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    [shown] = done.stderr.strip().splitlines()
    assert line in shown
