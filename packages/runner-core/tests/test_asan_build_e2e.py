"""On a real AddressSanitizer build of CPython 3.13.5: the hunt works end to end.

The build comes from `cpython_builds` (Debian's pristine tarball, built once into the
user cache). Without apiary's sanitizer handling, LeakSanitizer's report at every exit
fails the probe, venv creation and every install, and RLIMIT_AS stops the interpreter
at start-up.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from cpython_builds import built
from normalized_events import PackageFinished, read_events
from runner_core.interpreter import probe_interpreter
from runner_core.store import ready_store
from runner_core.tooling import find_uv
from runner_core.workdir import WorkLayout
from runner_fixtures import Fixture, build_registry, run_apiary, run_args

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("asan-build")]

EXTENSION = {
    "pyproject.toml": textwrap.dedent(
        """
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "uafext"
        version = "1.0"
        """
    ),
    "setup.py": (
        "from setuptools import Extension, setup\n\n"
        "setup(ext_modules=[Extension('uafext', ['uafext.c'])])\n"
    ),
    "uafext.c": textwrap.dedent(
        """
        #define PY_SSIZE_T_CLEAN
        #include <Python.h>
        #include <stdlib.h>

        static int *cells;

        static void __attribute__((noinline)) drop_cells(void) { free(cells); }

        static PyObject *read_after_free(PyObject *self, PyObject *args) {
            cells = malloc(4 * sizeof(int));
            cells[1] = 7;
            drop_cells();
            return PyLong_FromLong(cells[1]);
        }

        static PyMethodDef methods[] = {
            {"read_after_free", read_after_free, METH_NOARGS, NULL},
            {NULL, NULL, 0, NULL},
        };
        static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "uafext", NULL, -1, methods};
        PyMODINIT_FUNC PyInit_uafext(void) { return PyModule_Create(&module); }
        """
    ),
    "tests/test_uaf.py": textwrap.dedent(
        """
        import uafext

        def test_fine():
            assert uafext.__name__ == "uafext"

        def test_reads_freed_memory():
            uafext.read_after_free()
        """
    ),
}
PURE = {
    "plain_pkg/__init__.py": "VALUE = 3\n",
    "tests/test_plain.py": (
        "import plain_pkg\n\ndef test_value():\n    assert plain_pkg.VALUE == 3\n"
    ),
}


@pytest.fixture(scope="module")
def asan_python() -> Path:
    return built("asan").python


def test_doctor_runs_the_asan_build_and_says_how(asan_python: Path, tmp_path: Path) -> None:
    done = run_apiary("doctor", "--offline", "--target-python", str(asan_python), cwd=tmp_path)
    text = done.stdout + done.stderr
    assert "FAIL" not in text and "probe failed" not in text, text
    assert "sanitizer build" in text and "hard_rss_limit_mb" in text


def test_the_shared_store_is_compiled_by_the_asan_build(asan_python: Path, tmp_path: Path) -> None:
    # The interpreter leaks at exit: with LeakSanitizer's default the compile would fail.
    interpreter = probe_interpreter(str(asan_python))
    uv = find_uv()
    assert uv is not None
    found = ready_store(WorkLayout(tmp_path / "work"), interpreter, uv)
    assert found is not None, list((tmp_path / "work").rglob("fill.log"))
    assert list(found.glob("archive-v0/*/setuptools/__pycache__/*.cpython-313*.pyc"))


def test_a_use_after_free_in_an_extension_is_an_asan_crash(
    asan_python: Path, tmp_path: Path
) -> None:
    registry = build_registry(
        tmp_path,
        Fixture("uafext", EXTENSION, install="pip install . pytest", import_name="uafext"),
        Fixture("plain-pkg", PURE),
    )
    done = run_apiary(
        *run_args(
            registry, tmp_path, "asan", "--target-python", str(asan_python), "--memory", "4G"
        ),
        cwd=tmp_path,
        timeout=1800,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    run_dir = tmp_path / "results" / "asan"
    finished = {
        e.package: e
        for e in read_events(run_dir / "events.jsonl").known()
        if isinstance(e, PackageFinished)
    }
    assert finished["plain-pkg"].outcome.value == "pass", finished["plain-pkg"].reason
    uaf = finished["uafext"]
    crash = uaf.crash
    assert uaf.outcome.value == "crash" and crash is not None, uaf.reason
    assert crash.kind == "asan" and "heap-use-after-free" in crash.headline
    assert crash.test_id == "tests/test_uaf.py::test_reads_freed_memory"
    assert any("uafext.c:read_after_free" in frame for frame in crash.frames), crash.frames
    assert "free:uafext.c:" in crash.signature and "alloc:uafext.c:" in crash.signature
    record = json.loads((run_dir / (crash.record_path or "")).read_text())
    assert record["record"]["asan_error"] == "heap-use-after-free"
    assert crash.isolated == "reproduces", crash.isolated_reason
