"""parse_crash over a table of real captured outputs (tests/data/crashes, see capture.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runner_core.crash import CrashKind, CrashRecord, parse_crash, scan_output

DATA = Path(__file__).parent / "data" / "crashes"


def load(name: str) -> tuple[str, int]:
    meta = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return (DATA / f"{name}.out").read_text(encoding="utf-8"), meta["exit_code"]


def parse(name: str) -> CrashRecord | None:
    output, exit_code = load(name)
    return parse_crash(output, exit_code=exit_code, signal=None)


SEGV, ABRT, BUS, FPE, ILL, KILL = 11, 6, 7, 8, 4, 9

# name, kind, signal, headline, innermost relevant Python function (None: no Python frame)
CRASHES = [
    ("segv_faulthandler_script_312", CrashKind.SEGFAULT, SEGV, "Segmentation fault",
     "handle_request"),
    ("segv_ctypes_script_313", CrashKind.SEGFAULT, SEGV, "Segmentation fault", "string_at"),
    ("segv_ctypes_extension_modules_311", CrashKind.SEGFAULT, SEGV, "Segmentation fault",
     "string_at"),
    ("segv_shell_312", CrashKind.SEGFAULT, SEGV, "Segmentation fault", "string_at"),
    ("abort_script_313", CrashKind.ABORT, ABRT, "Aborted", "shutdown_hard"),
    ("abort_shell_313", CrashKind.ABORT, ABRT, "Aborted", "shutdown_hard"),
    ("fatal_error_script_312", CrashKind.FATAL_ERROR, ABRT, "jit: trace buffer corrupted",
     "trigger_fatal"),
    ("c_assert_script_312", CrashKind.C_ASSERTION, ABRT,
     "crashext.c:5: check_positive: Assertion `value > 0 && \"value must be positive\"' failed.",
     "call_native"),
    ("fpe_script_313", CrashKind.FPE, FPE, "Floating-point exception", "call_native"),
    ("sigill_script_312", CrashKind.ILLEGAL_INSTRUCTION, ILL, "Illegal instruction",
     "call_native"),
    ("bus_error_script_313", CrashKind.BUS_ERROR, BUS, "Bus error", "read_page"),
    ("asan_use_after_free_python_312", CrashKind.ASAN, None,
     "AddressSanitizer: heap-use-after-free on address 0x602000000834", None),
    ("asan_segv_c_program", CrashKind.ASAN, None, "AddressSanitizer: SEGV on unknown address",
     None),
    # faulthandler's dump first, then ASan's report of the re-raised signal
    ("asan_faulthandler_segv_312", CrashKind.ASAN, None,
     "AddressSanitizer: SEGV on unknown address", "string_at"),
    ("sigkill_script_312", CrashKind.KILLED_BY_SIGNAL, KILL, "killed by SIGKILL", None),
    ("threads_main_crashes_312", CrashKind.SEGFAULT, SEGV, "Segmentation fault", "string_at"),
    ("threads_worker_crashes_313", CrashKind.SEGFAULT, SEGV, "Segmentation fault", "string_at"),
    ("pytest_segv_311", CrashKind.SEGFAULT, SEGV, "Segmentation fault", "helper_that_crashes"),
    ("pytest_segv_shell_311", CrashKind.SEGFAULT, SEGV, "Segmentation fault", "string_at"),
    # pytest's fd capture swallowed Py_FatalError's message and dump: only the status is left
    ("pytest_fatal_error_captured_311", CrashKind.ABORT, ABRT, "Aborted", None),
    ("pytest_fatal_error_no_capture_311", CrashKind.FATAL_ERROR, ABRT,
     "jit: trace buffer corrupted", "test_fatal"),
    # ... and the assertion text, leaving faulthandler's dump
    ("pytest_c_assert_captured_311", CrashKind.ABORT, ABRT, "Aborted", "test_native_check"),
    ("pytest_c_assert_no_capture_311", CrashKind.C_ASSERTION, ABRT,
     "crashext.c:5: check_positive: Assertion `value > 0 && \"value must be positive\"' failed.",
     "test_native_check"),
    ("unittest_segv_313", CrashKind.SEGFAULT, SEGV, "Segmentation fault", "string_at"),
    ("import_segv_313", CrashKind.SEGFAULT, SEGV, "Segmentation fault", "string_at"),
    ("same_site_alpha_pytest_311", CrashKind.SEGFAULT, SEGV, "Segmentation fault", "string_at"),
    ("same_site_beta_unittest_313", CrashKind.SEGFAULT, SEGV, "Segmentation fault", "string_at"),
    ("other_site_gamma_pytest_311", CrashKind.SEGFAULT, SEGV, "Segmentation fault", "string_at"),
]  # fmt: skip

NOT_CRASHES = [
    "pytest_child_segv_test_passes_311",  # Fatal Python error in the log, exit 0
    "pytest_child_segv_test_fails_311",  # a child's dump, pytest survived and exited 1
    "pytest_faulthandler_timeout_passes_311",  # a faulthandler_timeout dump, exit 0
    "startup_fatal_error_312",  # Fatal Python error at startup, exit 1
    "pytest_exit0_311",
    "pytest_exit1_311",
    "pytest_exit2_missing_module_311",
    "pytest_exit2_import_error_311",
    "pytest_exit3_internal_error_311",
    "pytest_exit4_usage_error_311",
    "pytest_exit4_path_not_found_311",
    "pytest_exit4_conftest_import_311",
    "pytest_exit5_no_tests_311",
    "unittest_import_failure_312",
    "unittest_no_tests_312",
    "pytest_exit1_quiet_311",
    "pytest_exit1_verbose_311",
    "pytest_exit1_very_quiet_311",
    "pytest_exit1_color_311",
    "pytest_exit1_fixture_error_311",
    "unittest_failure_312",
    "stestr_failure_312",
    "stestr_import_error_312",
    "pytest_exit1_coverage_plugin_missing_312",
    "pytest_exit1_cython_coverage_ft_313t",
    "pytest_cython_coverage_plugin_ft_313t",
    "pytest_exit3_configure_error_311",
    "pytest_exit4_conftest_error_311",
    "pytest_exit1_cov_fail_under_312",
    "unittest_ran_0_setup_class_311",
    "unittest_ran_0_ok_311",
    "script_exit1_silent_313",
    "script_exit1_message_313",
    "install_pip_no_match",
    "install_pip_build_failure",
    "install_uv_no_solution",
    "install_uv_build_failure",
    "import_missing_module_312",
    "import_error_name_313",
    "import_error_shared_library_312",
    "source_git_clone_missing",  # exit 128 is git's fatal, not a signal
    "source_git_bad_branch",
    "source_git_bad_ref",
]


def test_every_capture_is_in_a_table() -> None:
    captured = {p.stem for p in DATA.glob("*.json")}
    assert captured == {row[0] for row in CRASHES} | set(NOT_CRASHES)


@pytest.mark.parametrize(("name", "kind", "signal", "headline", "function"), CRASHES)
def test_crash_table(
    name: str, kind: CrashKind, signal: int | None, headline: str, function: str | None
) -> None:
    record = parse(name)
    assert record is not None
    assert record.kind is kind
    assert record.signal == signal
    if kind is CrashKind.C_ASSERTION:
        assert record.headline.endswith(headline)
        assert record.assertion == record.headline
    else:
        assert record.headline.startswith(headline)
    python = [f.function for f in record.python_frames]
    assert (python[0] if python else None) == function


@pytest.mark.parametrize("name", NOT_CRASHES)
def test_not_a_crash(name: str) -> None:
    assert parse(name) is None


def test_fatal_python_error_with_a_normal_exit_is_no_crash() -> None:
    # The reference tool's defect: "Fatal Python error" on stderr with exit 0 counted.
    output, _ = load("fatal_error_script_312")
    assert parse_crash(output, exit_code=0, signal=None) is None
    assert parse_crash(output, exit_code=1, signal=None) is None
    assert parse_crash(output, exit_code=None, signal=6) is not None


def test_asan_report_counts_with_exit_1_but_not_with_exit_0() -> None:
    output, exit_code = load("asan_use_after_free_python_312")
    assert exit_code == 1
    record = parse_crash(output, exit_code=1, signal=None)
    assert record is not None
    assert record.asan_error == "heap-use-after-free"
    assert parse_crash(output, exit_code=0, signal=None) is None
    aborted = parse_crash(output, exit_code=-6, signal=None)  # ASAN_OPTIONS=abort_on_error=1
    assert aborted is not None
    assert aborted.kind is CrashKind.ASAN
    assert aborted.signal == 6


def test_asan_native_frames() -> None:
    record = parse("asan_use_after_free_python_312")
    assert record is not None
    first = record.c_frames[0]
    assert (first.index, first.function, first.line) == (0, "read_after_free", 17)
    assert first.file is not None
    assert first.file.endswith("/crashext.c")
    unsymbolised = record.c_frames[1]
    assert unsymbolised.function is None
    assert unsymbolised.binary == "/lib/x86_64-linux-gnu/libffi.so.8"
    assert unsymbolised.offset == "0x6f79"
    # only the faulting access's stack, not where the memory was freed or allocated
    assert [f.index for f in record.c_frames] == list(range(len(record.c_frames)))
    assert "__interceptor_free" not in {f.function for f in record.c_frames}

    program = parse("asan_segv_c_program")
    assert program is not None
    assert program.asan_error == "SEGV"
    assert [f.function for f in program.c_frames][:2] == ["read_value", "main"]


@pytest.mark.parametrize(
    ("name", "status_forms"),
    [
        ("segv_ctypes_script_313", [(-11, None), (139, None), (None, 11), (-11, 11)]),
        ("abort_script_313", [(-6, None), (134, None), (None, 6)]),
        ("c_assert_script_312", [(-6, None), (134, None), (None, 6)]),
        ("bus_error_script_313", [(-7, None), (135, None), (None, 7)]),
    ],
)
def test_every_form_of_the_same_status_reads_the_same(
    name: str, status_forms: list[tuple[int | None, int | None]]
) -> None:
    output, _ = load(name)
    records = [parse_crash(output, exit_code=e, signal=s) for e, s in status_forms]
    assert all(r is not None for r in records)
    keys = {(r.kind, r.signal, r.headline, tuple(r.python_frames)) for r in records if r}
    assert len(keys) == 1


def test_a_dump_that_disagrees_with_the_signal_is_not_trusted() -> None:
    output, _ = load("segv_ctypes_script_313")
    record = parse_crash(output, exit_code=-9, signal=None)
    assert record is not None
    assert record.kind is CrashKind.KILLED_BY_SIGNAL
    assert record.python_frames == []


def test_a_child_dump_before_the_runner_summary_is_not_the_runners_crash() -> None:
    # pytest printed its summary after the child's dump, then something killed it
    output, _ = load("pytest_child_segv_test_fails_311")
    record = parse_crash(output, exit_code=-11, signal=None)
    assert record is not None
    assert record.python_frames == []
    child = scan_output(output)
    assert child is not None
    assert child.kind is CrashKind.SEGFAULT
    assert [f.function for f in child.python_frames] == ["string_at", "<module>"]


def test_threads_while_crashing() -> None:
    main = parse("threads_main_crashes_312")
    assert main is not None
    assert [f.function for f in main.python_frames] == ["string_at", "crash_in_main", "<module>"]
    assert main.current_thread_id is not None
    assert main.current_thread_id.startswith("0x")
    assert len(main.other_threads) == 2
    running = {f.function for t in main.other_threads for f in t.frames}
    assert {"spin_cpu", "poll_queue", "_bootstrap"} <= running
    assert all(not t.current for t in main.other_threads)

    worker = parse("threads_worker_crashes_313")
    assert worker is not None
    assert [f.function for f in worker.python_frames][:2] == ["string_at", "decode_in_worker"]
    (waiting,) = worker.other_threads
    assert waiting.frames[0].function == "join"


def test_frames_extension_modules_and_runtime_state() -> None:
    record = parse("segv_ctypes_extension_modules_311")
    assert record is not None
    assert record.extension_modules == ["yaml._yaml"]
    top = record.python_frames[0]
    assert top.file.endswith("/ctypes/__init__.py")
    assert top.line == 519
    fatal = parse("fatal_error_script_312")
    assert fatal is not None
    assert fatal.runtime_state == "initialized"
    assert fatal.fatal_error == "jit: trace buffer corrupted"


def test_output_truncated_at_the_head() -> None:
    output, exit_code = load("pytest_segv_311")
    full = parse_crash(output, exit_code=exit_code, signal=None)
    start = output.index("Fatal Python error")
    kept = parse_crash(output[start:], exit_code=exit_code, signal=None)
    assert full == kept
    # cut inside the frames: the kind still comes from the status
    cut = parse_crash(output[start + 300 :], exit_code=exit_code, signal=None)
    assert cut is not None
    assert cut.kind is CrashKind.SEGFAULT


def test_record_is_json_serialisable() -> None:
    for name, *_ in CRASHES:
        record = parse(name)
        assert record is not None
        again = CrashRecord.model_validate_json(record.model_dump_json())
        assert again == record
        assert json.loads(record.model_dump_json())["kind"] == record.kind.value


# No 3.14 interpreter exists on this machine: these two dumps follow the format CPython
# 3.14's faulthandler documentation shows (thread names, the C stack, free-threading).
PY314_C_STACK = """\
Fatal Python error: Segmentation fault

