"""The outcome classifier over a table of real exit statuses and real captured output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from normalized_events import Outcome
from runner_core.crash import CrashKind, bucket
from runner_core.outcomes import (
    StepStatus,
    Verdict,
    classify,
    classify_import,
    classify_install,
    classify_test,
    missing_modules,
)

DATA = Path(__file__).parent / "data" / "crashes"


def load(name: str) -> tuple[str, int]:
    meta = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return (DATA / f"{name}.out").read_text(encoding="utf-8"), meta["exit_code"]


def verdict_of(name: str, framework: str = "pytest", **status: Any) -> Verdict:
    output, exit_code = load(name)
    return classify_test(StepStatus(exit_code=exit_code, **status), output, framework)


NO_COVERAGE_PLUGINS = (
    "Installed 'coverage' does not support plugins."
    " See https://coverage.readthedocs.io/en/latest/install.html#c-extension"
)

TEST_STEP = [
    # name, framework, outcome, reason
    ("pytest_exit0_311", "pytest", Outcome.PASS, "2 passed"),
    ("pytest_exit1_311", "pytest", Outcome.FAIL, "1 failed, 1 passed"),
    ("pytest_exit2_missing_module_311", "pytest", Outcome.CONFIG_ERROR,
     "missing module: xmlschema"),
    ("pytest_exit2_import_error_311", "pytest", Outcome.CONFIG_ERROR,
     "collection error: ImportError: cannot import name 'no_such_name' from 'json'"
     " (__init__.py)"),
    ("pytest_exit3_internal_error_311", "pytest", Outcome.CONFIG_ERROR,
     "pytest internal error: RuntimeError: plugin state is inconsistent"),
    ("pytest_exit4_usage_error_311", "pytest", Outcome.CONFIG_ERROR,
     "usage error: unrecognized arguments: --no-such-option"),
    ("pytest_exit4_path_not_found_311", "pytest", Outcome.CONFIG_ERROR,
     "file or directory not found: testsuite"),
    ("pytest_exit4_conftest_import_311", "pytest", Outcome.CONFIG_ERROR,
     "missing module: tomli_w"),
    ("pytest_exit5_no_tests_311", "pytest", Outcome.CONFIG_ERROR, "no tests collected"),
    ("unittest_import_failure_312", "unittest", Outcome.CONFIG_ERROR,
     "missing module: xmlschema"),
    ("unittest_no_tests_312", "unittest", Outcome.CONFIG_ERROR, "no tests collected"),
    # "Fatal Python error" in the log of a passing run: a test checked a child's crash
    ("pytest_child_segv_test_passes_311", "pytest", Outcome.PASS, "1 passed"),
    ("pytest_faulthandler_timeout_passes_311", "pytest", Outcome.PASS, "1 passed"),
    # ... and in the log of a failed run: the crash is the finding
    ("pytest_child_segv_test_fails_311", "pytest", Outcome.CRASH,
     "1 failed; a child process crashed: Segmentation fault in ctypes/__init__.py:string_at,"
     " <string>:<module>"),
    ("startup_fatal_error_312", "pytest", Outcome.CONFIG_ERROR,
     "the interpreter could not start: init_fs_encoding: failed to get the Python codec of the"
     " filesystem encoding"),
    ("pytest_segv_311", "pytest", Outcome.CRASH,
     "Segmentation fault in test_parser.py:helper_that_crashes, test_parser.py:test_crashes"),
    ("pytest_segv_shell_311", "pytest", Outcome.CRASH,
     "Segmentation fault in ctypes/__init__.py:string_at, test_read.py:test_read"),
    ("pytest_fatal_error_captured_311", "pytest", Outcome.CRASH, "Aborted"),
    ("pytest_fatal_error_no_capture_311", "pytest", Outcome.CRASH,
     "jit: trace buffer corrupted in test_fatal.py:test_fatal"),
    ("pytest_c_assert_captured_311", "pytest", Outcome.CRASH,
     "Aborted in test_native.py:test_native_check"),
    ("pytest_c_assert_no_capture_311", "pytest", Outcome.CRASH,
     "crashext.c:5: check_positive: Assertion `value > 0 && \"value must be positive\"'"
     " failed. in test_native.py:test_native_check"),
    ("unittest_segv_313", "unittest", Outcome.CRASH,
     "Segmentation fault in ctypes/__init__.py:string_at, test_reader.py:test_reads_null"),
    ("asan_use_after_free_python_312", "other", Outcome.CRASH,
     "AddressSanitizer: heap-use-after-free in crashext.c:read_after_free, libffi.so.8:ffi_call"),
    ("asan_segv_c_program", "pytest", Outcome.CRASH,
     "AddressSanitizer: SEGV in read_null.c:read_value, read_null.c:main"),
    ("asan_faulthandler_segv_312", "other", Outcome.CRASH,
     "AddressSanitizer: SEGV in _ctypes.c:string_at, libffi.so.8:ffi_call"),
    ("segv_shell_312", "other", Outcome.CRASH,
     "Segmentation fault in ctypes/__init__.py:string_at, crash_script.py:read_header"),
    ("abort_shell_313", "other", Outcome.CRASH,
     "Aborted in crash_script.py:shutdown_hard, crash_script.py:<module>"),
    ("bus_error_script_313", "other", Outcome.CRASH,
     "Bus error in crash_script.py:read_page, crash_script.py:<module>"),
    ("fpe_script_313", "other", Outcome.CRASH,
     "Floating-point exception in native_script.py:call_native, native_script.py:<module>"),
    ("sigill_script_312", "other", Outcome.CRASH,
     "Illegal instruction in native_script.py:call_native, native_script.py:<module>"),
    ("sigkill_script_312", "other", Outcome.CRASH, "killed by SIGKILL"),
    ("threads_worker_crashes_313", "other", Outcome.CRASH,
     "Segmentation fault in ctypes/__init__.py:string_at, crash_script.py:decode_in_worker"),
    # fail needs the runner's own word that tests ran and failed
    ("pytest_exit1_quiet_311", "pytest", Outcome.FAIL, "1 failed, 1 passed"),
    ("pytest_exit1_verbose_311", "pytest", Outcome.FAIL, "1 failed, 1 passed"),
    ("pytest_exit1_very_quiet_311", "pytest", Outcome.FAIL, "1 failed"),  # no closing line
    ("pytest_exit1_color_311", "pytest", Outcome.FAIL, "1 failed, 1 passed"),
    ("pytest_exit1_fixture_error_311", "pytest", Outcome.FAIL, "1 passed, 1 error"),
    ("unittest_failure_312", "unittest", Outcome.FAIL, "FAILED (failures=1)"),
    ("stestr_failure_312", "stestr", Outcome.FAIL, "Ran: 2 tests, Failed: 1"),
    ("stestr_import_error_312", "stestr", Outcome.CONFIG_ERROR, "missing module: xmlschema"),
    # ... and whatever else stopped the run before any test is no verdict on the tests:
    # on a real free-threaded 3.13.5, coverage has no C tracer and Cython's plugin refuses
    ("pytest_exit1_cython_coverage_ft_313t", "pytest", Outcome.CONFIG_ERROR,
     f"ImportError: {NO_COVERAGE_PLUGINS}"),
    ("pytest_cython_coverage_plugin_ft_313t", "pytest", Outcome.CONFIG_ERROR,
     f"plugin Cython.Coverage could not load: ImportError: {NO_COVERAGE_PLUGINS}"),
    ("pytest_exit1_coverage_plugin_missing_312", "pytest", Outcome.CONFIG_ERROR,
     "missing module: covdefaults"),
    ("pytest_exit3_configure_error_311", "pytest", Outcome.CONFIG_ERROR,
     "pytest internal error: RuntimeError: the line tracer needs a build with the C tracer"),
    ("pytest_exit4_conftest_error_311", "pytest", Outcome.CONFIG_ERROR,
     "conftest: RuntimeError: DJANGO_SETTINGS_MODULE is not set"),
    ("pytest_exit1_cov_fail_under_312", "pytest", Outcome.CONFIG_ERROR,
     "1 passed, but Required test coverage of 90% not reached. Total coverage: 75.00%"),
    ("unittest_ran_0_setup_class_311", "unittest", Outcome.CONFIG_ERROR,
     "no tests ran: RuntimeError: database server not reachable at 127.0.0.1:5432"),
    ("unittest_ran_0_ok_311", "unittest", Outcome.CONFIG_ERROR, "no tests ran"),
    ("script_exit1_silent_313", "custom", Outcome.CONFIG_ERROR,
     "exit status 1 without a test summary"),
    ("script_exit1_message_313", "custom", Outcome.CONFIG_ERROR,
     "exit status 1 without a test summary: runtests: no test data in testdata, run"
     " fetch_data.py first"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "framework", "outcome", "reason"), TEST_STEP)
def test_test_step_table(name: str, framework: str, outcome: Outcome, reason: str) -> None:
    verdict = verdict_of(name, framework)
    assert (verdict.outcome, verdict.reason) == (outcome, reason)
    assert (verdict.crash is not None) == (outcome is Outcome.CRASH)


def test_a_quoted_fatal_message_in_a_failure_is_no_child_crash() -> None:
    output, _ = load("pytest_exit1_311")
    quoted = output.replace(
        "E       assert (1 + 1) == 3",
        'E       assert "Fatal Python error: Segmentation fault" in proc.stderr',
    )
    assert quoted != output
    verdict = classify_test(StepStatus(exit_code=1), quoted)
    assert (verdict.outcome, verdict.reason) == (Outcome.FAIL, "1 failed, 1 passed")


def test_a_child_that_cannot_start_is_no_config_error() -> None:
    startup, _ = load("startup_fatal_error_312")
    output, _ = load("pytest_exit1_311")
    child = output.replace("tests/test_fail.py:5: AssertionError", startup)
    verdict = classify_test(StepStatus(exit_code=1), child)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.reason == (
        "1 failed, 1 passed; Fatal Python error: init_fs_encoding: failed to get the Python"
        " codec of the filesystem encoding"
    )


def test_keyword_form_matches() -> None:
    output, exit_code = load("pytest_segv_311")
    assert classify(exit_code=exit_code, output=output) == classify_test(
        StepStatus(exit_code=exit_code), output
    )
    assert classify(exit_code=None, signal=11, output=output).outcome is Outcome.CRASH


def test_the_harness_stopping_the_process_wins() -> None:
    # a killed process's output with a dump in it is still a timeout or a hang
    assert verdict_of("threads_main_crashes_312", timed_out=True).outcome is Outcome.TIMEOUT
    assert verdict_of("pytest_segv_311", idle_timed_out=True).outcome is Outcome.HANG
    assert verdict_of("sigkill_script_312", timed_out=True, idle_timed_out=True).outcome is (
        Outcome.TIMEOUT
    )


def test_oom() -> None:
    killed = verdict_of("sigkill_script_312", oom_suspected=True)
    assert (killed.outcome, killed.reason) == (Outcome.OOM, "memory ran out (SIGKILL)")
    # a real crash report beats the suspicion
    assert verdict_of("pytest_segv_311", oom_suspected=True).outcome is Outcome.CRASH
    assert verdict_of("asan_segv_c_program", oom_suspected=True).outcome is Outcome.CRASH
    # a runner that printed its summary finished on its own
    assert verdict_of("pytest_exit1_311", oom_suspected=True).outcome is Outcome.FAIL
    assert verdict_of("pytest_exit0_311", oom_suspected=True).outcome is Outcome.PASS
    # SIGABRT with nothing printed under memory pressure: the allocator gave up
    aborted = verdict_of("pytest_fatal_error_captured_311", oom_suspected=True)
    assert aborted.outcome is Outcome.OOM


def test_asan_allocation_failure_is_oom_when_memory_ran_out() -> None:
    output, _ = load("asan_segv_c_program")
    output = output.replace("SEGV", "out-of-memory")
    verdict = classify_test(StepStatus(exit_code=1, oom_suspected=True), output)
    assert verdict.outcome is Outcome.OOM


def test_no_status_is_a_harness_error() -> None:
    verdict = classify_test(StepStatus(exit_code=None), "")
    assert verdict.outcome is Outcome.ERROR


def test_other_frameworks_fail_only_on_a_summary_with_failures() -> None:
    # no pytest exit codes for a custom runner, but pytest's own "no tests ran" still counts
    output, _ = load("pytest_exit5_no_tests_311")
    verdict = classify_test(StepStatus(exit_code=5), output, "custom")
    assert (verdict.outcome, verdict.reason) == (Outcome.CONFIG_ERROR, "no tests ran")
    output, _ = load("pytest_exit1_311")
    verdict = classify_test(StepStatus(exit_code=1), output, "custom")
    assert (verdict.outcome, verdict.reason) == (Outcome.FAIL, "1 failed, 1 passed")


def test_a_summary_without_failures_is_no_fail() -> None:
    output, _ = load("pytest_exit0_311")
    verdict = classify_test(StepStatus(exit_code=1), output)
    assert verdict.outcome is Outcome.CONFIG_ERROR
    assert verdict.reason == "2 passed, then exit status 1"


def test_a_child_crash_in_a_failed_run_is_a_crash() -> None:
    # a custom script whose subprocess died: a crash report is evidence enough
    child, _ = load("segv_faulthandler_script_312")
    verdict = classify_test(StepStatus(exit_code=1), "running the suite\n" + child, "custom")
    assert verdict.outcome is Outcome.CRASH
    assert verdict.crash is not None and verdict.crash.kind is CrashKind.SEGFAULT
    assert verdict.reason is not None
    assert verdict.reason.startswith("exit status 1; a child process crashed: Segmentation fault")
    # ... unless it is a child that could not start (a test gave it a broken environment)
    startup, _ = load("startup_fatal_error_312")
    failed = "tests/test_x.py F\n" + startup + "\n=== 1 failed in 0.1s ===\n"
    verdict = classify_test(StepStatus(exit_code=1), failed)
    assert verdict.outcome is Outcome.FAIL, verdict.reason


def test_crash_verdict_carries_the_record_and_its_info() -> None:
    verdict = verdict_of("same_site_alpha_pytest_311")
    assert verdict.crash is not None
    info = verdict.crash_info
    assert info is not None
    assert info.bucket == bucket(verdict.crash)
    assert verdict_of("pytest_exit1_311").crash_info is None


def test_missing_modules() -> None:
    output, _ = load("pytest_exit2_missing_module_311")
    assert missing_modules(output) == ["xmlschema"]
    two = output + "\nE   ModuleNotFoundError: No module named 'numpy.core'\n"
    verdict = classify_test(StepStatus(exit_code=2), two)
    assert verdict.reason == "missing modules: xmlschema, numpy.core"


def test_reasons_are_one_short_line() -> None:
    for name, framework, *_ in TEST_STEP:
        reason = verdict_of(name, framework).reason
        assert reason is not None
        assert "\n" not in reason
        assert len(reason) <= 200


INSTALL = [
    ("install_pip_no_match", "No matching distribution found for fastjsonschema-ext"),
    ("install_uv_no_solution",
     "no solution found: fastjsonschema-ext was not found in the provided package locations"
     " and you require fastjsonschema-ext>=2"),
    ("install_pip_build_failure",
     "build failed for brokenext: src/speedups.c:2:10: fatal error: missing_dependency/api.h:"
     " No such file or directory"),
    ("install_uv_build_failure",
     "build failed for brokenext: src/speedups.c:2:10: fatal error: missing_dependency/api.h:"
     " No such file or directory"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "reason"), INSTALL)
def test_install_table(name: str, reason: str) -> None:
    output, exit_code = load(name)
    verdict = classify_install(StepStatus(exit_code=exit_code), output)
    assert (verdict.outcome, verdict.reason) == (Outcome.INSTALL_ERROR, reason)


def test_install_other_endings() -> None:
    output, _ = load("install_pip_build_failure")
    died = classify_install(StepStatus(exit_code=-11), output)
    assert (died.outcome, died.reason) == (
        Outcome.INSTALL_ERROR,
        "the installer died: Segmentation fault",
    )
    slow = classify_install(StepStatus(exit_code=-9, timed_out=True), output)
    assert (slow.outcome, slow.reason) == (Outcome.INSTALL_ERROR, "install timed out")
    assert classify_install(StepStatus(exit_code=0), "").outcome is Outcome.PASS


IMPORT = [
    ("import_missing_module_312", Outcome.IMPORT_ERROR,
     "ModuleNotFoundError: No module named 'wrongname'"),
    ("import_error_name_313", Outcome.IMPORT_ERROR,
     "ImportError: cannot import name 'run' from 'mypkg.core' (core.py)"),
    ("import_error_shared_library_312", Outcome.IMPORT_ERROR,
     "OSError: libapiary-missing.so.1: cannot open shared object file: No such file or"
     " directory"),
    ("import_segv_313", Outcome.CRASH,
     "crashed during the import check: Segmentation fault in ctypes/__init__.py:string_at,"
     " crashy/__init__.py:_init"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "outcome", "reason"), IMPORT)
def test_import_table(name: str, outcome: Outcome, reason: str) -> None:
    output, exit_code = load(name)
    verdict = classify_import(StepStatus(exit_code=exit_code), output)
    assert (verdict.outcome, verdict.reason) == (outcome, reason)
    if outcome is Outcome.CRASH:
        assert verdict.crash is not None
        assert verdict.crash.kind is CrashKind.SEGFAULT
