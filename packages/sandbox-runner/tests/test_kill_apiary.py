"""Killing apiary while it runs a sandbox leaves no sandboxed process alive.

The process under test is a real command-line process using the library:
`python -m sandbox_runner` (the `apiary sandbox` command alone) and, where it starts, the
installed `apiary` entry point itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sandbox_runner import sweep_orphans

WORKER = """
import os, sys
from pathlib import Path
from sandbox_runner import EnvPolicy, Isolation, SandboxSpec, die_with_parent, run_sandboxed
work, backend, hang = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
assert die_with_parent()
run_sandboxed(SandboxSpec(command=hang, cwd=work, env=dict(os.environ),
    isolation=Isolation(backend=backend), env_policy=EnvPolicy(allow=("SANDBOX_TEST_MARK",)),
    stdout_log=work.parent / "worker.log"))
"""
PARENT = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", sys.argv[1], *sys.argv[2:]])
time.sleep(600)
"""

PY = sys.executable
APIARY = Path(PY).with_name("apiary")
HANG = "setsid sh -c 'touch escaped.started; exec sleep 600' & sleep 600 & touch started; wait"

# Starts a command with some signals ignored, as `nohup` does with SIGHUP.
IGNORING = """
import os, signal, sys
for number in sys.argv[1].split(","):
    signal.signal(int(number), signal.SIG_IGN)
os.execv(sys.argv[2], sys.argv[2:])
"""

pytestmark = pytest.mark.xdist_group("kill-apiary")


