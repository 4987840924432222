"""A real AddressSanitizer report from native code, under pytest's default capture.

The package's install command compiles a small C library with `-fsanitize=address`; its
test loads it with ctypes (the ASan runtime preloaded through `--env LD_PRELOAD`) and
reads freed memory. ASan writes its report where `log_path` tells it: the step's
evidence folder, which apiary sets, merging the user's own `ASAN_OPTIONS`.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from normalized_events import PackageFinished, read_events
from runner_fixtures import Fixture, build_registry, run_apiary, run_args

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]

NATIVE = {
    "native_pkg/__init__.py": "",
    "uaf.c": textwrap.dedent(
        """
        #include <stdlib.h>

        int read_after_free(void) {
            int *cells = malloc(4 * sizeof(int));
            cells[1] = 7;
            free(cells);
            return cells[1];
        }
        """
    ),
    "tests/test_native.py": textwrap.dedent(
        """
        import ctypes, pathlib

        def test_fine():
            pass

        def test_reads_freed_memory():
            lib = ctypes.CDLL(str(pathlib.Path(__file__).parent.parent / "uaf.so"))
            lib.read_after_free()
        """
    ),
}


def _asan_runtime() -> str:
    done = subprocess.run(
        ["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_a_real_asan_report_is_a_crash_with_its_error_type(tmp_path: Path) -> None:
    fixture = Fixture(
        "native-pkg",
        NATIVE,
        install="gcc -g -O0 -shared -fPIC -fsanitize=address -o uaf.so uaf.c && pip install pytest",
    )
    registry = build_registry(tmp_path, fixture)
    done = run_apiary(
        *run_args(
            registry,
            tmp_path,
            "asan",
            "--env",
            f"LD_PRELOAD={_asan_runtime()}",
            "--env",
            "ASAN_OPTIONS=malloc_fill_byte=171",
        ),
        cwd=tmp_path,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    run_dir = tmp_path / "results" / "asan"
    finished = next(
        e for e in read_events(run_dir / "events.jsonl").known() if isinstance(e, PackageFinished)
    )
    crash = finished.crash
    assert finished.outcome.value == "crash" and crash is not None, finished.reason
    assert crash.kind == "asan" and "heap-use-after-free" in crash.headline
    assert crash.test_id == "tests/test_native.py::test_reads_freed_memory"
    assert crash.isolated == "reproduces", crash.isolated_reason
    output = (run_dir / (crash.stderr_path or "")).read_text()
    assert "--- apiary: sanitizer report asan." in output  # it went to log_path
    assert "read_after_free" in output
    record = json.loads((run_dir / (crash.record_path or "")).read_text())
    assert record["record"]["asan_error"] == "heap-use-after-free"
    script = (run_dir / (crash.reproducer_path or "")).read_text()
    # the user's option kept, apiary's default added, no log_path in the reproducer
    assert "ASAN_OPTIONS=malloc_fill_byte=171:detect_leaks=0" in script.replace("'", "")
