"""run_sandboxed with real processes, under every backend that works here."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sandbox_runner import (
    SandboxError,
    SandboxResult,
    SandboxSpec,
    live_sandboxes,
    run_sandboxed,
    terminate_all,
)

PY = sys.executable


def py(code: str) -> list[str]:
    return [PY, "-c", code]


def test_exit_code_logs_and_tails(run: Callable[..., SandboxResult], backend: str) -> None:
    result = run(
        py(
            "import sys; print('out 1'); print('out 2'); print('err', file=sys.stderr); sys.exit(3)"
        ),
        backend=backend,
    )
    assert (result.exit_code, result.signal) == (3, None)
    assert result.backend == backend
    assert result.stdout_tail == ["out 1", "out 2"]
    assert result.stderr_tail == ["err"]
    assert result.stdout_log.read_text() == "out 1\nout 2\n"
    assert result.stderr_log is not None
    assert result.stderr_log.read_text() == "err\n"
    assert not (result.timed_out or result.idle_timed_out or result.interrupted)
    assert result.stdout_log.is_absolute()


def test_merged_log_keeps_both_streams_in_order(
    run: Callable[..., SandboxResult], backend: str
) -> None:
    result = run("echo one; echo two >&2; echo three", backend=backend, merged=True)
    assert result.exit_code == 0
    assert result.stderr_log is None
    assert result.stdout_log.read_text() == "one\ntwo\nthree\n"
    assert result.stdout_tail == ["one", "two", "three"]
    assert result.stderr_tail == []


def test_cwd_env_and_closed_stdin(
    run: Callable[..., SandboxResult], backend: str, work: Path
) -> None:
    result = run(
        'pwd; echo "$HOME|$EXTRA"; cat; echo done',
        backend=backend,
        env={"HOME": "/nonexistent-home", "EXTRA": "x y"},
        allow=("EXTRA",),
        timeout_s=60,
    )
    assert result.exit_code == 0
    # under bwrap a HOME the sandbox cannot write becomes its private /tmp
    home = "/tmp" if backend == "bwrap" else "/nonexistent-home"
    assert result.stdout_tail == [str(work), f"{home}|x y", "done"]


def test_result_is_json(run: Callable[..., SandboxResult], backend: str) -> None:
    result = run(["true"], backend=backend)
    loaded = json.loads(result.model_dump_json())
    assert loaded["exit_code"] == 0
    assert loaded["backend"] == backend
    assert SandboxResult.model_validate_json(result.model_dump_json()) == result


def test_missing_command_is_127_with_a_message(
    run: Callable[..., SandboxResult], backend: str
) -> None:
    result = run(["no-such-command-anywhere"], backend=backend)
    assert result.exit_code == 127
    assert "no-such-command-anywhere" in result.stderr_tail[-1]
    shell = run("no-such-command-anywhere", backend=backend)
    assert shell.exit_code == 127


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import ctypes; ctypes.string_at(0)", signal.SIGSEGV),
        ("import os; os.abort()", signal.SIGABRT),
        ("import os, signal; os.kill(os.getpid(), signal.SIGBUS)", signal.SIGBUS),
    ],
    ids=["segfault", "abort", "bus"],
)
def test_crash_signals_direct_and_through_a_shell(
    run: Callable[..., SandboxResult], backend: str, code: str, expected: int
) -> None:
    direct = run(py(code), backend=backend)
    assert direct.signal == expected
    assert direct.exit_code == -expected
    assert direct.signal_name == signal.Signals(expected).name
    # `sh -c 'python ...; true'` cannot exec the child: the shell reports 128+N.
    shell = run(f"{PY} -c '{code}'; exit $?", backend=backend)
    assert shell.signal == expected
    assert shell.exit_code == 128 + expected
    assert not direct.oom_suspected


def test_timeout_kills_a_setsid_grandchild(
    run: Callable[..., SandboxResult],
    backend: str,
    work: Path,
    alive: Callable[[], list[int]],
    wait_until: Callable[..., bool],
) -> None:
    command = (
        "setsid sh -c 'echo $$ > escaped.pid; exec sleep 600' & "
        "sh -c 'sleep 600' & echo started; sleep 600"
    )
    box: list[SandboxResult] = []
    thread = threading.Thread(target=lambda: box.append(run(command, backend=backend, timeout_s=6)))
    thread.start()
    # While it runs, the /proc scan sees the hang and its escaped grandchild.
    assert wait_until(lambda: (work / "escaped.pid").exists() and len(alive()) >= 3, 30)
    thread.join(60)
    (result,) = box
    assert result.timed_out
    assert result.signal == signal.SIGKILL
    assert result.stdout_tail == ["started"]
    assert alive() == []
    assert result.peak_rss_bytes is not None  # bwrap: the reaper reported before the kill
    if backend == "none":  # the PID written is a host PID: it is gone from /proc
        escaped = int((work / "escaped.pid").read_text())
        assert not _running(escaped)


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def test_background_processes_do_not_outlive_the_command(
    run: Callable[..., SandboxResult], backend: str, alive: Callable[[], list[int]]
) -> None:
    result = run("setsid sleep 600 & sleep 600 & echo left", backend=backend, timeout_s=60)
    assert result.exit_code == 0
    assert not result.timed_out
    assert alive() == []


def test_idle_timeout(run: Callable[..., SandboxResult], backend: str) -> None:
    result = run("echo first; sleep 600", backend=backend, idle_timeout_s=1.5, timeout_s=120)
    assert result.idle_timed_out
    assert not result.timed_out
    assert result.stdout_tail == ["first"]


def test_output_keeps_the_process_alive_past_the_idle_timeout(
    run: Callable[..., SandboxResult], backend: str
) -> None:
    result = run(
        py("import time\nfor i in range(8):\n    print(i, flush=True); time.sleep(0.25)"),
        backend=backend,
        idle_timeout_s=1.5,
        timeout_s=120,
    )
    assert not result.idle_timed_out
    assert result.exit_code == 0
    assert result.stdout_tail[-1] == "7"


def test_output_flood_is_capped_with_the_tail_kept(
    run: Callable[..., SandboxResult], backend: str
) -> None:
    cap = 256 * 1024
    code = (
        "import sys\n"
        "line = b'x' * 99 + b'\\n'\n"
        "for i in range(200_000): sys.stdout.buffer.write(line)\n"
        "sys.stdout.buffer.write(b'THE LAST LINE\\n')\n"
        "sys.stderr.write('small stderr\\n')\n"
    )
    result = run(py(code), backend=backend, output_cap_bytes=cap, timeout_s=120)
    assert result.exit_code == 0
    assert result.stdout_truncated and not result.stderr_truncated
    assert result.stdout_bytes == 200_000 * 100 + len("THE LAST LINE\n")
    log = result.stdout_log.read_bytes()
    assert len(log) <= cap + 200
    assert log.startswith(b"x" * 99 + b"\n")
    assert log.endswith(b"THE LAST LINE\n")
    assert b"[apiary sandbox: output passed the cap of 262144 bytes;" in log
    assert result.stdout_tail[-1] == "THE LAST LINE"
    assert result.stderr_tail == ["small stderr"]


def test_memory_hog_is_stopped_and_flagged(run: Callable[..., SandboxResult], backend: str) -> None:
    hog = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))"
    result = run(py(hog), backend=backend, memory_bytes=256 * 1024 * 1024, timeout_s=120)
    assert result.exit_code != 0
    assert not result.timed_out
    assert result.oom_suspected
    assert "MemoryError" in result.stderr_tail[-1]


def test_memory_limit_off_lets_a_big_allocation_through(
    run: Callable[..., SandboxResult], backend: str
) -> None:
    code = "b = bytearray(300 * 1024 * 1024); print(len(b))"
    limited = run(py(code), backend=backend, memory_bytes=200 * 1024 * 1024)
    assert limited.exit_code == 1 and limited.oom_suspected
    off = run(py(code), backend=backend, memory_bytes=200 * 1024 * 1024, memory_limit="off")
    assert off.exit_code == 0 and not off.oom_suspected


def test_peak_rss_and_cpu_are_the_commands(run: Callable[..., SandboxResult], backend: str) -> None:
    code = "b = bytearray(200 * 1024 * 1024); n = sum(range(3_000_000))"
    result = run(py(code), backend=backend)
    assert result.exit_code == 0
    assert result.peak_rss_bytes is not None and result.peak_rss_bytes >= 200 * 1024 * 1024
    assert result.cpu_s is not None and result.cpu_s > 0.05


def test_cpu_limit(run: Callable[..., SandboxResult], backend: str) -> None:
    result = run(py("while True: pass"), backend=backend, cpu_s=1, timeout_s=120)
    assert result.cpu_limit_hit
    assert result.signal == signal.SIGXCPU
    assert not result.oom_suspected


def test_file_size_limit(run: Callable[..., SandboxResult], backend: str, work: Path) -> None:
    result = run("head -c 5000000 /dev/zero > big.bin", backend=backend, fsize_bytes=1_000_000)
    assert result.file_size_limit_hit
    assert result.signal == signal.SIGXFSZ
    assert (work / "big.bin").stat().st_size == 1_000_000


def test_no_core_dumps(run: Callable[..., SandboxResult], backend: str) -> None:
    result = run("ulimit -c", backend=backend)
    assert result.stdout_tail == ["0"]


def test_planted_secret_is_invisible(run: Callable[..., SandboxResult], backend: str) -> None:
    planted = {
        "GITLAB_PYPI_PASSWORD": "glpat-planted-secret-1",
        "CI_JOB_TOKEN": "planted-secret-2",
        "PIP_INDEX_URL": "https://user:planted-secret-3@gitlab.example/simple",
        "MY_DB_PASS": "planted-secret-4",
        "HTTPS_PROXY": "http://proxy.example:3128",
        "PYTHON_JIT": "1",
        "GIVEN": "visible",
    }
    result = run(
        py("import os; print(sorted(os.environ.items()))"),
        backend=backend,
        env=planted,
        allow=("GIVEN",),
    )
    text = result.stdout_log.read_text()
    assert "planted-secret" not in text
    assert "GITLAB_PYPI_PASSWORD" not in text
    assert "('GIVEN', 'visible')" in text
    assert "('PYTHON_JIT', '1')" in text
    withheld = {"GITLAB_PYPI_PASSWORD", "CI_JOB_TOKEN", "PIP_INDEX_URL", "MY_DB_PASS"}
    assert withheld <= set(result.withheld_env)
    assert "HTTPS_PROXY" in result.withheld_env  # proxies only for commands with the network
    assert "GIVEN" not in result.withheld_env
    assert "planted-secret" not in result.model_dump_json()


def test_terminate_all_interrupts_running_sandboxes(
    run: Callable[..., SandboxResult],
    backend: str,
    alive: Callable[[], list[int]],
    wait_until: Callable[..., bool],
) -> None:
    box: list[SandboxResult] = []
    thread = threading.Thread(target=lambda: box.append(run("sleep 600", backend=backend)))
    thread.start()
    # Registered with this process (not merely started): what terminate_all() acts on.
    assert wait_until(lambda: len(alive()) >= 1 and len(live_sandboxes()) >= 1, 30)
    assert terminate_all() >= 1
    thread.join(60)
    (result,) = box
    assert result.interrupted and not result.timed_out
    assert alive() == []


def test_setup_problems_are_one_line_errors(tmp_path: Path, work: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(SandboxError, match=r"^stdout_log: cannot write .*a-file/out.log"):
        run_sandboxed(
            SandboxSpec(
                command=["true"], cwd=work, env={}, stdout_log=tmp_path / "a-file" / "out.log"
            )
        )
    with pytest.raises(SandboxError, match=r"^cwd: .*missing does not exist$"):
        run_sandboxed(
            SandboxSpec(command=["true"], cwd=tmp_path / "missing", env={}, stdout_log=work / "o")
        )


def test_a_stopped_command_s_usage_counts_its_unreaped_children(
    run: Callable[..., SandboxResult], backend: str
) -> None:
    """The child spins while its parent sleeps; both are killed and the child is never
    reaped by its parent, so `wait4` never sees its CPU; the usage read from /proc before
    the kill does, with the threads' run-queue wait beside it."""
    spin = py("import os, time\nif os.fork() == 0:\n    while True: pass\ntime.sleep(600)")
    result = run(spin, backend=backend, timeout_s=3)
    assert result.timed_out
    usage = result.stopped_usage
    assert usage is not None and result.cpu_s is not None
    assert usage.cpu_s > result.cpu_s
    assert usage.runqueue_wait_s is not None and usage.runqueue_wait_s >= 0
    finished = run(py("pass"), backend=backend)
    assert finished.stopped_usage is None  # only a stopped command is read
