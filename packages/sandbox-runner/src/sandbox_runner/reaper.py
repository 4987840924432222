"""A small supervisor that runs inside a PID namespace, next to the command.

Inside bubblewrap's PID namespace the command is reaped by bwrap's own init, so `wait4`
on bwrap from outside sees none of the command's CPU time or memory. The reaper is a
tiny program that bwrap starts instead of the command: it forks the command in a new
session, waits for it, and writes the exact wait status and rusage to a report pipe.
It comes in two builds speaking the same protocol: `reaper.c`, compiled once into the
user cache (`reaperbuild`), and `REAPER_SOURCE` below, run with `python -I -S` (importing
only built-in modules) when no C compiler is at hand. The C one adds a few milliseconds
to a command; the interpreter's start-up adds tens.

It also listens on a control pipe: a byte from apiary (a timeout) or end-of-file (apiary
died) makes it kill the command's session and every other process of the namespace
(`kill(-1, SIGKILL)` spares only the namespace's init and the caller; it is sent only when
the reaper is PID 2 under PID 1, bwrap's layout, never on the host), so the command's
usage is still reported before the sandbox goes down. It then exits the way the command
did, so bwrap's status stays meaningful even if the report is lost.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sandbox_runner.reaperbuild import c_reaper, find_compiler, reaper_cache

REPORT_WAIT_S = 2.0

REAPER_SOURCE = """\
import os, select, sys
import _signal as signal  # the C module: `signal` imports enum, which doubles start-up
ctl, rep, nproc = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
argv = sys.argv[4:]
os.set_inheritable(ctl, False)
os.set_inheritable(rep, False)
pid = os.fork()
if pid == 0:
    try:
        os.setsid()
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for sig in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        if nproc:  # counted per user namespace: bounds this command's tree alone
            import resource
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        os.execvp(argv[0], argv)
    except OSError as error:
        os.write(2, b"apiary sandbox: cannot execute %s: %s\\n"
                 % (argv[0].encode(), str(error.strerror).encode()))
        os._exit(127 if isinstance(error, FileNotFoundError) else 126)
    os._exit(126)
try:
    pidfd = os.pidfd_open(pid)
except (AttributeError, OSError):
    pidfd = None
listen = [ctl]
while True:
    ready = select.select(listen + ([pidfd] if pidfd is not None else []), [], [],
                          None if pidfd is not None else 0.05)[0]
    if ctl in ready:
        listen = []
        try:
            os.kill(pid, signal.SIGKILL)  # before its setsid() the group does not exist yet
            os.killpg(pid, signal.SIGKILL)
            if os.getpid() == 2 and os.getppid() == 1:  # bwrap's layout: surely a PID namespace
                os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
report = "%d %d %.6f %.6f\\n" % (status, usage.ru_maxrss, usage.ru_utime, usage.ru_stime)
try:
    os.write(rep, report.encode())
except OSError:
    pass
if os.WIFSIGNALED(status):
    sig = os.WTERMSIG(status)
    try:
        signal.signal(sig, signal.SIG_DFL)
    except (OSError, ValueError):
        pass
    os.kill(os.getpid(), sig)
    os._exit(128 + sig)
os._exit(os.waitstatus_to_exitcode(status))
"""


@dataclass(frozen=True)
class Usage:
    """What `wait4` says about the command: peak resident set and CPU seconds."""

    maxrss_kib: int
    cpu_s: float


@dataclass(frozen=True)
class ReaperReport:
    returncode: int
    usage: Usage


def reaper_python() -> str:
    """The interpreter that runs the reaper: this one, its real file (no venv needed)."""
    return str(Path(sys.executable).resolve())


def reaper_prefix() -> Path:
    """Where that interpreter's standard library lives (must be visible in the sandbox)."""
    return Path(sys.base_prefix).resolve()


ReaperKind = Literal["c", "python"]


@dataclass(frozen=True)
class ReaperProgram:
    """How to start a reaper: the argv before its own arguments, and what the sandbox
    must see read-only to run it."""

    kind: ReaperKind
    argv: tuple[str, ...]
    visible: tuple[Path, ...]
    # Why this one, when it is the fallback ("" for the C reaper).
    note: str = ""


def python_reaper(why: str = "") -> ReaperProgram:
    argv = (reaper_python(), "-I", "-S", "-c", REAPER_SOURCE)
    note = f"reaper: Python, {why}" if why else ""
    return ReaperProgram("python", argv, (reaper_prefix(),), note)


def choose_reaper(compiler: str | None = None) -> ReaperProgram:
    """The C reaper when it can be built (by `compiler`, else `find_compiler()`), else
    the Python one. Never fails: why the C reaper is not used is logged once and kept in
    the program's `note`."""
    built = c_reaper(compiler or find_compiler(), reaper_cache())
    if isinstance(built, str):
        return python_reaper(built)
    return ReaperProgram("c", (str(built),), (built,))


class ReaperChannel:
    """The two pipes between apiary and one reaper: control (to it) and report (from it)."""

    def __init__(self, program: ReaperProgram | None = None) -> None:
        self.program = program or choose_reaper()
        self.control_read, self._control_write = os.pipe()
        self._report_read, self.report_write = os.pipe()
        self._open = {self.control_read, self._control_write, self._report_read, self.report_write}

    @property
    def child_fds(self) -> tuple[int, int]:
        return self.control_read, self.report_write

    def wrap(self, argv: list[str], nproc: int | None = None) -> list[str]:
        """The reaper's argv around `argv`; `nproc` sets RLIMIT_NPROC for the command."""
        return [
            *self.program.argv,
            str(self.control_read),
            str(self.report_write),
            str(nproc or 0),
            *argv,
        ]

    def started(self) -> None:
        """Close the ends that now belong to the child."""
        for fd in self.child_fds:
            self._close(fd)

    def request_stop(self) -> None:
        """Ask the reaper to kill everything else in the namespace and report."""
        with contextlib.suppress(OSError):
            os.write(self._control_write, b"k")

    def read_report(self) -> ReaperReport | None:
        """The reaper's report, once it has exited (None if it never wrote one)."""
        self.started()  # our copy of the write end would keep the pipe open forever
        data = b""
        while select.select([self._report_read], [], [], REPORT_WAIT_S)[0]:
            chunk = os.read(self._report_read, 256)
            if not chunk:
                break
            data += chunk
        return parse_report(data)

    def close(self) -> None:
        for fd in list(self._open):
            self._close(fd)

    def _close(self, fd: int) -> None:
        # Only once: a second close could hit a descriptor another thread has since opened.
        if fd in self._open:
            self._open.discard(fd)
            os.close(fd)


def parse_report(data: bytes) -> ReaperReport | None:
    """`b"<wait status> <maxrss KiB> <utime> <stime>\\n"` -> a report; None if torn."""
    fields = data.decode(errors="replace").split()
    if len(fields) != 4:
        return None
    try:
        status, maxrss = int(fields[0]), int(fields[1])
        utime, stime = float(fields[2]), float(fields[3])
    except ValueError:
        return None
    return ReaperReport(os.waitstatus_to_exitcode(status), Usage(maxrss, utime + stime))