Current thread 0x00007fb899f39700 [python3] (most recent call first):
  File "/opt/python/Lib/ctypes/__init__.py", line 486 in string_at
  File "/src/pkg/tests/test_x.py", line 7 in test_segv

Current thread's C stack trace (most recent call first):
  Binary file "/opt/python/python", at _Py_DumpStack+0x42 [0x5b27f7d7147e]
  Binary file "/opt/python/python", at +0x32dcbd [0x5b27f7d85cbd]
  Binary file "/usr/lib/libc.so.6", at +0x3def0 [0x77b73226bef0]
  Binary file "/usr/lib/libffi.so.8", at ffi_call+0x12e [0x77b73158ef0e]
  <truncated rest of calls>

Extension modules: yaml._yaml (total: 1)
"""

PY314_FREE_THREADED = """\
Fatal Python error: Segmentation fault

<Cannot show all threads while the GIL is disabled>
Stack (most recent call first):
  File "/usr/lib/python3.14t/ctypes/__init__.py", line 590 in string_at
  File "/src/tests/test_b.py", line 9 in test_reads

Current thread's C stack trace (most recent call first):
  Binary file "/usr/bin/python3.14t", at _Py_DumpStack+0x30 [0x4b53b0]
"""


def test_python_314_c_stack() -> None:
    record = parse_crash(PY314_C_STACK, exit_code=-11, signal=None)
    assert record is not None
    assert [f.function for f in record.python_frames] == ["string_at", "test_segv"]
    assert [(f.function, f.offset) for f in record.c_frames] == [
        ("_Py_DumpStack", "+0x42"),
        (None, "+0x32dcbd"),
        (None, "+0x3def0"),
        ("ffi_call", "+0x12e"),
    ]
    assert record.c_frames[3].binary == "/usr/lib/libffi.so.8"
    assert record.extension_modules == ["yaml._yaml"]


def test_python_314_free_threaded_stack() -> None:
    record = parse_crash(PY314_FREE_THREADED, exit_code=-11, signal=None)
    assert record is not None
    assert [f.function for f in record.python_frames] == ["string_at", "test_reads"]
    assert record.other_threads == []
