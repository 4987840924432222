"""Reading back a step's evidence folder, and narrowing a crash to one test: tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from runner_core.evidence import (
    AGENT_MODULE,
    STACKS_SIGNAL,
    STACKS_VARIABLE,
    Evidence,
    RunningTest,
    SanitizerLog,
    discard_empty_children,
    gather,
    one_test_command,
)
from runner_core.evidence.agent import agent_source

ASAN = (
    "==77==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020 at pc 0x1 bp 0x2 sp 0x3\n"
    "READ of size 4 at 0x6020 thread T0\n"
    "    #0 0x1 in frob /src/frob.c:3\n"
)


def _progress(folder: Path, pid: int, **facts: object) -> None:
    (folder / f"test-{pid}.json").write_text(json.dumps({"pid": pid, **facts}))


def test_an_empty_or_missing_folder_is_no_evidence(tmp_path: Path) -> None:
    assert gather(tmp_path / "missing") == Evidence()
    assert gather(tmp_path) == Evidence()


def test_the_test_left_behind_is_named(tmp_path: Path) -> None:
    _progress(tmp_path, 10, runner="pytest", test_id="tests/t.py::test_a", args=["-x"])
    _progress(tmp_path, 11, runner="pytest", test_id=None, collecting="tests/u.py")
    found = gather(tmp_path)
    assert found.test is not None and found.test.test_id == "tests/t.py::test_a"
    assert found.test.args == ("-x",) and found.problems == ()


def test_a_collection_in_progress_is_kept_when_no_test_ran(tmp_path: Path) -> None:
    _progress(tmp_path, 11, runner="pytest", test_id=None, collecting="tests/u.py")
    found = gather(tmp_path)
    assert found.test is not None and found.test.collecting == "tests/u.py"
    assert one_test_command(found.test, tmp_path) == (
        None,
        "the process died outside a test while collecting tests/u.py",
    )


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("test-5.json", '{"pid": 5, "runner": "pyt', "test-5.json: not a test progress record"),
        ("test-6.json", "[1, 2]", "test-6.json: not a test progress record"),
        ("test-7.json", "[" * 100_000, "test-7.json: not a test progress record"),
        ("asan.12", "", "asan.12: an empty sanitizer log"),
        ("asan.13", ASAN, "asan.13: the report is cut short (no ABORTING line)"),
    ],
)
def test_damaged_files_give_one_line_each(
    tmp_path: Path, name: str, content: str, problem: str
) -> None:
    (tmp_path / name).write_text(content)
    found = gather(tmp_path)
    assert len(found.problems) == 1 and found.problems[0].startswith(problem), found.problems


def test_an_unreadable_sanitizer_log_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "tsan.99").mkdir()  # a folder where a file should be: open() fails
    found = gather(tmp_path)
    assert found.sanitizer_logs == ()
    assert found.problems and found.problems[0].startswith("tsan.99: unreadable")


@pytest.mark.timeout(30)
def test_files_planted_by_the_sandboxed_code_are_never_followed_nor_waited_on(
    tmp_path: Path,
) -> None:
    """The evidence folder is writable from inside the sandbox; apiary reads it outside."""
    secret = tmp_path / "host" / "shadow"
    secret.parent.mkdir()
    secret.write_text("root:secret-hash:20000::::::\n")
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "capture-4-1.out").symlink_to(secret)
    (folder / "asan.4").symlink_to(secret)
    os.mkfifo(folder / "test-4.json")  # opening it to read would wait for a writer
    os.mkfifo(folder / "stacks-4.txt")
    _progress(folder, 5, runner="pytest", test_id="tests/t.py::test_b")
    found = gather(folder)
    assert found.test is not None and found.test.test_id == "tests/t.py::test_b"
    assert found.captured == () and found.sanitizer_logs == () and found.stacks == ()
    assert "secret-hash" not in repr(found)
    assert sorted(found.problems) == [
        "asan.4: unreadable (a symbolic link, not followed)",
        "capture-4-1.out: unreadable (a symbolic link, not followed)",
        "stacks-4.txt: unreadable (not a regular file)",
        "test-4.json: unreadable (not a regular file)",
    ]


def test_a_huge_capture_keeps_its_tail(tmp_path: Path) -> None:
    (tmp_path / "capture-3-2.out").write_text("x" * 2_000_000 + "\nFatal Python error: end\n")
    found = gather(tmp_path)
    assert found.captured[0][1].endswith("Fatal Python error: end\n")
    assert "only 1000000 kept" in found.problems[0]


def test_kept_text_goes_where_the_dying_process_wrote_it() -> None:
    output = (
        "tests/test_x.py .\n"
        "Fatal Python error: Aborted\n\n"
        "Current thread 0x00007f (most recent call first):\n"
        '  File "/src/tests/test_x.py", line 3 in test_z\n'
    )
    evidence = Evidence(
        captured=(("capture-1-2.out", "python: a.c:1: f: Assertion `x' failed.\n"),)
    )
    merged = evidence.merged(output).splitlines()
    assertion = next(i for i, line in enumerate(merged) if "Assertion" in line)
    dump = merged.index("Fatal Python error: Aborted")
    assert assertion < dump  # within the assertion's reach of the dump that follows it
    logs = Evidence(sanitizer_logs=(SanitizerLog("asan.1", ASAN),))
    assert logs.merged("no dump here\n").rstrip().endswith("#0 0x1 in frob /src/frob.c:3")


PYTEST = RunningTest(
    runner="pytest",
    test_id="tests/test_x.py::TestY::test_z[it's odd/x y]",
    args=("--lf", "-x", "-k", "tests", "tests", "-p", "no:randomly"),
    positional=("tests",),
    invocation_dir="/src/pkg",
    rootdir="/src/pkg",
    launcher="module",
)


@pytest.mark.parametrize(
    ("test", "cwd", "expected"),
    [
        (
            PYTEST,
            "/src/pkg",
            "python -m pytest -x -k tests -p no:randomly "
            "'tests/test_x.py::TestY::test_z[it'\"'\"'s odd/x y]'",
        ),
        (
            RunningTest(
                runner="pytest",
                test_id="test_a.py::test_a",
                args=(),
                invocation_dir="/src/pkg/sub",
                rootdir="/src/pkg",
                launcher="script",
            ),
            "/src/pkg",
            "cd sub && pytest ../test_a.py::test_a",
        ),
        (
            RunningTest(
                runner="unittest",
                test_id="pkg.tests.test_u.TestY.test_z",
                module="pkg.tests.test_u",
                module_file="/src/repo/lib/pkg/tests/test_u.py",
            ),
            "/src/repo",
            "cd lib && python -m unittest pkg.tests.test_u.TestY.test_z",
        ),
        (
            RunningTest(
                runner="unittest",
                test_id="test_u.TestY.test_z",
                module="test_u",
                module_file="/elsewhere/test_u.py",
            ),
            "/src/repo",
            "cd /elsewhere && python -m unittest test_u.TestY.test_z",
        ),
    ],
)
def test_one_test_commands(test: RunningTest, cwd: str, expected: str) -> None:
    command, _ = one_test_command(test, Path(cwd))
    assert command == expected


@pytest.mark.parametrize(
    ("test", "why"),
    [
        (None, "no test was running"),
        (RunningTest(runner="unittest", test_id="__main__.T.test", module="__main__"), "script"),
        (RunningTest(runner="nose", test_id="x"), "unknown test runner 'nose'"),
        (RunningTest(runner="pytest", test_id="t.py::t"), "did not say where"),
    ],
)
def test_what_cannot_be_narrowed_says_why(test: RunningTest | None, why: str) -> None:
    command, reason = one_test_command(test, Path("/src"))
    assert command is None and why in reason


def _run_with_stacks_agent(code: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """`python -c code` with the evidence agent on and its stacks signal registered."""
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(agent_source().parent),
        "APIARY_EVIDENCE_DIR": str(folder),
        STACKS_VARIABLE: str(STACKS_SIGNAL),
    }
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )


@pytest.mark.parametrize("signalled", [True, False])
def test_the_agent_dumps_every_thread_on_the_stacks_signal(tmp_path: Path, signalled: bool) -> None:
    code = (
        f"import os, threading, time, {AGENT_MODULE}\n"
        "stop = threading.Event()\n"
        "def waiter(): stop.wait()\n"
        "t = threading.Thread(target=waiter); t.start()\n"
        f"if {signalled}: os.kill(os.getpid(), {STACKS_SIGNAL}); time.sleep(0.5)\n"
        "stop.set(); t.join()\n"
        "print(os.getpid())\n"
    )
    done = _run_with_stacks_agent(code, tmp_path)
    stacks = tmp_path / f"stacks-{done.stdout.strip()}.txt"
    if not signalled:
        assert not stacks.exists()  # nothing written: removed at exit
        return
    text = stacks.read_text()
    assert "in waiter" in text and "Current thread" in text
    assert gather(tmp_path).stacks == ((int(done.stdout), text),)


def test_a_forked_child_dumps_its_stacks_into_its_own_file(tmp_path: Path) -> None:
    code = (
        f"import os, time, {AGENT_MODULE}\n"
        "def parent_waits(child): os.kill(child, %d); time.sleep(0.5); os.kill(os.getpid(), %d)\n"
        "def child_waits(): time.sleep(3)\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    child_waits(); os._exit(0)\n"
        "time.sleep(0.3); parent_waits(child); time.sleep(0.5)\n"
        "os.kill(child, 9); os.waitpid(child, 0)\n"
        "print(os.getpid(), child)\n"
    ) % (STACKS_SIGNAL, STACKS_SIGNAL)
    done = _run_with_stacks_agent(code, tmp_path)
    parent, child = (int(pid) for pid in done.stdout.split())
    stacks = dict(gather(tmp_path).stacks)
    assert set(stacks) == {parent, child}
    assert "in child_waits" in stacks[child] and "in parent_waits" not in stacks[child]
    assert "in parent_waits" in stacks[parent] and "in child_waits" not in stacks[parent]


def test_a_crashed_child_is_kept_with_the_test_that_started_it(tmp_path: Path) -> None:
    dump = (
        "Fatal Python error: Segmentation fault\n\nCurrent thread 0x1 (most recent call first):\n"
    )
    runner = {"pid": 5, "runner": "pytest", "test_id": "tests/t.py::test_cli", "args": ["-q"]}
    (tmp_path / "child-7.txt").write_text(dump)
    (tmp_path / "child-7.json").write_text(json.dumps({"pid": 7, "runner": runner}))
    (tmp_path / "child-8.txt").write_text("")  # left by os._exit: no crash
    (tmp_path / "child-8.json").write_text(json.dumps({"pid": 8, "runner": runner}))
    (tmp_path / "child-9.txt").write_text(dump)
    (tmp_path / "child-9.json").write_text('{"pid": 9, "runner": [')  # cut short
    found = gather(tmp_path)
    assert [(c.pid, c.dump) for c in found.children] == [(7, dump), (9, dump)]
    started = found.children[0].started_in
    assert started is not None and started.test_id == "tests/t.py::test_cli"
    assert started.args == ("-q",) and found.children[1].started_in is None
    # the runner exited normally (no progress file left): the test is the child's
    assert found.test == started
    assert "--- apiary: child-7.txt, a process the tests started ---" in found.extra_text()


def test_a_runner_s_own_crash_names_its_test_before_a_child_s(tmp_path: Path) -> None:
    _progress(tmp_path, 10, runner="pytest", test_id="tests/t.py::test_own")
    (tmp_path / "child-7.txt").write_text("Fatal Python error: Aborted\n")
    (tmp_path / "child-7.json").write_text(
        json.dumps({"pid": 7, "runner": {"runner": "pytest", "test_id": "tests/t.py::test_cli"}})
    )
    found = gather(tmp_path)
    assert found.test is not None and found.test.test_id == "tests/t.py::test_own"


def test_a_crashed_child_whose_test_passed_explains_no_failure(tmp_path: Path) -> None:
    dump = (
        "Fatal Python error: Segmentation fault\n\nCurrent thread 0x1 (most recent call first):\n"
    )
    for pid, test_id in (
        (7, "tests/t.py::test_crash_is_reported"),
        (8, "tests/t.py::test_cli[a b]"),
    ):
        (tmp_path / f"child-{pid}.txt").write_text(dump)
        runner = {"runner": "pytest", "test_id": test_id}
        (tmp_path / f"child-{pid}.json").write_text(json.dumps({"pid": pid, "runner": runner}))
    found = gather(tmp_path)
    output = "FAILED tests/t.py::test_other - assert 2 == 3\n1 failed, 1 passed\n"
    assert "child-7" not in found.merged(output) and "child-8" not in found.merged(output)
    assert "child-7" in found.extra_text() and "child-8" in found.extra_text()  # the log
    failed = "FAILED tests/t.py::test_cli[a b] - assert -11 == 0\n1 failed, 1 passed\n"
    merged = found.merged(failed)
    assert "child-8" in merged and "child-7" not in merged
    # which tests failed is not known (no short summary): every child may explain it
    assert "child-7" in found.merged("exit status 1\n")


def test_a_crashed_child_is_found_among_thousands_that_left_by_os_exit(tmp_path: Path) -> None:
    for pid in range(1000, 3000):
        (tmp_path / f"child-{pid}.txt").write_text("")
    (tmp_path / "child-9.txt").write_text("Fatal Python error: Aborted\n")
    (tmp_path / "child-9.json").write_text("{}")
    (tmp_path / "child-1000.json").write_text("{}")
    assert [c.pid for c in gather(tmp_path).children] == [9]
    discard_empty_children(tmp_path)  # what the results keep: the one that crashed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["child-9.json", "child-9.txt"]


def test_tests_pytest_timeout_stopped_are_kept_busy_or_not(tmp_path: Path) -> None:
    frames = [{"file": "/src/t.py", "line": 3, "function": "spin"}]
    busy = {"test_id": "t.py::test_a", "message": "Timeout (>2.0s) from pytest-timeout.",
            "frames": frames, "wall_s": 2.0, "cpu_s": 1.9}  # fmt: skip
    (tmp_path / "timeout-5-1.json").write_text(json.dumps(busy))
    waiting = {**busy, "test_id": "t.py::test_b", "cpu_s": 0.01}
    (tmp_path / "timeout-5-2.json").write_text(json.dumps(waiting))
    (tmp_path / "timeout-5-3.json").write_text('{"test_id": "t.py::test_c", "wall_s": ')
    found = gather(tmp_path)
    assert [(t.test_id, t.busy) for t in found.stopped_tests] == [
        ("t.py::test_a", True),
        ("t.py::test_b", False),
    ]
    assert found.stopped_tests[0].frames == (("/src/t.py", 3, "spin"),)
