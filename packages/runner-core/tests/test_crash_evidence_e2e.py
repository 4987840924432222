"""Crash evidence under every capture mode, the crashing test named, the narrowed rerun.

One real `apiary run` over three packages (a pytest suite with pytest's default fd
capture, a unittest suite, a plain script), each crashing in seven ways chosen by a
condition's environment: a C assert() through ctypes, two different Py_FatalError
messages, an AddressSanitizer-format report on fd 2 followed by os._exit(1), SIGSEGV,
SIGABRT, and SIGSEGV in a helper thread (no test frame on the crashing stack).
"""

from __future__ import annotations

import json
import shlex
import textwrap
from pathlib import Path

import pytest
from normalized_events import CrashInfo, PackageFinished, read_events
from runner_fixtures import Fixture, build_registry, run_apiary, run_args, run_reproducer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]

CRASHERS = textwrap.dedent(
    """
    import ctypes, os, threading

    ASAN = (
        "=================================================================\\n"
        "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010"
        " at pc 0x7f00 bp 0x7f01 sp 0x7f02\\n"
        "READ of size 4 at 0x602000000010 thread T0\\n"
        "    #0 0x7f00 in frob_node /src/frob/nodes.c:12\\n"
        "    #1 0x7f01 in frob_walk /src/frob/walk.c:30\\n"
        "\\n"
        "SUMMARY: AddressSanitizer: heap-use-after-free /src/frob/nodes.c:12 in frob_node\\n"
        "==4242==ABORTING\\n"
    )

    def crash(how):
        if how == "assert":
            ctypes.CDLL(None).__assert_fail(b"node->refs > 0", b"frob_nodes.c", 42, b"frob_release")
        elif how == "fatal1":
            ctypes.pythonapi.Py_FatalError(b"frob: the first invariant broke")
        elif how == "fatal2":
            ctypes.pythonapi.Py_FatalError(b"frob: a second, different invariant broke")
        elif how == "asan":
            os.write(2, ASAN.encode())
            os._exit(1)
        elif how == "segv":
            ctypes.string_at(0)
        elif how == "abort":
            os.abort()
        elif how == "thread":
            worker = threading.Thread(target=crash, args=("segv",))
            worker.start()
            worker.join()
    """
)
ODD_PARAM = "it's odd/x y"
PYTEST_SUITE = {
    "ev_pytest/__init__.py": "",
    "ev_pytest/crashers.py": CRASHERS,
    "tests/test_crashers.py": textwrap.dedent(
        f"""
        import os, pytest
        from ev_pytest import crashers

        def test_before():
            print("some output the capture keeps")

        class TestY:
            @pytest.mark.parametrize("case", [1], ids=[{ODD_PARAM!r}])
            def test_z(self, case):
                crashers.crash(os.environ.get("CRASH_HOW", ""))

        def test_after():
            pass
        """
    ),
}
UNITTEST_SUITE = {
    "ev_unittest/__init__.py": "",
    "ev_unittest/crashers.py": CRASHERS,
    "tests/__init__.py": "",
    "tests/test_u.py": textwrap.dedent(
        """
        import os, unittest
        from ev_unittest import crashers

        class TestY(unittest.TestCase):
            def test_a(self):
                pass

            def test_z(self):
                crashers.crash(os.environ.get("CRASH_HOW", ""))
        """
    ),
}
SCRIPT = {
    "ev_script/__init__.py": "",
    "ev_script/crashers.py": CRASHERS,
    "check.py": textwrap.dedent(
        """
        import os
        from ev_script import crashers

        print("checking")
        crashers.crash(os.environ.get("CRASH_HOW", ""))
        """
    ),
}
WAYS = ("assert", "fatal1", "fatal2", "asan", "segv", "abort", "thread")
EXPECTED_KIND = {
    "assert": "c_assertion",
    "fatal1": "fatal_error",
    "fatal2": "fatal_error",
    "asan": "asan",
    "segv": "segfault",
    "abort": "abort",
    "thread": "segfault",
}
EXPECTED_HEADLINE = {
    "assert": "frob_nodes.c:42: frob_release: Assertion `node->refs > 0' failed",
    "fatal1": "frob: the first invariant broke",
    "fatal2": "frob: a second, different invariant broke",
    "asan": "AddressSanitizer: heap-use-after-free",
    "segv": "Segmentation fault",
    "abort": "Aborted",
    "thread": "Segmentation fault",
}
EXPECTED_TEST = {
    "ev-pytest": f"tests/test_crashers.py::TestY::test_z[{ODD_PARAM}]",
    "ev-unittest": "tests.test_u.TestY.test_z",
    "ev-script": None,
}


