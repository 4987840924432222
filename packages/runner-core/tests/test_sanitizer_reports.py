"""Real sanitizer reports from C programs built here: leaks, and free/alloc sites in buckets."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from runner_core.crash import CrashRecord, bucket, parse_crash, signature

PROGRAM = textwrap.dedent(
    """
    #include <stdlib.h>
    #include <string.h>

    static int *cells;

    __attribute__((noinline)) void release_early(void) { free(cells); }
    __attribute__((noinline)) void release_late(void) { free(cells); }
    __attribute__((noinline)) int read_cell(void) { return cells[1]; }
    __attribute__((noinline)) void keep_forever(void) { cells = malloc(64); cells[0] = 1; }

    int main(int argc, char **argv) {
        cells = malloc(4 * sizeof(int));
        if (strcmp(argv[1], "early") == 0) release_early();
        if (strcmp(argv[1], "late") == 0) release_late();
        if (strcmp(argv[1], "leak") == 0) { keep_forever(); cells = 0; return 0; }
        return read_cell();
    }
    """
)


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("asan")
    (folder / "cells.c").write_text(PROGRAM)
    binary = folder / "cells"
    subprocess.run(
        ["gcc", "-g", "-O0", "-fsanitize=address", "-o", str(binary), str(folder / "cells.c")],
        check=True,
    )
    return binary


def crash_of(program: Path, how: str, options: str) -> CrashRecord | None:
    output, status = run(program, how, options)
    return parse_crash(output, exit_code=status, signal=None)


def run(program: Path, how: str, options: str) -> tuple[str, int]:
    done = subprocess.run(
        [str(program), how],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ASAN_OPTIONS": options},
    )
    return done.stderr, done.returncode


def test_a_leak_report_is_parsed_and_bucketed_by_its_allocation(program: Path) -> None:
    output, status = run(program, "leak", "detect_leaks=1")
    assert "LeakSanitizer: detected memory leaks" in output and status != 0
    record = parse_crash(output, exit_code=status, signal=None)
    assert record is not None and record.asan_error == "memory-leak"
    assert record.headline.startswith("LeakSanitizer: detected memory leaks")
    assert "cells.c:keep_forever" in signature(record)
    assert crash_of(program, "leak", "detect_leaks=0") is None


def test_one_access_freed_at_two_sites_is_two_buckets(program: Path) -> None:
    early = crash_of(program, "early", "detect_leaks=0")
    late = crash_of(program, "late", "detect_leaks=0")
    assert early is not None and late is not None
    assert early.asan_error == late.asan_error == "heap-use-after-free"
    assert "free:cells.c:release_early" in signature(early)
    assert "alloc:cells.c:main" in signature(early)
    assert bucket(early) != bucket(late)
    again = crash_of(program, "early", "detect_leaks=0")
    assert again is not None and bucket(again) == bucket(early)
