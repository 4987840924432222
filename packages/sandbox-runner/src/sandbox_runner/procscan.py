"""Finding the processes of a sandbox through /proc, even those that left its process group.

Every sandboxed command gets `APIARY_SANDBOX_ID=<owner pid>.<owner start time>.<serial>`
in its environment. A descendant that called `setsid()` escapes a process-group kill but
normally keeps its environment, so a scan of `/proc/*/environ` still finds it. The owner
part lets a later apiary recognise sandboxes whose apiary died (`sweep_orphans`).
"""

from __future__ import annotations

import itertools
import os
import signal
from pathlib import Path

MARKER_VAR = "APIARY_SANDBOX_ID"
_PROC = Path("/proc")
_serials = itertools.count(1)


def stat_fields(stat_file: Path) -> list[str] | None:
    """The fields of a /proc `stat` file after the command name, from field 3 (the state)
    on; None when it cannot be read (the process or thread is gone)."""
    try:
        stat = stat_file.read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    return stat[stat.rfind(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """The start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat)."""
    fields = stat_fields(_PROC / str(pid) / "stat")
    return int(fields[19]) if fields else None


def is_running(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie."""
    fields = stat_fields(_PROC / str(pid) / "stat")
    return fields is not None and fields[0] not in ("Z", "X")


def new_marker() -> str:
    me = os.getpid()
    return f"{me}.{start_time(me) or 0}.{next(_serials)}"


def _environ(pid: str) -> bytes:
    # os-level calls: this runs over every process after every command.
    try:
        fd = os.open(f"/proc/{pid}/environ", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return b""
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return b""
    finally:
        os.close(fd)


def processes_with_env(name: str, value: str | None = None) -> list[int]:
    """PIDs of live processes whose environment has `name` (set to `value`, if given)."""
    key = f"{name}=".encode()
    wanted = key if value is None else key + value.encode() + b"\0"
    me = str(os.getpid())
    found = []
    with os.scandir(_PROC) as entries:
        for entry in entries:
            if not entry.name.isdigit() or entry.name == me:
                continue
            environ = _environ(entry.name)
            if environ.startswith(wanted) or b"\0" + wanted in environ:
                found.append(int(entry.name))
    return found


def kill_marked(marker: str, rounds: int = 3) -> list[int]:
    """SIGKILL every process carrying `marker`; repeat while new ones appear (forks)."""
    killed: list[int] = []
    for _ in range(rounds):
        pids = [pid for pid in processes_with_env(MARKER_VAR, marker) if pid not in killed]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed.append(pid)
    return killed


def sweep_orphans() -> list[int]:
    """Kill sandboxed processes whose apiary is gone; return their PIDs.

    For the `none` backend after a `kill -9` of apiary (bubblewrap sandboxes die with
    their apiary on their own). Sandboxes of a running apiary are left alone.
    """
    killed: list[int] = []
    owners: dict[str, bool] = {}
    for pid in processes_with_env(MARKER_VAR):
        marker = _marker_of(pid)
        if marker is None:
            continue
        owner = marker.rsplit(".", 1)[0]
        if owner not in owners:
            owners[owner] = _owner_alive(owner)
        if owners[owner]:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        killed.append(pid)
    return killed


def _marker_of(pid: int) -> str | None:
    prefix = f"{MARKER_VAR}=".encode()
    for item in _environ(str(pid)).split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix) :].decode(errors="replace")
    return None


def _owner_alive(owner: str) -> bool:
    pid_text, _, started = owner.partition(".")
    try:
        pid, start = int(pid_text), int(started)
    except ValueError:
        return True  # not ours to judge
    return is_running(pid) and start_time(pid) == start
