"""Regenerate the captured outputs that the crash and outcome tests read.

    .venv/bin/python packages/runner-core/tests/data/crashes/capture.py [NAME ...]

Every capture really runs: a script, a pytest or unittest session, a C program built with
AddressSanitizer, an installer, git. Each writes two files next to this script:
``<name>.out`` (stdout and stderr merged, as a step log holds them, temp paths as they
were) and ``<name>.json`` (what ran and how it ended). The tests never rerun this script.

Needs: gcc with libasan, the pyenv interpreters 3.11.7, 3.12.1 and 3.13.0, the dev venv
(Python 3.11 with pytest), uv, git, PyPI (pytest-cov, Cython) and, for the free-threaded
capture, the cached `--disable-gil` build of tests/cpython_builds.py (built on first use).
The environment mirrors apiary's test step: PYTHONFAULTHANDLER=1, PYTHON_JIT=1,
PYTHONDONTWRITEBYTECODE=1, ASAN_OPTIONS=detect_leaks=0.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[4]
DEV = REPO / ".venv" / "bin" / "python"
PY311 = Path("/root/.pyenv/versions/3.11.7/bin/python3")
PY312 = Path("/root/.pyenv/versions/3.12.1/bin/python3")
PY313 = Path("/root/.pyenv/versions/3.13.0/bin/python3")
UV = shutil.which("uv") or str(REPO / ".tools" / "uv" / "bin" / "uv")
TIMEOUT_S = 300

BASE_ENV = {
    "PYTHONFAULTHANDLER": "1",
    "PYTHON_JIT": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "ASAN_OPTIONS": "detect_leaks=0",
}

# C code the crashes go through: a real assert, a real integer division by zero, a real
# trap instruction, a real use after free.
CRASHEXT_C = """\
#include <assert.h>
#include <stdlib.h>

int check_positive(int value) {
    assert(value > 0 && "value must be positive");
    return value;
}

int divide(int a, int b) { return a / b; }

void trap(void) { __builtin_trap(); }

int read_after_free(void) {
    int *items = malloc(4 * sizeof(int));
    items[1] = 7;
    free(items);
    return items[1];
}
"""

ASAN_SEGV_C = """\
#include <stddef.h>

static int read_value(volatile int *where) { return *where; }

int main(int argc, char **argv) {
    volatile int *where = argc > 99 ? (volatile int *)argv : NULL;
    return read_value(where);
}
"""

# A library two packages depend on: the same crash site reached from both.
CRASHSITE_PY = """\
import ctypes


def parse(data):
    return _walk(data)


def _walk(data):
    return _deref(data)


def _deref(data):
    return ctypes.string_at(0)


def scan(data):
    return _scan_block(data)


def _scan_block(data):
    return ctypes.string_at(0)
"""

LIBRARY_PATH_SNIPPET = """\
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "vendor"))
"""


@dataclass
class Work:
    """A temp dir to build a capture in."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def build_so(self, name: str, source: str, *, asan: bool = False) -> Path:
        c_file = self.write(f"{name}.c", source)
        so = self.root / f"{name}.so"
        flags = ["-fsanitize=address", "-fno-omit-frame-pointer"] if asan else []
        subprocess.run(
            ["gcc", "-g", "-O0", "-shared", "-fPIC", *flags, "-o", str(so), str(c_file)],
            check=True,
        )
        return so


@dataclass
class Capture:
    name: str
    description: str
    build: Callable[[Work], list[str]]
    shell: bool = False


