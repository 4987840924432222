"""One `apiary run`, 2 workers, on a real free-threaded CPython 3.13.5 (python3.13t).

Four local packages, each a way free threading goes wrong:

- crashes only with the GIL off (its test reads address 0 when `sys._is_gil_enabled()`
  is False): a crash, attributed `gil_off_only` by the GIL-on rerun;
- two threads take two locks in opposite order: the suite goes silent, apiary asks it
  for its stacks before the kill, and the hang is a `deadlock` whose signature names
  the function where each thread waits; nothing of it is left running;
- a test that fails in the second of three iterations: flaky, by test id, read from the
  JUnit XML apiary asked pytest to write;
- a C extension built in the install step against python3.13t without `Py_mod_gil`:
  importing it re-enables the GIL, which the import check and the tests record.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from cpython_builds import built
from normalized_events import PackageFinished, read_events
from runner_fixtures import Fixture, build_registry, run_apiary, run_args

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]

GIL_OFF_CRASH = Fixture(
    "ft-crash",
    {
        "ft_crash/__init__.py": "",
        "tests/test_gil.py": textwrap.dedent(
            """
            import ctypes, sys

            def test_fine():
                pass

            def test_needs_the_gil():
                if not sys._is_gil_enabled():
                    ctypes.string_at(0)
            """
        ),
    },
)
DEADLOCK = Fixture(
    "ft-deadlock",
    {
        "ft_deadlock/__init__.py": "",
        "tests/test_locks.py": textwrap.dedent(
            """
            import threading

            first, second = threading.Lock(), threading.Lock()
            both_hold_one = threading.Barrier(2)

            def take_first_then_second():
                with first:
                    both_hold_one.wait()
                    with second:
                        pass

            def take_second_then_first():
                with second:
                    both_hold_one.wait()
                    with first:
                        pass

            def test_two_locks_in_opposite_order():
                threads = [
                    threading.Thread(target=take_first_then_second),
                    threading.Thread(target=take_second_then_first),
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            """
        ),
    },
)
FLAKY = Fixture(
    "ft-flaky",
    {
        "ft_flaky/__init__.py": "",
        "tests/test_counter.py": textwrap.dedent(
            """
            import pathlib

            def test_steady():
                pass

            def test_second_run_fails():
                runs = pathlib.Path(".runs")
                count = int(runs.read_text()) + 1 if runs.exists() else 1
                runs.write_text(str(count))
                assert count != 2
            """
        ),
    },
)
GIL_EXTENSION = Fixture(
    "ft-gilext",
    {
        "ft_gilext/__init__.py": "from ft_gilext import legacy\n",
        "ft_gilext/legacy.c": textwrap.dedent(
            """
            #include <Python.h>

            /* No Py_mod_gil slot: a free-threaded interpreter re-enables the GIL. */
            static PyModuleDef_Slot slots[] = {{0, NULL}};
            static struct PyModuleDef module = {
                PyModuleDef_HEAD_INIT, "legacy", NULL, 0, NULL, slots,
            };
            PyMODINIT_FUNC PyInit_legacy(void) { return PyModuleDef_Init(&module); }
            """
        ),
        "build_legacy.py": textwrap.dedent(
            """
            import subprocess, sysconfig

            subprocess.run(
                ["gcc", "-shared", "-fPIC", "-I" + sysconfig.get_paths()["include"],
                 "-o", "ft_gilext/legacy" + sysconfig.get_config_var("EXT_SUFFIX"),
                 "ft_gilext/legacy.c"],
                check=True,
            )
            """
        ),
        "tests/test_legacy.py": (
            "import sys\nimport ft_gilext\n\n"
            "def test_gil_is_back():\n    assert sys._is_gil_enabled()\n"
        ),
    },
    install="python build_legacy.py && pip install pytest",
    import_name="ft_gilext",
)


def _processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line or environment holds `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            seen = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text.encode() in seen and state != "Z":
            found.append(int(entry.name))
    return found


def _finished(run_dir: Path, condition: str = "default") -> dict[str, PackageFinished]:
    return {
        e.package: e
        for e in read_events(run_dir / "events.jsonl").known()
        if isinstance(e, PackageFinished) and e.condition == condition
    }


def test_free_threading_hunt_on_a_real_ft_build(tmp_path: Path) -> None:
    python = built("ft").python
    registry = build_registry(tmp_path, GIL_OFF_CRASH, DEADLOCK, FLAKY, GIL_EXTENSION)
    done = run_apiary(
        *run_args(
            registry,
            tmp_path,
            "ft",
            "--target-python",
            str(python),
            "--workers",
            "2",
            "--iterations",
            "3",
            "--idle-timeout",
            "20",
            "--condition",
            "default",
            "--condition",
            "gil:env.PYTHON_GIL=1",
        ),
        cwd=tmp_path,
        timeout=1500,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    assert "free-threaded interpreter: tests run with the GIL off" in done.stderr
    assert "(condition gil): tests run with the GIL on (PYTHON_GIL=1)" in done.stderr
    run_dir = tmp_path / "results" / "ft"
    found = _finished(run_dir)
    baseline = _finished(run_dir, "gil")

    crash = found["ft-crash"]
    assert crash.outcome.value == "crash" and crash.crash is not None, crash.reason
    assert crash.gil == "off"
    assert crash.crash.gil_off_only is True, crash.crash.gil_off_only_reason
    assert crash.crash.test_id == "tests/test_gil.py::test_needs_the_gil"
    assert crash.iterations == 1  # stopped at the first crash

    hang = found["ft-deadlock"]
    assert hang.outcome.value == "hang", hang.reason
    assert hang.crash is not None and hang.crash.kind == "deadlock", hang.crash
    assert hang.crash.frames == [
        "test_locks.py:take_first_then_second",
        "test_locks.py:take_second_then_first",
        "test_locks.py:test_two_locks_in_opposite_order",
    ]
    assert hang.crash.bucket and hang.crash.signature.startswith("deadlock | ")
    stacks = (run_dir / (hang.crash.stderr_path or "")).read_text()
    assert "in take_first_then_second" in stacks
    assert _processes_mentioning(str(tmp_path)) == []  # the hung suite is gone

    flaky = found["ft-flaky"]
    assert flaky.outcome.value == "fail", flaky.reason
    assert flaky.iterations == 3
    assert [o.value for o in flaky.iteration_outcomes] == ["pass", "fail", "pass"]
    assert flaky.flaky_tests == ["tests/test_counter.py::test_second_run_fails"]
    assert flaky.reason is not None and flaky.reason.startswith("flaky: failed in 1 of 3")

    gilext = found["ft-gilext"]
    assert gilext.outcome.value == "pass", gilext.reason
    assert gilext.gil_enabled_by == ["ft_gilext.legacy"]
    assert gilext.iterations == 3

    # Every package's cache started from the store this build compiled.
    (ready,) = (tmp_path / "work" / "cache" / "store").glob("*/ready.json")
    assert list(ready.parent.glob("uv/archive-v0/*/setuptools/__pycache__/*.cpython-313*"))
    own = tmp_path / "work" / "cache" / "packages" / "ft-crash" / "uv"
    assert list(own.glob("archive-v0/*/_pytest/__pycache__/*.cpython-313*"))

    # the GIL-on baseline: the crash is gone, the deadlock is not
    assert baseline["ft-crash"].outcome.value == "pass" and baseline["ft-crash"].gil == "on"
    assert baseline["ft-deadlock"].crash is not None
    assert baseline["ft-deadlock"].crash.bucket == hang.crash.bucket

    summary = run_apiary("report", "summary", str(run_dir), "--format", "json", cwd=tmp_path)
    view = json.loads(summary.stdout)["free_threading"]
    placed = {(p["category"], p["package"], p["condition"]) for p in view["packages"]}
    assert {
        ("crash", "ft-crash", "default"),
        ("deadlock", "ft-deadlock", "default"),
        ("flaky", "ft-flaky", "default"),
        ("gil re-enabled", "ft-gilext", "default"),
        ("works", "ft-crash", "gil"),
    } <= placed
    evidence = next(p["evidence"] for p in view["packages"] if p["category"] == "deadlock")
    assert (run_dir / evidence).is_file()
    compare = run_apiary(
        "report", "compare", str(run_dir), "--condition-a", "gil", "--condition-b", "default",
        "--format", "json", cwd=tmp_path,
    )  # fmt: skip
    assert compare.returncode == 0, compare.stderr
    categories = {r["package"]: r["category"] for r in json.loads(compare.stdout)["results"]}
    assert categories["ft-crash"] == "regressed"  # passes with the GIL on, crashes off
