"""Signatures and buckets over real captured crashes: same site, same bucket; else not."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from normalized_events import CrashInfo
from runner_core.crash import (
    CrashRecord,
    PythonFrame,
    bucket,
    crash_info,
    describe,
    is_harness_frame,
    normalise,
    parse_crash,
    signature,
    top_frames,
)
from runner_core.crash.hang import ProcessStacks, hang_record

DATA = Path(__file__).parent / "data" / "crashes"


def load(name: str) -> tuple[str, int]:
    meta = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return (DATA / f"{name}.out").read_text(encoding="utf-8"), meta["exit_code"]


def record_of(output: str, exit_code: int) -> CrashRecord:
    record = parse_crash(output, exit_code=exit_code, signal=None)
    assert record is not None
    return record


def parse(name: str) -> CrashRecord:
    return record_of(*load(name))


STRING_AT = "ctypes/__init__.py:string_at"

SIGNATURES = [
    ("segv_faulthandler_script_312",
     "segfault | Segmentation fault | crash_script.py:handle_request | crash_script.py:<module>"),
    ("segv_ctypes_script_313",
     f"segfault | Segmentation fault | {STRING_AT} | crash_script.py:read_header"
     " | crash_script.py:<module>"),
    ("abort_shell_313",
     "abort | Aborted | crash_script.py:shutdown_hard | crash_script.py:<module>"),
    ("fatal_error_script_312",
     "fatal_error | jit: trace buffer corrupted | crash_script.py:trigger_fatal"
     " | crash_script.py:<module>"),
    ("c_assert_script_312",
     "c_assertion | crashext.c:N: check_positive: Assertion `value > 0 && \"value must be"
     " positive\"' failed. | native_script.py:call_native | native_script.py:<module>"),
    ("asan_use_after_free_python_312",
     "asan:heap-use-after-free | AddressSanitizer: heap-use-after-free on address 0x? at pc"
     " 0x? bp 0x? sp 0x? | crashext.c:read_after_free | libffi.so.8:ffi_call"
     " | callproc.c:_call_function_pointer | free:crashext.c:read_after_free"
     " | alloc:crashext.c:read_after_free"),
    ("asan_segv_c_program",
     "asan:SEGV | AddressSanitizer: SEGV on unknown address 0x? (pc 0x? bp 0x? sp 0x? T?)"
     " | read_null.c:read_value | read_null.c:main"),
    ("asan_faulthandler_segv_312",
     "asan:SEGV | AddressSanitizer: SEGV on unknown address 0x? (pc 0x? bp 0x? sp 0x? T?)"
     " | _ctypes.c:string_at | libffi.so.8:ffi_call | callproc.c:_call_function_pointer"),
    ("sigkill_script_312", "killed_by_signal | killed by SIGKILL"),
    ("pytest_segv_311",
     "segfault | Segmentation fault | test_parser.py:helper_that_crashes"
     " | test_parser.py:test_crashes"),
    ("pytest_fatal_error_captured_311", "abort | Aborted"),
    ("unittest_segv_313",
     f"segfault | Segmentation fault | {STRING_AT} | test_reader.py:test_reads_null"),
    ("import_segv_313",
     f"segfault | Segmentation fault | {STRING_AT} | crashy/__init__.py:_init"
     " | crashy/__init__.py:<module>"),
    ("same_site_alpha_pytest_311",
     f"segfault | Segmentation fault | {STRING_AT} | core.py:_deref | core.py:_walk"),
    ("other_site_gamma_pytest_311",
     f"segfault | Segmentation fault | {STRING_AT} | core.py:_scan_block | core.py:scan"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "expected"), SIGNATURES)
def test_signature_table(name: str, expected: str) -> None:
    assert signature(parse(name)) == expected


# Each crash site gets a label: captures with the same label must share a bucket, and
# captures with different labels must not.
SITES = {
    # one script run by 3.13, by 3.12 through `sh -c`, and by the 3.11 venv with yaml loaded
    "segv_ctypes_script_313": "read_header",
    "segv_shell_312": "read_header",
    "segv_ctypes_extension_modules_311": "read_header",
    # the same os.abort() site, direct and through a shell
    "abort_script_313": "shutdown_hard",
    "abort_shell_313": "shutdown_hard",
    # crashsite.parse -> _deref from two packages, two runners, two interpreters, two dirs
    "same_site_alpha_pytest_311": "crashsite._deref",
    "same_site_beta_unittest_313": "crashsite._deref",
    # everything else is a site of its own
    "other_site_gamma_pytest_311": "crashsite._scan_block",
    "segv_faulthandler_script_312": "handle_request",
    "fatal_error_script_312": "trigger_fatal",
    "c_assert_script_312": "check_positive assert",
    "fpe_script_313": "divide",
    "sigill_script_312": "trap",
    "bus_error_script_313": "read_page",
    "asan_use_after_free_python_312": "read_after_free",
    "asan_segv_c_program": "read_value",
    "asan_faulthandler_segv_312": "string_at under ASan",
    "sigkill_script_312": "sigkill",
    "threads_main_crashes_312": "crash_in_main",
    "threads_worker_crashes_313": "decode_in_worker",
    "pytest_segv_311": "helper_that_crashes",
    "pytest_segv_shell_311": "test_read",
    "pytest_fatal_error_captured_311": "fatal lost to capture",
    "pytest_fatal_error_no_capture_311": "test_fatal",
    "pytest_c_assert_captured_311": "assert lost to capture",
    "pytest_c_assert_no_capture_311": "test_native_check assert",
    "unittest_segv_313": "test_reads_null",
    "import_segv_313": "crashy._init",
}


def test_same_site_same_bucket_different_sites_never() -> None:
    buckets = {name: bucket(parse(name)) for name in SITES}
    for a, site_a in SITES.items():
        for b, site_b in SITES.items():
            assert (buckets[a] == buckets[b]) == (site_a == site_b), (a, b)


def test_two_packages_reaching_one_site_share_a_bucket() -> None:
    alpha = parse("same_site_alpha_pytest_311")
    beta = parse("same_site_beta_unittest_313")
    gamma = parse("other_site_gamma_pytest_311")
    # really different runs: directories, interpreters, test runners, line numbers
    assert alpha.python_frames[0].file != beta.python_frames[0].file
    assert alpha.python_frames[1].file != beta.python_frames[1].file
    assert alpha.python_frames[0].line != beta.python_frames[0].line
    assert bucket(alpha) == bucket(beta)
    assert bucket(alpha) != bucket(gamma)


def test_bucket_is_short_hex_and_stable() -> None:
    record = parse("same_site_alpha_pytest_311")
    assert re.fullmatch(r"[0-9a-f]{12}", bucket(record))
    # pinned: a bucket must not change between apiary versions without a reason
    assert bucket(record) == "e3edc2229ea8"


def test_harness_frames_are_skipped() -> None:
    for name in ("pytest_segv_311", "unittest_segv_313", "import_segv_313"):
        record = parse(name)
        harness = [f for f in record.python_frames if is_harness_frame(f)]
        assert harness, name
        for token in top_frames(record, 100):
            assert not re.search(r"pluggy|_pytest|runner\.py|runpy|case\.py|_bootstrap", token)


@pytest.mark.parametrize(
    ("path", "harness"),
    [
        ("/work/.venv/lib/python3.11/site-packages/_pytest/python.py", True),
        ("/venv/lib/python3.12/site-packages/pluggy/_callers.py", True),
        ("/venv/lib/python3.12/site-packages/pytest_asyncio/plugin.py", True),
        ("/venv/lib/python3.12/site-packages/xdist/remote.py", True),
        ("<frozen runpy>", True),
        ("<frozen importlib._bootstrap>", True),
        ("/usr/lib/python3.8/runpy.py", True),
        ("/root/.pyenv/versions/3.13.0/lib/python3.13/unittest/case.py", True),
        ("/home/me/cpython/Lib/importlib/__init__.py", True),
        ("/work/main/packages/runner-core/src/runner_core/steps.py", True),
        # the evidence agent apiary puts into every test venv
        ("/venv/lib/python3.13/site-packages/_apiary_evidence.py", True),
        # code under test, even when its folders have a tool's name
        ("/src/pkg/tests/unittest/test_x.py", False),
        ("/home/u/.cache/apiary/sources/pkg/tests/test_x.py", False),
        ("/venv/lib/python3.12/site-packages/pytestqt_like/core.py", False),
        ("/venv/lib/python3.12/site-packages/yaml/__init__.py", False),
        ("/root/.pyenv/versions/3.12.1/lib/python3.12/ctypes/__init__.py", False),
    ],
)
def test_harness_frame_rules(path: str, harness: bool) -> None:
    assert is_harness_frame(PythonFrame(file=path, line=1, function="f")) is harness


def test_masking() -> None:
    assert (
        normalise("==11969==ERROR: AddressSanitizer: SEGV on unknown address 0x000000000000 "
                  "(pc 0x55767689d1a0 bp 0x7ffd3057a390 sp 0x7ffd3057a380 T0)")
        == "==PID==ERROR: AddressSanitizer: SEGV on unknown address 0x? (pc 0x? bp 0x? sp 0x? T?)"
    )  # fmt: skip
    assert (
        normalise("/tmp/apiary-capture-01d1vmhb/crashext.c:5: check_positive: failed.")
        == "crashext.c:N: check_positive: failed."
    )
    assert normalise('File "/tmp/tmpab12cd/x.py", line 12') == 'File "x.py", line N'
    assert normalise("cannot open /tmp/tmpq8z_3k1x") == "cannot open tmp?"
    assert normalise("Python/optimizer.c:1234:7: bad  state") == "Python/optimizer.c:N: bad state"


def _rewritten(text: str, old_dir: str, new_dir: str) -> str:
    text = text.replace(old_dir, new_dir)
    text = re.sub(r"0x[0-9a-f]+", lambda m: hex(int(m.group(), 16) ^ 0x5A5A0), text)
    return re.sub(r"line (\d+)", lambda m: f"line {int(m.group(1)) + 40}", text)


def test_paths_addresses_and_line_numbers_do_not_move_a_bucket() -> None:
    output, exit_code = load("same_site_alpha_pytest_311")
    meta = json.loads((DATA / "same_site_alpha_pytest_311.json").read_text())
    moved = _rewritten(output, meta["cwd"], "/home/ci/builds/7731/pkg-alpha-2.0")
    assert moved != output
    assert bucket(record_of(moved, exit_code)) == bucket(record_of(output, exit_code))

    output, exit_code = load("asan_use_after_free_python_312")
    moved = re.sub(r"==\d+==", "==424242==", output.replace("/tmp/apiary-capture-", "/var/x-"))
    moved = _rewritten(moved, "/lib/x86_64", "/lib/x86_64")
    assert bucket(record_of(moved, exit_code)) == bucket(record_of(output, exit_code))


def test_a_different_crash_function_moves_the_bucket() -> None:
    output, exit_code = load("same_site_alpha_pytest_311")
    other = output.replace(" in _deref", " in _deref_fast")
    assert bucket(record_of(other, exit_code)) != bucket(record_of(output, exit_code))
    # ... and so does a different kind at the same site
    aborted = output.replace("Segmentation fault", "Aborted")
    assert bucket(record_of(aborted, -6)) != bucket(record_of(output, exit_code))


def test_native_frames_when_no_python_frame() -> None:
    dump = """\