def _asan_runtime() -> str:
    out = subprocess.run(
        ["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def script(python: Path, body: str) -> Callable[[Work], list[str]]:
    def build(work: Work) -> list[str]:
        path = work.write("crash_script.py", body)
        return [str(python), str(path)]

    return build


def with_crashext(python: Path, call: str, *, asan: bool = False) -> Callable[[Work], list[str]]:
    def build(work: Work) -> list[str]:
        so = work.build_so("crashext", CRASHEXT_C, asan=asan)
        if asan:
            work.env["LD_PRELOAD"] = _asan_runtime()
        body = f"""\
            import ctypes

            def call_native(lib):
                return lib.{call}

            lib = ctypes.CDLL({str(so)!r})
            call_native(lib)
            """
        path = work.write("native_script.py", body)
        return [str(python), str(path)]

    return build


def pytest_session(
    files: dict[str, str], *args: str, python: Path = DEV
) -> Callable[[Work], list[str]]:
    def build(work: Work) -> list[str]:
        for relative, text in files.items():
            work.write(relative, text)
        return [str(python), "-m", "pytest", "-p", "no:cacheprovider", *args]

    return build


def unittest_session(
    files: dict[str, str], python: Path, *args: str
) -> Callable[[Work], list[str]]:
    def build(work: Work) -> list[str]:
        for relative, text in files.items():
            work.write(relative, text)
        return [str(python), "-m", "unittest", *args]

    return build


def crash_site_package(
    package: str, runner: str, python: Path, entry: str
) -> Callable[[Work], list[str]]:
    """A package whose test reaches a crash inside the shared `crashsite` library."""

    def build(work: Work) -> list[str]:
        pkg = work.root / package
        work.write(f"{package}/vendor/crashsite/__init__.py", "from .core import parse, scan\n")
        work.write(f"{package}/vendor/crashsite/core.py", CRASHSITE_PY)
        if runner == "pytest":
            work.write(
                f"{package}/tests/test_{package}.py",
                LIBRARY_PATH_SNIPPET
                + f"""\
import crashsite


def test_{package}_reads_document():
    assert crashsite.{entry}(b"{package}")
""",
            )
            command = [str(python), "-m", "pytest", "-p", "no:cacheprovider", "tests"]
        else:
            work.write(f"{package}/tests/__init__.py", "")
            work.write(
                f"{package}/tests/test_{package}.py",
                LIBRARY_PATH_SNIPPET
                + f"""\
import unittest

import crashsite


class {package.title()}Tests(unittest.TestCase):
    def test_config_roundtrip(self):
        self.assertTrue(crashsite.{entry}(b"{package}"))
""",
            )
            command = [str(python), "-m", "unittest", "-v"]
        work.root = pkg
        return command

    return build


def sh(command: str) -> Callable[[Work], list[str]]:
    def build(work: Work) -> list[str]:
        return ["sh", "-c", command.format(root=work.root, py312=PY312, py313=PY313, dev=DEV)]

    return build


def sh_with_script(python: Path, body: str) -> Callable[[Work], list[str]]:
    def build(work: Work) -> list[str]:
        path = work.write("crash_script.py", body)
        return ["sh", "-c", f"cd {work.root} && {python} {path}"]

    return build


# ---------------------------------------------------------------- the captures

SEGV_FAULTHANDLER = """\
import faulthandler

def handle_request(payload):
    faulthandler._sigsegv()

handle_request(b"x")
"""

SEGV_CTYPES = """\
import ctypes

def read_header(address):
    return ctypes.string_at(address)

read_header(0)
"""

ABORT = """\
import os

def shutdown_hard():
    os.abort()

shutdown_hard()
"""

FATAL_ERROR = """\
import ctypes

def trigger_fatal():
    ctypes.pythonapi.Py_FatalError(b"jit: trace buffer corrupted")

trigger_fatal()
"""

BUS_ERROR = """\
import mmap
import os
import tempfile

def read_page(mapping):
    return mapping[0]

fd, path = tempfile.mkstemp()
os.write(fd, b"x" * mmap.PAGESIZE)
mapping = mmap.mmap(fd, mmap.PAGESIZE)
os.ftruncate(fd, 0)
read_page(mapping)
"""

THREADS_MAIN_CRASHES = """\
import ctypes
import threading
import time

stop = threading.Event()

def poll_queue():
    while not stop.is_set():
        time.sleep(0.01)

def spin_cpu():
    total = 0
    while not stop.is_set():
        total += 1

def crash_in_main():
    return ctypes.string_at(0)

workers = [threading.Thread(target=poll_queue, name="poller"),
           threading.Thread(target=spin_cpu, name="spinner")]
for worker in workers:
    worker.start()
time.sleep(0.2)
crash_in_main()
"""

THREADS_WORKER_CRASHES = """\
import ctypes
import threading
import time

def decode_in_worker():
    time.sleep(0.1)
    ctypes.string_at(0)

worker = threading.Thread(target=decode_in_worker, name="decoder")
worker.start()
worker.join()
"""

SIGKILL_SELF = """\
import os
import signal

print("about to be killed", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""

CHILD_SEGV_TEST_PASSES = """\
import subprocess
import sys

def test_child_crash_is_expected():
    code = "import faulthandler; faulthandler.enable(); faulthandler._sigsegv()"
    proc = subprocess.run([sys.executable, "-c", code])
    assert proc.returncode == -11
"""

CHILD_SEGV_TEST_FAILS = """\
import subprocess
import sys

def test_child_runs_cleanly():
    code = "import ctypes; ctypes.string_at(0)"
    proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code])
    assert proc.returncode == 0
