"""ThreadSanitizer races in a real C extension, through a real `apiary run`.

On the free-threaded build (not instrumented) with TSan's runtime preloaded, and, when
one is in the cache, on a free-threaded TSan build of CPython 3.13.5.

The package's install step compiles a small C extension with `-fsanitize=thread` against
the build; its test calls the extension from four threads at once, and, with the GIL off,
they race on one static counter. apiary runs the suite under `setarch -R`, reads TSan's
report from `log_path` in the evidence folder, and records one bucket naming the
extension's function and shared object. A suppressions file given with
`--tsan-suppressions` silences it.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
from cpython_builds import built
from normalized_events import PackageFinished, read_events
from runner_core.pythons import find_built
from runner_fixtures import Fixture, build_registry, run_apiary, run_args

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]

RACY = Fixture(
    "racy-ext",
    {
        "racy/__init__.py": "",
        "racy/counter.c": textwrap.dedent(
            """
            #include <Python.h>

            static long counter;

            static PyObject *bump(PyObject *self, PyObject *n) {
                long times = PyLong_AsLong(n);
                for (long i = 0; i < times; i++) counter++;  /* no lock: the race */
                return PyLong_FromLong(counter);
            }
            static PyMethodDef methods[] = {{"bump", bump, METH_O, NULL}, {NULL}};
            static PyModuleDef_Slot slots[] = {
                {Py_mod_gil, Py_MOD_GIL_NOT_USED}, {0, NULL}};
            static struct PyModuleDef module = {
                PyModuleDef_HEAD_INIT, "_counter", NULL, 0, methods, slots};
            PyMODINIT_FUNC PyInit__counter(void) { return PyModuleDef_Init(&module); }
            """
        ),
        "build_counter.py": textwrap.dedent(
            """
            import subprocess, sysconfig

            subprocess.run(
                ["gcc", "-g", "-O1", "-fsanitize=thread", "-shared", "-fPIC",
                 "-I" + sysconfig.get_paths()["include"],
                 "-o", "racy/_counter" + sysconfig.get_config_var("EXT_SUFFIX"),
                 "racy/counter.c"],
                check=True,
            )
            """
        ),
        "tests/test_race.py": textwrap.dedent(
            """
            import threading
            from racy._counter import bump

            def test_four_threads_bump():
                start = threading.Barrier(4)

                def hammer():
                    start.wait()  # all four at once: no lock hand-off orders them
                    for _ in range(20000):
                        bump(1)

                threads = [threading.Thread(target=hammer) for _ in range(4)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            """
        ),
    },
    install="python build_counter.py && pip install pytest",
    import_name="racy",
)


def _finished(run_dir: Path) -> PackageFinished:
    return next(
        e for e in read_events(run_dir / "events.jsonl").known() if isinstance(e, PackageFinished)
    )


def _tsan_build() -> str:
    """The cached ft+tsan build; building one takes an hour on a loaded 2-core machine."""
    found = find_built("3.13.5-ft-tsan")
    if found is None:
        pytest.skip(
            "no 3.13.5 ft+tsan build in the cache (`apiary python build "
            "<the CPython 3.13.5 tarball> --variant ft+tsan` makes one)"
        )
    return str(found.python)


def test_a_race_in_an_extension_on_a_real_tsan_build(tmp_path: Path) -> None:
    python = _tsan_build()
    registry = build_registry(tmp_path, RACY)
    done = run_apiary(
        *run_args(registry, tmp_path, "tsan", "--target-python", python, "--tsan"),
        cwd=tmp_path,
        timeout=1800,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    run_dir = tmp_path / "results" / "tsan"
    finished = _finished(run_dir)
    assert finished.outcome.value == "pass", finished.reason  # exitcode=0: races are races
    mine = [r for r in finished.races if "counter.c:bump" in r.frames]
    assert mine, [r.signature for r in finished.races]
    [race] = mine
    assert race.kind == "data-race" and race.count >= 1
    assert any(m.startswith("_counter.cpython-313t") for m in race.modules), race.modules
    assert race.log_path and "counter.c" in (run_dir / race.log_path).read_text()
    log = (run_dir / "logs" / "racy-ext" / "test.log").read_text()
    assert log.startswith("$ setarch ") and " -R " in log.splitlines()[0]

    rules = tmp_path / "tsan.supp"
    rules.write_text("race:bump\n")
    quiet = run_apiary(
        *run_args(registry, tmp_path, "quiet", "--target-python", python),
        "--tsan-suppressions",
        str(rules),
        cwd=tmp_path,
        timeout=1800,
    )
    assert quiet.returncode in (0, 1), quiet.stderr[-3000:]
    silenced = _finished(tmp_path / "results" / "quiet")
    assert not [r for r in silenced.races if "counter.c:bump" in r.frames]


def test_a_race_in_an_extension_on_the_ft_build_with_tsan_preloaded(tmp_path: Path) -> None:
    runtime = subprocess.run(
        ["gcc", "-print-file-name=libtsan.so"], capture_output=True, text=True, check=True
    ).stdout.strip()
    registry = build_registry(tmp_path, RACY)
    done = run_apiary(
        *run_args(
            registry,
            tmp_path,
            "preloaded",
            "--target-python",
            str(built("ft").python),
            "--env",
            f"LD_PRELOAD={runtime}",
            "--env",
            "TSAN_OPTIONS=exitcode=0:history_size=4",
        ),
        cwd=tmp_path,
        timeout=1200,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    run_dir = tmp_path / "results" / "preloaded"
    finished = _finished(run_dir)
    assert finished.outcome.value == "pass", finished.reason
    # (the uninstrumented interpreter adds reports of its own: other buckets)
    [race] = [r for r in finished.races if "counter.c:bump" in r.frames]
    assert race.kind == "data-race" and race.count >= 1
    assert race.frames == ["counter.c:bump", "counter.c:bump"]
    assert any(m.startswith("_counter.cpython-313t") for m in race.modules), race.modules
    # the report went to log_path in the evidence folder, the user's options merged
    assert race.log_path is not None and race.log_path.startswith("logs/racy-ext/evidence/")
    log = (run_dir / "logs" / "racy-ext" / "test.log").read_text()
    assert "--- apiary: sanitizer report tsan." in log