Fatal Python error: Segmentation fault

Current thread 0x00007fb899f39700 [worker] (most recent call first):
  <no Python frame>

Current thread's C stack trace (most recent call first):
  Binary file "/opt/python/python", at _Py_DumpStack+0x42 [0x5b27f7d7147e]
  Binary file "/opt/python/python", at faulthandler_fatal_error+0x1a [0x5b27f7d85cbd]
  Binary file "/usr/lib/libc.so.6", at +0x3def0 [0x77b73226bef0]
  Binary file "/opt/python/python", at _PyJIT_Compile+0x8a [0x5b27f7d86000]
  Binary file "/opt/python/python", at _PyOptimizer_Optimize+0x31 [0x5b27f7d87000]
"""
    record = record_of(dump, -11)
    assert top_frames(record) == ["python:_PyJIT_Compile", "python:_PyOptimizer_Optimize"]


def test_describe_and_crash_info() -> None:
    record = parse("same_site_beta_unittest_313")
    assert describe(record) == f"Segmentation fault in {STRING_AT}, core.py:_deref"
    info = crash_info(record, reproducible=True, stderr_path="crashes/beta/output.txt")
    assert isinstance(info, CrashInfo)
    assert info.kind == "segfault"
    assert info.signal == 11
    assert info.bucket == bucket(record)
    assert info.signature == signature(record)
    assert info.frames == [STRING_AT, "core.py:_deref", "core.py:_walk"]
    assert info.reproducible is True
    asan = parse("asan_use_after_free_python_312")
    assert describe(asan) == (
        "AddressSanitizer: heap-use-after-free in crashext.c:read_after_free, libffi.so.8:ffi_call"
    )


def test_a_spin_inside_the_harness_is_named_by_the_harness_s_frame() -> None:
    """fastjsonschema's suite on the 3.13.5 JIT build, stopped spinning in pluggy's
    `_multicall` with no frame of its own on the stack (the dump as captured)."""
    text = (DATA.parent / "hangs" / "pluggy-multicall-jit.txt").read_text()
    record = hang_record([ProcessStacks(3, text, threads=1, running_threads=1)])
    assert record is not None
    assert signature(record) == (
        "busy_hang | a thread was still running | _execution.py:_multicall"
    )
    # a thread in code under test is still named by that code, not by the harness
    header = "Current thread 0x00007faafef15740 (most recent call first):\n"
    under_test = text.replace(header, header + '  File "/src/pkg/core.py", line 3 in spin\n', 1)
    record = hang_record([ProcessStacks(3, under_test, threads=1, running_threads=1)])
    assert record is not None
    assert signature(record) == "busy_hang | a thread was still running | core.py:spin"