"""


def _bad_home(work: Work) -> list[str]:
    work.env["PYTHONHOME"] = "/nonexistent/apiary-home"
    return [str(PY312), "-c", "pass"]


CAPTURES: list[Capture] = [
    Capture(
        "segv_faulthandler_script_312",
        "faulthandler._sigsegv() in a plain script, Python 3.12",
        script(PY312, SEGV_FAULTHANDLER),
    ),
    Capture(
        "segv_ctypes_script_313",
        "ctypes.string_at(0) in a plain script, Python 3.13",
        script(PY313, SEGV_CTYPES),
    ),
    Capture(
        "segv_ctypes_extension_modules_311",
        "ctypes.string_at(0) with a third-party C extension (yaml) loaded, dev venv 3.11",
        script(DEV, "import yaml\nimport pydantic_core\n" + SEGV_CTYPES),
    ),
    Capture(
        "segv_shell_312",
        "a segfaulting script run through `sh -c` (the shell reports 139)",
        sh_with_script(PY312, SEGV_CTYPES),
        shell=True,
    ),
    Capture(
        "abort_shell_313",
        "os.abort() through `sh -c` (the shell reports 134)",
        sh_with_script(PY313, ABORT),
        shell=True,
    ),
    Capture("abort_script_313", "os.abort() in a plain script, 3.13", script(PY313, ABORT)),
    Capture(
        "fatal_error_script_312",
        "Py_FatalError called through ctypes.pythonapi, 3.12",
        script(PY312, FATAL_ERROR),
    ),
    Capture(
        "c_assert_script_312",
        "a real C assert() failing in a shared library loaded with ctypes, 3.12",
        with_crashext(PY312, "check_positive(-1)"),
    ),
    Capture(
        "fpe_script_313",
        "a real integer division by zero in C (SIGFPE), 3.13",
        with_crashext(PY313, "divide(1, 0)"),
    ),
    Capture(
        "sigill_script_312",
        "a real trap instruction in C (__builtin_trap, SIGILL), 3.12",
        with_crashext(PY312, "trap()"),
    ),
    Capture(
        "bus_error_script_313",
        "reading a truncated mmap (a real SIGBUS), 3.13",
        script(PY313, BUS_ERROR),
    ),
    Capture(
        "asan_use_after_free_python_312",
        "heap-use-after-free in an ASan-built library loaded by Python 3.12 (exit 1)",
        with_crashext(PY312, "read_after_free()", asan=True),
    ),
    Capture(
        "sigkill_script_312",
        "a process killed by SIGKILL: no output from the interpreter",
        script(PY312, SIGKILL_SELF),
    ),
    Capture(
        "threads_main_crashes_312",
        "segfault in the main thread while two other threads run, 3.12",
        script(PY312, THREADS_MAIN_CRASHES),
    ),
    Capture(
        "threads_worker_crashes_313",
        "segfault in a worker thread while the main thread joins it, 3.13",
        script(PY313, THREADS_WORKER_CRASHES),
    ),
    Capture(
        "startup_fatal_error_312",
        "a startup failure (bad PYTHONHOME): Fatal Python error with exit 1, not a crash",
        _bad_home,
    ),
]


def _asan_preloaded_script(work: Work) -> list[str]:
    # Like an ASan-built interpreter: faulthandler dumps first, then re-raises into ASan's
    # handler, which reports a SEGV and exits 1.
    work.env["LD_PRELOAD"] = _asan_runtime()
    path = work.write("crash_script.py", SEGV_CTYPES)
    return [str(PY312), str(path)]


def _build_asan_program(work: Work) -> list[str]:
    source = work.write("read_null.c", ASAN_SEGV_C)
    program = work.root / "read_null"
    subprocess.run(
        ["gcc", "-g", "-O0", "-fsanitize=address", "-o", str(program), str(source)], check=True
    )
    return [str(program)]


CAPTURES.append(
    Capture(
        "asan_faulthandler_segv_312",
        "a segfault under the ASan runtime with faulthandler on: both reports, exit 1",
        _asan_preloaded_script,
    )
)
CAPTURES.append(
    Capture(
        "asan_segv_c_program",
        "a NULL read in a C program built with -fsanitize=address (ASan SEGV, exit 1)",
        _build_asan_program,
    )
)

# -------------------------------------------------------- inside test runners

PYTEST_SEGV = {
    "tests/test_parser.py": """\
        import faulthandler

        def helper_that_crashes():
            faulthandler._sigsegv()

        def test_ok():
            assert True

        def test_crashes():
            helper_that_crashes()
        """,
}

PYTEST_FATAL = {
    "tests/test_fatal.py": """\
        import ctypes

        def test_fatal():
            ctypes.pythonapi.Py_FatalError(b"jit: trace buffer corrupted")
        """,
}


def _pytest_c_assert(*args: str) -> Callable[[Work], list[str]]:
    def build(work: Work) -> list[str]:
        so = work.build_so("crashext", CRASHEXT_C)
        work.write(
            "tests/test_native.py",
            f"""\
            import ctypes

            def test_native_check():
                ctypes.CDLL({str(so)!r}).check_positive(-3)
            """,
        )
        return [str(DEV), "-m", "pytest", "-p", "no:cacheprovider", *args, "tests"]

    return build


CAPTURES += [
    Capture(
        "pytest_segv_311",
        "faulthandler._sigsegv() inside a pytest test (pytest's faulthandler dump)",
        pytest_session(PYTEST_SEGV, "tests"),
    ),
    Capture(
        "pytest_fatal_error_captured_311",
        "Py_FatalError inside pytest with default fd capture: the message is lost",
        pytest_session(PYTEST_FATAL, "tests"),
    ),
    Capture(
        "pytest_fatal_error_no_capture_311",
        "Py_FatalError inside pytest with -s: the message reaches the log",
        pytest_session(PYTEST_FATAL, "-s", "tests"),
    ),
    Capture(
        "pytest_c_assert_captured_311",
        "a C assert() inside pytest with default capture: the assertion text is lost",
        _pytest_c_assert(),
    ),
    Capture(
        "pytest_c_assert_no_capture_311",
        "a C assert() inside pytest with -s: the assertion text reaches the log",
        _pytest_c_assert("-s"),
    ),
    Capture(
        "pytest_segv_shell_311",
        "a segfaulting pytest run through a shell command line (139)",
        sh(
            "cd {root} && mkdir -p tests && printf '%s\\n' 'import ctypes' '' "
            "'def test_read():' '    ctypes.string_at(0)' > tests/test_read.py && "
            "{dev} -m pytest -p no:cacheprovider tests"
        ),
        shell=True,
    ),
    Capture(
        "unittest_segv_313",
        "ctypes.string_at(0) inside a unittest TestCase, python -m unittest, 3.13",
        unittest_session(
            {
                "tests/__init__.py": "",
                "tests/test_reader.py": """\
                    import ctypes
                    import unittest

                    class ReaderTests(unittest.TestCase):
                        def test_reads_null(self):
                            ctypes.string_at(0)
                    """,
            },
            PY313,
            "-v",
        ),
    ),
    Capture(
        "pytest_child_segv_test_passes_311",
        "a test that expects its child process to segfault, run with -s: the dump is "
        "in the log but pytest exits 0",
        pytest_session({"tests/test_child.py": CHILD_SEGV_TEST_PASSES}, "-s", "tests"),
    ),
    Capture(
        "pytest_child_segv_test_fails_311",
        "a test whose child process segfaults unexpectedly: pytest survives and exits 1",
        pytest_session({"tests/test_child.py": CHILD_SEGV_TEST_FAILS}, "tests"),
    ),
    Capture(
        "pytest_faulthandler_timeout_passes_311",
        "pytest's faulthandler_timeout dumps the threads of a slow test that then passes",
        pytest_session(
            {
                "tests/test_slow.py": """\
                    import time

                    def test_slow():
                        time.sleep(1.5)
                    """
            },
            "-o",
            "faulthandler_timeout=1",
            "tests",
        ),
    ),
    # the same crash site reached from two packages, and a different site
    Capture(
        "same_site_alpha_pytest_311",
        "package alpha's pytest test reaches crashsite.parse -> _deref (segfault)",
        crash_site_package("alpha", "pytest", DEV, "parse"),
    ),
    Capture(
        "same_site_beta_unittest_313",
        "package beta's unittest test reaches crashsite.parse -> _deref on 3.13",
        crash_site_package("beta", "unittest", PY313, "parse"),
    ),
    Capture(
        "other_site_gamma_pytest_311",
        "package gamma's test reaches crashsite.scan -> _scan_block (another site)",
        crash_site_package("gamma", "pytest", DEV, "scan"),
    ),
]

# ------------------------------------------------------------ pytest exit codes

CAPTURES += [
    Capture(
        "pytest_exit0_311",
        "all tests pass",
        pytest_session(
            {"tests/test_ok.py": "def test_a():\n    assert 1\n\ndef test_b():\n    assert 2\n"},
            "tests",
        ),
    ),
    Capture(
        "pytest_exit1_311",
        "one test fails",
        pytest_session(
            {
                "tests/test_fail.py": """\
                    def test_passes():
                        assert True

                    def test_fails():
                        assert 1 + 1 == 3
                    """
            },
            "tests",
        ),
    ),
    Capture(
        "pytest_exit2_missing_module_311",
        "collection error: a test dependency is not installed",
        pytest_session(
            {"tests/test_schema.py": "import xmlschema\n\ndef test_x():\n    assert xmlschema\n"},
            "tests",
        ),
    ),
    Capture(
        "pytest_exit2_import_error_311",
        "collection error: ImportError (a name missing from a module)",
        pytest_session(
            {"tests/test_names.py": "from json import no_such_name\n\ndef test_x():\n    pass\n"},
            "tests",
        ),
    ),
    Capture(
        "pytest_exit3_internal_error_311",
        "a plugin hook raises: INTERNALERROR",
        pytest_session(
            {
                "tests/conftest.py": """\
                    def pytest_collection_modifyitems(items):
                        raise RuntimeError("plugin state is inconsistent")
                    """,
                "tests/test_ok.py": "def test_a():\n    pass\n",
            },
            "tests",
        ),
    ),
    Capture(
        "pytest_exit4_usage_error_311",
        "an unknown command line option",
        pytest_session({"tests/test_ok.py": "def test_a():\n    pass\n"}, "--no-such-option"),
    ),
    Capture(
        "pytest_exit4_path_not_found_311",
        "a test path that does not exist",
        pytest_session({"tests/test_ok.py": "def test_a():\n    pass\n"}, "testsuite"),
    ),
    Capture(
        "pytest_exit4_conftest_import_311",
        "conftest.py imports a module that is not installed",
        pytest_session(
            {
                "tests/conftest.py": "import tomli_w\n",
                "tests/test_ok.py": "def test_a():\n    pass\n",
            },
            "tests",
        ),
    ),
    Capture(
        "pytest_exit5_no_tests_311",
        "no tests collected",
        pytest_session({"tests/test_empty.py": "VALUE = 1\n"}, "tests"),
    ),
    Capture(
        "unittest_import_failure_312",
        "python -m unittest with a test module whose dependency is missing (exit 1)",
        unittest_session(
            {"tests/__init__.py": "", "tests/test_dep.py": "import xmlschema\n"}, PY312
        ),
    ),
    Capture(
        "unittest_no_tests_312",
        "python -m unittest finds nothing (exit 5 since 3.12)",
        unittest_session({"tests/__init__.py": ""}, PY312),
    ),
]

# ------------------------------------------ did the tests run? (summaries or none)

ONE_FAILS = {
    "tests/test_fail.py": """\
        def test_passes():
            assert True

        def test_fails():
            assert 1 + 1 == 3
        """
}


def _venv_with(python: Path, *requirements: str) -> Callable[[Work], Path]:
    """A venv of `python` with `requirements` from PyPI."""

    def make(work: Work) -> Path:
        venv_python = _uv_venv(work, python)
        subprocess.run(
            [UV, "pip", "install", "-q", "--python", str(venv_python), *requirements],
            check=True,
        )
        return venv_python

    return make


def _pytest_in_venv(
    make: Callable[[Work], Path], files: dict[str, str], *args: str
) -> Callable[[Work], list[str]]:
    def build(work: Work) -> list[str]:
        python = make(work)
        for relative, text in files.items():
            work.write(relative, text)
        return [str(python), "-m", "pytest", "-p", "no:cacheprovider", *args]

    return build


def _free_threaded_python() -> Path:
    sys.path.insert(0, str(HERE.parents[1]))
    from cpython_builds import built  # the tests' cached CPython builds

    return built("ft").python


FASTPATH = {
    ".coveragerc": "[run]\nplugins = Cython.Coverage\nsource = fastpath\n",
    "fastpath/__init__.py": "def double(x):\n    return 2 * x\n",
    "tests/test_double.py": "from fastpath import double\n\n\ndef test_double():\n"
    "    assert double(2) == 4\n",
}


def _cython_coverage_free_threaded(*args: str) -> Callable[[Work], list[str]]:
    """A suite that loads Cython's coverage plugin on 3.13t (the .coveragerc under --cov,
    or pytest's -p). coverage ships no free-threaded wheel: the installer takes its
    pure-Python wheel, which has no C tracer, and Cython.Coverage refuses to load."""

    def build(work: Work) -> list[str]:
        make = _venv_with(_free_threaded_python(), "pytest", "pytest-cov", "coverage", "cython")
        return _pytest_in_venv(make, FASTPATH, *args)(work)

    return build


def _stestr_session(files: dict[str, str]) -> Callable[[Work], list[str]]:
    def build(work: Work) -> list[str]:
        python = _venv_with(PY312, "stestr")(work)
        work.write(".stestr.conf", "[DEFAULT]\ntest_path=./tests\ntop_dir=./\n")
        for relative, text in files.items():
            work.write(relative, text)
        return [str(python), "-m", "stestr", "run"]

    return build


MATH_TESTS = """\
    import unittest


    class MathTests(unittest.TestCase):
        def test_adds(self):
            self.assertEqual(1 + 1, 2)

        def test_wrong(self):
            self.assertEqual(1 + 1, 3)
    """

CONFIGURE_FAILS_PLUGIN = """\
    def pytest_configure(config):
        raise RuntimeError("the line tracer needs a build with the C tracer")
    """

SETUP_CLASS_FAILS = """\
    import unittest


    class DatabaseTests(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            raise RuntimeError("database server not reachable at 127.0.0.1:5432")

        def test_query(self):
            pass
    """

SILENT_EXIT = "import sys\n\nsys.exit(1)\n"

RUNNER_SCRIPT_EXIT = """\
    import os
    import sys

    DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata")
    if not os.path.isdir(DATA):
        print(f"runtests: no test data in {DATA}, run fetch_data.py first", file=sys.stderr)
        sys.exit(1)
    """

FIXTURE_FAILS = """\
    import pytest


    @pytest.fixture
    def server():
        raise ConnectionRefusedError("fixture server did not start")


    def test_alone():
        assert True


    def test_with_server(server):
        assert server
    """

CAPTURES += [
    Capture("pytest_exit1_quiet_311", "one test fails, pytest -q",
            pytest_session(ONE_FAILS, "-q", "tests")),
    Capture("pytest_exit1_verbose_311", "one test fails, pytest -v",
            pytest_session(ONE_FAILS, "-v", "tests")),
    Capture("pytest_exit1_very_quiet_311", "one test fails, pytest -qq: no closing line",
            pytest_session(ONE_FAILS, "-qq", "tests")),
    Capture("pytest_exit1_color_311", "one test fails, pytest --color=yes (ANSI colours)",
            pytest_session(ONE_FAILS, "--color=yes", "tests")),
    Capture(
        "pytest_exit1_fixture_error_311",
        "a fixture raises in setup: one test passes, one errors (tests ran)",
        pytest_session({"tests/test_server.py": FIXTURE_FAILS}, "tests"),
    ),
    Capture(
        "unittest_failure_312",
        "python -m unittest: one test of two fails",
        unittest_session({"tests/__init__.py": "", "tests/test_math.py": MATH_TESTS}, PY312),
    ),
    Capture(
        "stestr_failure_312",
        "stestr run: one test of two fails",
        _stestr_session({"tests/__init__.py": "", "tests/test_math.py": MATH_TESTS}),
    ),
    Capture(
        "stestr_import_error_312",
        "stestr run: a test module's dependency is missing (exit 100)",
        _stestr_session({"tests/__init__.py": "", "tests/test_dep.py": "import xmlschema\n"}),
    ),
    Capture(
        "pytest_exit3_configure_error_311",
        "a plugin named with -p raises in pytest_configure",
        pytest_session(
            {
                "lineplugin.py": CONFIGURE_FAILS_PLUGIN,
                "tests/test_ok.py": "def test_a():\n    pass\n",
            },
            "-p", "lineplugin", "tests",
        ),
    ),
    Capture(
        "pytest_exit4_conftest_error_311",
        "conftest.py raises (not an import error) while pytest loads it",
        pytest_session(
            {
                "tests/conftest.py": "raise RuntimeError('DJANGO_SETTINGS_MODULE is not set')\n",
                "tests/test_ok.py": "def test_a():\n    pass\n",
            },
            "tests",
        ),
    ),
    Capture(
        "pytest_exit1_coverage_plugin_missing_312",
        "pytest-cov starts coverage, whose .coveragerc names a plugin that is not installed",
        _pytest_in_venv(
            _venv_with(PY312, "pytest", "pytest-cov"),
            {
                ".coveragerc": "[run]\nplugins = covdefaults\n",
                "tests/test_ok.py": "def test_a():\n    pass\n",
            },
            "--cov", "--cov-config=.coveragerc", "tests",
        ),
    ),
    Capture(
        "pytest_exit1_cov_fail_under_312",
        "every test passes, coverage is under --cov-fail-under: exit 1",
        _pytest_in_venv(
            _venv_with(PY312, "pytest", "pytest-cov"),
            {
                "halfcovered/__init__.py": "def used():\n    return 1\n\n\n"
                "def unused():\n    return 2\n",
                "tests/test_used.py": "from halfcovered import used\n\n\ndef test_used():\n"
                "    assert used() == 1\n",
            },
            "--cov=halfcovered", "--cov-fail-under=90", "tests",
        ),
    ),
    Capture(
        "unittest_ran_0_setup_class_311",
        "python -m unittest: setUpClass raises, so no test runs (Ran 0 tests, exit 1)",
        unittest_session(
            {"tests/__init__.py": "", "tests/test_db.py": SETUP_CLASS_FAILS}, PY311
        ),
    ),
    Capture(
        "unittest_ran_0_ok_311",
        "python -m unittest discover in a folder with no tests: Ran 0 tests, OK, exit 0",
        unittest_session({"tests/__init__.py": ""}, PY311, "discover", "-s", "tests"),
    ),
    Capture("script_exit1_silent_313", "a custom test script that exits 1 printing nothing",
            script(PY313, SILENT_EXIT)),
    Capture(
        "script_exit1_message_313",
        "a custom test runner script that stops before any test, with its own message",
        script(PY313, RUNNER_SCRIPT_EXIT),
    ),
    Capture(
        "pytest_exit1_cython_coverage_ft_313t",
        "free-threaded 3.13.5: Cython.Coverage in .coveragerc under --cov, no C tracer",
        _cython_coverage_free_threaded("--cov", "--cov-config=.coveragerc", "tests"),
    ),
    Capture(
        "pytest_cython_coverage_plugin_ft_313t",
        "free-threaded 3.13.5: -p Cython.Coverage, no C tracer",
        _cython_coverage_free_threaded("-p", "Cython.Coverage", "tests"),
    ),
]  # fmt: skip

# ------------------------------------------------------ install, import, source


def _pip_no_match(work: Work) -> list[str]:
    (work.root / "wheels").mkdir()
    return [
        str(DEV), "-m", "pip", "install", "--no-index", "--find-links",
        str(work.root / "wheels"), "--target", str(work.root / "target"), "fastjsonschema-ext",
    ]  # fmt: skip


def _broken_extension(work: Work) -> None:
    work.write(
        "brokenext/setup.py",
        """\
        from setuptools import Extension, setup

        setup(
            name="brokenext",
            version="1.0",
            ext_modules=[Extension("brokenext._speedups", ["src/speedups.c"])],
        )
        """,
    )
    work.write(
        "brokenext/src/speedups.c",
        """\
        #include <Python.h>
        #include <missing_dependency/api.h>

        static PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speedups"};
        PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
        """,
    )


def _pip_build_failure(work: Work) -> list[str]:
    _broken_extension(work)
    return [
        str(DEV), "-m", "pip", "install", "--target", str(work.root / "target"),
        str(work.root / "brokenext"),
    ]  # fmt: skip


def _uv_venv(work: Work, python: Path, *extra: str) -> Path:
    venv = work.root / "venv"
    subprocess.run([UV, "venv", "-q", "--python", str(python), *extra, str(venv)], check=True)
    return venv / "bin" / "python"


def _uv_no_solution(work: Work) -> list[str]:
    python = _uv_venv(work, PY312)
    (work.root / "wheels").mkdir()
    return [
        UV, "pip", "install", "--python", str(python), "--offline", "--no-index",
        "--find-links", str(work.root / "wheels"), "fastjsonschema-ext>=2",
    ]  # fmt: skip


def _uv_build_failure(work: Work) -> list[str]:
    _broken_extension(work)
    python = _uv_venv(work, PY313)
    return [
        UV, "pip", "install", "--python", str(python), str(work.root / "brokenext"),
    ]  # fmt: skip


def _import_check(python: Path, files: dict[str, str], name: str) -> Callable[[Work], list[str]]:
    def build(work: Work) -> list[str]:
        for relative, text in files.items():
            work.write(f"site/{relative}", text)
        work.env["PYTHONPATH"] = str(work.root / "site")
        return [str(python), "-c", f"import {name}"]

    return build


def _git_repo(work: Work) -> Path:
    repo = work.root / "upstream"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (repo / "README").write_text("x\n")
    subprocess.run([*git, "add", "README"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    return repo


def _git_clone_missing(work: Work) -> list[str]:
    return ["git", "clone", "--depth", "1", f"file://{work.root}/no-such-repo", "src"]


def _git_clone_bad_branch(work: Work) -> list[str]:
    repo = _git_repo(work)
    return ["git", "clone", "--depth", "1", "--branch", "v9.9.9", f"file://{repo}", "src"]


def _git_checkout_bad_ref(work: Work) -> list[str]:
    repo = _git_repo(work)
    return ["git", "-C", str(repo), "checkout", "-q", "deadbeefcafe"]


MISSING_LIBRARY_PY = "import ctypes\n_lib = ctypes.CDLL('libapiary-missing.so.1')\n"
SEGV_AT_IMPORT_PY = "import ctypes\n\ndef _init():\n    ctypes.string_at(0)\n\n_init()\n"

CAPTURES += [
    Capture("install_pip_no_match", "pip: no matching distribution", _pip_no_match),
    Capture("install_pip_build_failure", "pip: a C extension fails to build", _pip_build_failure),
    Capture("install_uv_no_solution", "uv: no solution for a requirement", _uv_no_solution),
    Capture("install_uv_build_failure", "uv: a C extension fails to build", _uv_build_failure),
    Capture(
        "import_missing_module_312",
        "import check: the module does not exist under that name",
        _import_check(PY312, {}, "wrongname"),
    ),
    Capture(
        "import_error_name_313",
        "import check: the package imports a name its dependency lacks",
        _import_check(
            PY313,
            {"mypkg/__init__.py": "from .core import run\n", "mypkg/core.py": "VALUE = 1\n"},
            "mypkg",
        ),
    ),
    Capture(
        "import_error_shared_library_312",
        "import check: a native library cannot be loaded",
        _import_check(
            PY312,
            {"nativepkg/__init__.py": MISSING_LIBRARY_PY},
            "nativepkg",
        ),
    ),
    Capture(
        "import_segv_313",
        "import check: importing the package segfaults",
        _import_check(
            PY313,
            {"crashy/__init__.py": SEGV_AT_IMPORT_PY},
            "crashy",
        ),
    ),
    Capture(
        "source_git_clone_missing",
        "git clone of a repository that is not there",
        _git_clone_missing,
    ),
    Capture(
        "source_git_bad_branch",
        "git clone --branch of a tag that does not exist",
        _git_clone_bad_branch,
    ),
    Capture(
        "source_git_bad_ref",
        "git checkout of a revision that does not exist",
        _git_checkout_bad_ref,
    ),
]


def _python_version(argv: list[str]) -> str | None:
    python = next(
        (a for a in argv if a.startswith("/") and Path(a).name.startswith("python")), None
    )
    if python is None:
        return None
    out = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or None


def run_capture(capture: Capture) -> None:
    temp = Path(tempfile.mkdtemp(prefix="apiary-capture-"))
    try:
        work = Work(temp)
        argv = capture.build(work)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env.update(BASE_ENV)
        env.update(work.env)
        proc = subprocess.run(
            argv,
            cwd=work.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=TIMEOUT_S,
            check=False,
        )
        output = proc.stdout.decode("utf-8", errors="replace")
        meta = {
            "name": capture.name,
            "description": capture.description,
            "argv": argv,
            "shell": capture.shell,
            "cwd": str(work.root),
            "env": {**BASE_ENV, **work.env},
            "python": _python_version(argv),
            "exit_code": proc.returncode,
        }
        (HERE / f"{capture.name}.out").write_text(output, encoding="utf-8")
        (HERE / f"{capture.name}.json").write_text(json.dumps(meta, indent=2) + "\n")
        print(f"{capture.name}: exit {proc.returncode}, {len(output)} chars")
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def main(names: list[str]) -> int:
    chosen = [c for c in CAPTURES if not names or c.name in names]
    unknown = set(names) - {c.name for c in CAPTURES}
    if unknown:
        print(f"unknown capture(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    for capture in chosen:
        run_capture(capture)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
