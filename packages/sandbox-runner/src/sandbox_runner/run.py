"""Running one command in a sandbox: spawn, stream output, enforce timeouts, reap, report."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sandbox_runner.backends import Backend, Launch, choose_backend
from sandbox_runner.childsetup import make_preexec
from sandbox_runner.diskwatch import DiskWatch
from sandbox_runner.envfilter import filter_env
from sandbox_runner.errors import SandboxError
from sandbox_runner.live import REGISTRY, LiveSandbox, terminate_on_signals
from sandbox_runner.output import CappedLog
from sandbox_runner.pidlimit import ProcessLimit, process_limit
from sandbox_runner.procscan import MARKER_VAR, new_marker, processes_with_env
from sandbox_runner.programs import programs_outside_view
from sandbox_runner.pump import Watch, drain, exited, pump
from sandbox_runner.reaper import ReaperChannel, Usage
from sandbox_runner.result import SandboxResult
from sandbox_runner.spec import SandboxSpec
from sandbox_runner.stackdump import SignalledProcess, signal_for_stacks
from sandbox_runner.status import decode_status, signal_name, suspect_oom
from sandbox_runner.treeusage import TreeUsage, tree_usage

# On a timeout, how long the reaper gets to kill the namespace and report usage.
STOP_GRACE_S = 2.0
# Lines searched for allocation-failure messages, whatever `tail_lines` is.
OOM_SCAN_LINES = 40
# What fork() failing with EAGAIN prints (RLIMIT_NPROC reached).
_FORK_FAILED = "Resource temporarily unavailable"


@dataclass
class _Ending:
    returncode: int
    usage: Usage | None = None
    watch: Watch = field(default_factory=Watch)
    interrupted: bool = False
    process_limit_hit: bool = False
    stacks_from: list[SignalledProcess] = field(default_factory=list)
    stopped_usage: TreeUsage | None = None


@dataclass
class _Run:
    """One prepared command: everything decided before it starts."""

    spec: SandboxSpec
    backend: Backend
    reason: str
    launch: Launch
    env: dict[str, str]
    marker: str
    withheld: list[str]
    stdout: CappedLog
    stderr: CappedLog | None
    pids: ProcessLimit

    @property
    def errors(self) -> CappedLog:
        return self.stderr or self.stdout


def run_sandboxed(spec: SandboxSpec) -> SandboxResult:
    """Run `spec.command` under `spec`'s isolation and limits and say what happened.

    Raises `SandboxError` when the sandbox cannot be set up as asked (missing working
    directory or writable path, bwrap asked for but unusable). Anything the command does,
    including failing to start, is reported in the result.
    """
    argv = spec.argv()
    cwd = _existing(spec.cwd, "cwd")
    writable = tuple(_existing(path, "writable") for path in spec.isolation.writable)
    readable = tuple(_existing(path, "readable") for path in spec.isolation.readable)
    backend, reason = choose_backend(spec.isolation)
    env, withheld = filter_env(spec.env, spec.env_policy, network=spec.isolation.network)
    marker = new_marker()
    env[MARKER_VAR] = marker
    if backend.name == "bwrap":
        _home_inside(env, (cwd, *writable))
    cap = spec.limits.output_cap_bytes
    stdout = _open_log(spec.stdout_log, cap, "stdout_log")
    try:
        stderr = _open_log(spec.stderr_log, cap, "stderr_log") if spec.stderr_log else None
    except SandboxError:
        stdout.close()
        raise
    run = _Run(
        spec=spec,
        backend=backend,
        reason=reason,
        launch=Launch(
            argv=argv,
            cwd=cwd,
            writable=writable,
            network=spec.isolation.network,
            readable=readable,
            tmp_bytes=spec.limits.tmp_bytes,
            shm_bytes=spec.limits.shm_bytes,
        ),
        env=env,
        marker=marker,
        withheld=withheld,
        stdout=stdout,
        stderr=stderr,
        pids=process_limit(spec.limits.processes, marker),
    )
    started = time.monotonic()
    try:
        missing = _missing_executable(argv[0], cwd, env)
        if missing is not None:
            run.errors.write(f"apiary sandbox: {missing}\n".encode())
            ending = _Ending(returncode=127)
        else:
            with terminate_on_signals():
                ending = _execute(run, started)
    finally:
        stdout.close()
        if stderr is not None:
            stderr.close()
        process_limit_hit = run.pids.finish()
    ending.process_limit_hit = process_limit_hit
    return _result(run, ending, time.monotonic() - started)


_PRIVATE_TMP = "/tmp"  # noqa: S108 - the sandbox's own tmpfs


def _home_inside(env: dict[str, str], writable: tuple[Path, ...]) -> None:
    """Point HOME at the private /tmp when the sandbox cannot write where it points
    (the host's home is not part of its view)."""
    home = env.get("HOME")
    if home is None or not any(Path(home).is_relative_to(path) for path in writable):
        env["HOME"] = _PRIVATE_TMP


def _execute(run: _Run, started: float) -> _Ending:
    channel = ReaperChannel() if run.backend.needs_reaper else None
    if channel is not None and channel.program.note:
        run.reason = f"{run.reason}; {channel.program.note}"
    try:
        return _supervise(run, started, channel)
    finally:
        if channel is not None:
            channel.close()


def _supervise(run: _Run, started: float, channel: ReaperChannel | None) -> _Ending:
    launch = _with_reaper(run, channel) if channel is not None else run.launch
    try:
        proc = subprocess.Popen(
            run.backend.wrap(launch),
            cwd=launch.cwd,
            env=run.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if run.stderr is not None else subprocess.STDOUT,
            start_new_session=True,
            pass_fds=channel.child_fds if channel is not None else (),
            preexec_fn=_preexec(run, in_namespace=channel is not None),  # noqa: PLW1509
        )
    except OSError as error:  # exec failed: not executable, bad interpreter line, ...
        program = run.launch.argv[0]
        run.errors.write(f"apiary sandbox: cannot execute {program}: {error}\n".encode())
        return _Ending(returncode=126)
    if channel is not None:
        channel.started()
    ending = _follow(run, launch, proc, started, channel)
    report = channel.read_report() if channel is not None else None
    if report is not None:
        ending.returncode, ending.usage = report.returncode, report.usage
    elif channel is not None:
        ending.usage = None  # bwrap's own usage says nothing about the command
    return ending


def _with_reaper(run: _Run, channel: ReaperChannel) -> Launch:
    """The launch with the reaper in front of the command, and visible in its view."""
    launch = run.launch
    reaper = channel.program.visible
    roots = (launch.cwd, *launch.writable, *launch.readable, *reaper)
    readable = (
        *launch.readable,
        *reaper,
        *programs_outside_view(launch.argv, run.env, roots),
    )
    nproc = run.pids.limit if run.pids.method == "rlimit" else None
    return replace(launch, argv=channel.wrap(launch.argv, nproc), readable=readable)


def _follow(
    run: _Run,
    launch: Launch,
    proc: subprocess.Popen[bytes],
    started: float,
    channel: ReaperChannel | None,
) -> _Ending:
    """Stream the started command's output until it ends or is stopped, then take its
    whole tree down and reap it."""
    sandbox = LiveSandbox(pid=proc.pid, backend=run.backend, marker=run.marker)
    REGISTRY.add(sandbox)
    streams: dict[int, CappedLog] = {_fd(proc.stdout): run.stdout}
    if run.stderr is not None:
        streams[_fd(proc.stderr)] = run.stderr
    status: tuple[int, resource.struct_rusage] | None = None
    stacks_from: list[SignalledProcess] = []
    stopped_usage: TreeUsage | None = None
    try:
        disk = DiskWatch.over((launch.cwd, *launch.writable), run.spec.limits.disk_bytes)
        watch = pump(proc.pid, streams, run.spec, started, disk)
        if watch.timed_out or watch.idle_timed_out:
            marked = processes_with_env(MARKER_VAR, run.marker)  # one /proc scan for both
            stopped_usage = tree_usage(marked)
            stacks_from = _ask_for_stacks(run, marked)
        if watch.stopped and channel is not None:
            channel.request_stop()  # let the reaper report the command's usage first
            _wait_exit(proc.pid, STOP_GRACE_S)
        sandbox.kill()
        drain(streams)
        status = _reap(proc.pid)
    finally:
        if status is None:  # interrupted by an exception: take the tree down anyway
            sandbox.kill()
            status = _reap(proc.pid)
        REGISTRY.remove(sandbox)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    proc.returncode = os.waitstatus_to_exitcode(status[0])
    usage = Usage(status[1].ru_maxrss, status[1].ru_utime + status[1].ru_stime)
    ending = _Ending(proc.returncode, usage, watch, sandbox.interrupted)
    ending.stacks_from = stacks_from
    ending.stopped_usage = stopped_usage
    return ending


def _ask_for_stacks(run: _Run, marked: list[int]) -> list[SignalledProcess]:
    """Before a timeout's kill: the stacks of the marked processes that can give them."""
    signum = run.spec.stack_signal
    if signum is None:
        return []
    return signal_for_stacks(marked, signum, run.spec.stack_wait_s)


def _preexec(run: _Run, *, in_namespace: bool) -> Callable[[], None]:
    """Limits applied between fork and exec: rlimits, the pids cgroup, and RLIMIT_NPROC
    when it is the process limit and no reaper sets it inside the namespace."""
    group = run.pids.group
    nproc = run.pids.limit if run.pids.method == "rlimit" and not in_namespace else None
    return make_preexec(
        run.spec.limits,
        pids_group=(group.path, run.pids.limit or 0) if group is not None else None,
        nproc=nproc,
    )


def _wait_exit(pid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not exited(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _reap(pid: int) -> tuple[int, resource.struct_rusage]:
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
        except InterruptedError:  # pragma: no cover - PEP 475 retries, kept for clarity
            continue
        return status, usage


def _fd(pipe: object) -> int:
    fileno = getattr(pipe, "fileno", None)
    if fileno is None:  # pragma: no cover - Popen always makes the pipes asked for
        raise SandboxError("internal: the command's output pipe was not created")
    number: int = fileno()
    return number


def _open_log(path: Path, cap: int, what: str) -> CappedLog:
    try:
        return CappedLog(path, cap)
    except OSError as error:
        raise SandboxError(f"{what}: cannot write {path}: {error.strerror}") from None


def _existing(path: Path, what: str) -> Path:
    resolved = path.expanduser().resolve()
    if not resolved.exists():
        raise SandboxError(f"{what}: {path} does not exist")
    if what == "cwd" and not resolved.is_dir():
        raise SandboxError(f"cwd: {path} is not a directory")
    return resolved


def _missing_executable(program: str, cwd: Path, env: dict[str, str]) -> str | None:
    """Why `program` cannot be executed, or None; the shell's 127 without a shell."""
    if "/" in program:
        path = cwd / program
        if not path.is_file():
            return f"{program}: no such file"
        if not os.access(path, os.X_OK):
            return f"{program}: not executable"
        return None
    if shutil.which(program, path=env.get("PATH", os.defpath)) is None:
        return f"{program}: command not found on PATH"
    return None


def _result(run: _Run, ending: _Ending, wall: float) -> SandboxResult:
    spec, stdout, stderr, usage = run.spec, run.stdout, run.stderr, ending.usage
    exit_code, signum = decode_status(ending.returncode)
    killed_by_us = ending.watch.stopped or ending.interrupted
    cpu = usage.cpu_s if usage is not None else None
    peak = usage.maxrss_kib * 1024 if usage is not None else None
    scan = stdout.last_lines(OOM_SCAN_LINES) + (
        stderr.last_lines(OOM_SCAN_LINES) if stderr is not None else []
    )
    limits = spec.limits
    cpu_hit = limits.cpu_s is not None and (
        signum == signal.SIGXCPU
        or (signum == signal.SIGKILL and not killed_by_us and (cpu or 0.0) >= limits.cpu_s)
    )
    fsize_hit = limits.fsize_bytes is not None and (
        signum == signal.SIGXFSZ or any("File too large" in line for line in scan)
    )
    pids_hit = ending.process_limit_hit or (
        run.pids.method == "rlimit" and any(_FORK_FAILED in line for line in scan)
    )
    oom = (
        exit_code != 0
        and not killed_by_us
        and not cpu_hit
        and suspect_oom(
            memory_limit=limits.memory_bytes if limits.memory_limit == "rlimit_as" else None,
            peak_rss_bytes=peak or 0,
            signal_number=signum,
            killed_by_us=killed_by_us,
            tail=scan,
        )
    )
    return SandboxResult(
        command=run.launch.argv,
        exit_code=exit_code,
        signal=signum,
        signal_name=signal_name(signum),
        timed_out=ending.watch.timed_out,
        idle_timed_out=ending.watch.idle_timed_out,
        stacks_from=ending.stacks_from,
        stopped_usage=ending.stopped_usage,
        interrupted=ending.interrupted,
        oom_suspected=oom,
        cpu_limit_hit=cpu_hit,
        file_size_limit_hit=fsize_hit,
        process_limit_hit=pids_hit,
        disk_limit_hit=ending.watch.disk is not None,
        limit_note=ending.watch.disk,
        process_limit=run.pids.describe(),
        wall_s=round(wall, 6),
        cpu_s=round(cpu, 6) if cpu is not None else None,
        peak_rss_bytes=peak,
        stdout_log=stdout.path,
        stderr_log=stderr.path if stderr is not None else None,
        stdout_bytes=stdout.total,
        stderr_bytes=stderr.total if stderr is not None else 0,
        stdout_truncated=stdout.truncated,
        stderr_truncated=stderr.truncated if stderr is not None else False,
        stdout_tail=stdout.last_lines(spec.tail_lines),
        stderr_tail=stderr.last_lines(spec.tail_lines) if stderr is not None else [],
        backend=run.backend.name,
        backend_reason=run.reason,
        network_isolated=run.backend.isolates_network(run.launch),
        withheld_env=run.withheld,
    )