@pytest.fixture(scope="module")
def evidence_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("evidence")
    registry = build_registry(
        tmp_path,
        Fixture("ev-pytest", PYTEST_SUITE, test="python -m pytest tests"),
        Fixture("ev-unittest", UNITTEST_SUITE, test="python -m unittest discover -s tests -t ."),
        Fixture("ev-script", SCRIPT, test="python check.py"),
    )
    conditions = [a for way in WAYS for a in ("--condition", f"{way}:env.CRASH_HOW={way}")]
    done = run_apiary(
        *run_args(registry, tmp_path, "ev", "--retries", "0", "--workers", "2", *conditions),
        cwd=tmp_path,
        timeout=900,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return tmp_path / "results" / "ev"


def _crashes(run_dir: Path) -> dict[tuple[str, str], PackageFinished]:
    return {
        (e.package, e.condition): e
        for e in read_events(run_dir / "events.jsonl").known()
        if isinstance(e, PackageFinished)
    }


def test_every_crash_keeps_its_evidence_under_every_runner(evidence_run: Path) -> None:
    finished = _crashes(evidence_run)
    for package, test_id in EXPECTED_TEST.items():
        buckets: dict[str, str] = {}
        for way in WAYS:
            event = finished[(package, way)]
            assert event.outcome.value == "crash", (package, way, event.reason)
            crash = event.crash
            assert crash is not None
            assert crash.kind == EXPECTED_KIND[way], (package, way, crash.headline)
            assert EXPECTED_HEADLINE[way] in crash.headline, (package, way, crash.headline)
            assert crash.test_id == test_id, (package, way, crash.test_id)
            buckets[way] = crash.bucket
        # distinct sites, distinct buckets; the two fatal errors differ only by message
        assert len(set(buckets.values())) == len(WAYS), (package, buckets)


def test_the_crashing_test_is_rerun_alone_and_the_reproducer_runs_it(evidence_run: Path) -> None:
    finished = _crashes(evidence_run)
    for package, test_id in EXPECTED_TEST.items():
        for way in WAYS:
            crash = finished[(package, way)].crash
            assert crash is not None
            if test_id is None:
                assert crash.isolated == "not-tried"
                assert "no test was running" in (crash.isolated_reason or "")
                continue
            assert crash.isolated == "reproduces", (package, way, crash.isolated_reason)
            assert crash.isolated_command is not None
            _assert_reproducer_runs_one_test(evidence_run, crash, test_id)
    pytest_crash = finished[("ev-pytest", "segv")].crash
    assert pytest_crash is not None
    # the suite's other tests are not in the narrowed run: only the crashing one started
    isolate_log = evidence_run / "logs" / "ev-pytest" / "segv" / "isolate.log"
    text = isolate_log.read_text()
    assert "test_before" not in text and "test_after" not in text


def _assert_reproducer_runs_one_test(run_dir: Path, crash: CrashInfo, test_id: str) -> None:
    script = (run_dir / (crash.reproducer_path or "")).read_text()
    assert f"# Runs just the test {test_id}." in script
    assert crash.isolated_command is not None
    assert f"sh -c {shlex.quote(crash.isolated_command)}" in script


def test_the_reproducer_script_crashes_by_hand_in_the_one_test(
    evidence_run: Path, tmp_path: Path
) -> None:
    crash = _crashes(evidence_run)[("ev-pytest", "assert")].crash
    assert crash is not None
    # CRASH_HOW comes from the script
    output = run_reproducer(evidence_run, crash.reproducer_path, tmp_path / "repro")
    assert "exited with status 134" in output, output[-3000:]
    assert "Assertion `node->refs > 0' failed" in output
    assert "1 passed" not in output and "test_before" not in output


def test_no_jit_here_is_said_not_guessed(evidence_run: Path) -> None:
    finished = _crashes(evidence_run)
    crash = finished[("ev-pytest", "segv")].crash
    assert crash is not None
    assert crash.jit_only is None and crash.jit_only_reason == "the interpreter has no JIT"
    assert crash.gil_off_only is None and crash.gil_off_only_reason == "not a free-threaded build"
    record = json.loads((evidence_run / (crash.record_path or "")).read_text())
    assert record["test"]["runner"] == "pytest"
    # the test alone crashed the same way: reproducible, with no second run of the suite
    assert crash.reproducible is True and crash.isolated == "reproduces"
    assert [r["step"] for r in record["reruns"]] == ["isolate"]


ORDER_DEPENDENT = {
    "order_pkg/__init__.py": "",
    "tests/test_order.py": textwrap.dedent(
        """
        import ctypes, time

        STATE = []

        def test_a_sets_up():
            STATE.append(1)

        def test_z_depends_on_it():
            if STATE:
                ctypes.string_at(0)
            time.sleep(1000)  # alone, it hangs in silence
        """
    ),
}


def test_a_narrowed_rerun_that_hangs_is_one_line_not_an_error(tmp_path: Path) -> None:
    registry = build_registry(tmp_path, Fixture("order-pkg", ORDER_DEPENDENT))
    # Long enough that a loaded machine's pytest start-up is not taken for the hang.
    done = run_apiary(
        *run_args(registry, tmp_path, "hang", "--idle-timeout", "20"),
        cwd=tmp_path,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    finished = _crashes(tmp_path / "results" / "hang")[("order-pkg", "default")]
    crash = finished.crash
    assert finished.outcome.value == "crash" and crash is not None
    assert crash.test_id == "tests/test_order.py::test_z_depends_on_it"
    assert crash.isolated == "does-not-reproduce"
    assert "hang" in (crash.isolated_reason or ""), crash.isolated_reason
    # the test alone did not crash: the whole suite ran again, and crashed the same way
    assert crash.reproducible is True
    record = json.loads((tmp_path / "results" / "hang" / (crash.record_path or "")).read_text())
    assert [r["step"] for r in record["reruns"]] == ["isolate", "rerun"]
    script = (tmp_path / "results" / "hang" / (crash.reproducer_path or "")).read_text()
    assert "# Runs the whole test suite." in script