@pytest.fixture
def launch(
    work: Path, tmp_path: Path, token: str, alive: Callable[[], list[int]]
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(
        launcher: list[str], backend: str, ignored: tuple[signal.Signals, ...] = ()
    ) -> subprocess.Popen[bytes]:
        env = dict(os.environ, SANDBOX_TEST_MARK=token, PYTHONFAULTHANDLER="1")
        with (tmp_path / "apiary.out").open("wb") as out:
            proc = subprocess.Popen(
                [
                    *(
                        (PY, "-c", IGNORING, ",".join(str(int(n)) for n in ignored))
                        if ignored
                        else ()
                    ),
                    *launcher,
                    *("--backend", backend, "--cwd", str(work)),
                    *("--log-dir", str(tmp_path / "logs")),
                    *("--allow-env", "SANDBOX_TEST_MARK", "--", "sh", "-c", HANG),
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(proc)
        return proc

    yield start
    for proc in started:  # a failed test must not leave its processes behind either
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for pid in alive():
        os.kill(pid, signal.SIGKILL)


def _hanging(work: Path, alive: Callable[[], list[int]]) -> Callable[[], bool]:
    return lambda: (
        # apiary itself (it carries the mark too), the shell, and its two sleeps at least
        (work / "started").exists() and (work / "escaped.started").exists() and len(alive()) >= 4
    )


@pytest.mark.parametrize(
    ("backend", "signum"),
    [
        ("bwrap", signal.SIGTERM),
        ("none", signal.SIGTERM),
        ("none", signal.SIGINT),
        ("none", signal.SIGHUP),
    ],
    ids=["bwrap-SIGTERM", "none-SIGTERM", "none-SIGINT", "none-SIGHUP"],
)
def test_stopping_apiary_takes_its_sandboxes_down(
    tmp_path: Path,
    launch: Callable[..., subprocess.Popen[bytes]],
    backend: str,
    signum: signal.Signals,
    work: Path,
    alive: Callable[[], list[int]],
    wait_until: Callable[..., bool],
    request: pytest.FixtureRequest,
) -> None:
    if backend == "bwrap":
        request.getfixturevalue("bwrap_available")
    apiary = launch([PY, "-m", "sandbox_runner"], backend)
    assert wait_until(_hanging(work, alive), 60), "the sandboxed command never started"
    apiary.send_signal(signum)
    try:
        status = apiary.wait(60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"apiary did not stop on {signum.name}:\n{_why_not(apiary, tmp_path)}")
    assert status != 0
    assert wait_until(lambda: alive() == [], 30), f"left alive: {alive()}"


def test_an_ignored_sighup_stays_ignored_as_under_nohup(
    launch: Callable[..., subprocess.Popen[bytes]],
    work: Path,
    alive: Callable[[], list[int]],
    wait_until: Callable[..., bool],
) -> None:
    apiary = launch([PY, "-m", "sandbox_runner"], "none", ignored=(signal.SIGHUP,))
    assert wait_until(_hanging(work, alive), 60), "the sandboxed command never started"
    apiary.send_signal(signal.SIGHUP)
    with pytest.raises(subprocess.TimeoutExpired):
        apiary.wait(2)
    assert len(alive()) >= 4
    apiary.send_signal(signal.SIGTERM)
    assert apiary.wait(60) != 0
    assert wait_until(lambda: alive() == [], 30), f"left alive: {alive()}"


def _why_not(apiary: subprocess.Popen[bytes], tmp_path: Path) -> str:
    """The signal dispositions of a process that ignored its stop, and its threads' stacks."""
    status = Path(f"/proc/{apiary.pid}/status").read_text().splitlines()
    masks = [line for line in status if line.startswith(("State", "Sig", "Shd"))]
    apiary.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER=1: every thread's stack
    apiary.wait(30)
    return "\n".join([*masks, (tmp_path / "apiary.out").read_text(errors="replace")])


@pytest.mark.usefixtures("bwrap_available")
def test_kill_9_of_apiary_leaves_nothing_under_bwrap(
    launch: Callable[..., subprocess.Popen[bytes]],
    work: Path,
    alive: Callable[[], list[int]],
    wait_until: Callable[..., bool],
) -> None:
    apiary = launch([PY, "-m", "sandbox_runner"], "bwrap")
    assert wait_until(_hanging(work, alive), 60), "the sandboxed command never started"
    apiary.send_signal(signal.SIGKILL)
    assert apiary.wait(60) == -signal.SIGKILL
    assert wait_until(lambda: alive() == [], 30), f"left alive: {alive()}"


def test_kill_9_of_apiary_under_none_needs_the_orphan_sweep(
    launch: Callable[..., subprocess.Popen[bytes]],
    work: Path,
    alive: Callable[[], list[int]],
    wait_until: Callable[..., bool],
) -> None:
    apiary = launch([PY, "-m", "sandbox_runner"], "none")
    assert wait_until(_hanging(work, alive), 60), "the sandboxed command never started"
    before = set(alive())
    assert apiary.pid in before
    apiary.send_signal(signal.SIGKILL)
    assert apiary.wait(60) == -signal.SIGKILL
    # The direct child (the shell) dies with apiary (PR_SET_PDEATHSIG); its two sleeps
    # (one of them in a session of its own) cannot be told to.
    assert wait_until(lambda: len(alive()) == 2, 30), f"alive: {alive()} of {before}"
    survivors = set(alive())
    assert survivors < before
    assert set(sweep_orphans()) >= survivors
    assert wait_until(lambda: alive() == [], 30), f"left alive: {alive()}"


@pytest.mark.usefixtures("bwrap_available")
def test_the_apiary_entry_point_killed_mid_run_leaves_nothing(
    launch: Callable[..., subprocess.Popen[bytes]],
    work: Path,
    tmp_path: Path,
    alive: Callable[[], list[int]],
    wait_until: Callable[..., bool],
) -> None:
    apiary = launch([str(APIARY), "sandbox"], "bwrap")
    hanging = _hanging(work, alive)
    assert wait_until(lambda: hanging() or apiary.poll() is not None, 120)
    if apiary.poll() is not None:
        said = (tmp_path / "apiary.out").read_text().strip().splitlines() or ["no output"]
        pytest.skip(f"the apiary command does not start here: {said[-1]}")
    apiary.send_signal(signal.SIGKILL)
    apiary.wait(60)
    assert wait_until(lambda: alive() == [], 30), f"left alive: {alive()}"


@pytest.mark.parametrize("backend", ["none", "bwrap"])
def test_a_worker_that_dies_with_its_parent_takes_its_sandboxes_down(
    backend: str,
    work: Path,
    token: str,
    alive: Callable[[], list[int]],
    wait_until: Callable[..., bool],
    request: pytest.FixtureRequest,
) -> None:
    if backend == "bwrap":
        request.getfixturevalue("bwrap_available")
    env = dict(os.environ, SANDBOX_TEST_MARK=token)
    parent = subprocess.Popen(
        [PY, "-c", PARENT, WORKER, str(work), backend, HANG], env=env, stdin=subprocess.DEVNULL
    )
    try:
        assert wait_until(_hanging(work, alive), 60), "the sandboxed command never started"
        parent.send_signal(signal.SIGKILL)
        parent.wait(60)
        assert wait_until(lambda: alive() == [], 30), f"left alive: {alive()}"
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in alive():
            os.kill(pid, signal.SIGKILL)
