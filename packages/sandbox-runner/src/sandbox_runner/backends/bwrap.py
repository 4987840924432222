"""The `bwrap` backend: bubblewrap namespaces around the command, with least privilege.

- `--unshare-user` with `--uid`/`--gid`: the command runs as an ordinary user of its own
  user namespace (`view.sandbox_uid()`), also when apiary runs as root; `--cap-drop ALL`
  leaves it no capability, `--disable-userns` forbids it a nested user namespace (where it
  would get capabilities back), and bwrap sets `no_new_privs`, so setuid programs give
  nothing.
- `--unshare-pid`: the command is in its own PID namespace; when its init dies the kernel
  kills every process in it, including descendants that called `setsid()`.
- `--die-with-parent`: that init gets SIGKILL when bwrap dies; bwrap itself gets SIGKILL
  when apiary dies (PR_SET_PDEATHSIG set before exec), so `kill -9` of apiary leaves
  nothing running.
- The root is an empty tmpfs made read-only at the end (`--remount-ro /`); `view.py` puts
  the system into it read-only, then come the readable paths (read-only) and the working
  directory and writable paths (read-write), parents before children. `/tmp` and
  `/dev/shm` are private tmpfs of bounded size, `/dev` is read-only apart from them.
- `--unshare-net` unless the network is allowed: only a private loopback interface, so
  neither the host's network services nor its abstract UNIX sockets answer.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from sandbox_runner.backends.base import Launch
from sandbox_runner.backends.none import kill_group
from sandbox_runner.result import UsedBackend
from sandbox_runner.view import sandbox_uid, system_args

# The sandbox's own /tmp: a fresh tmpfs inside the mount namespace, not the host's.
_PRIVATE_TMP = "/tmp"  # noqa: S108

PROBE_TIMEOUT_S = 10.0
PROBE_TMP_BYTES = 1024 * 1024
_SYSCTL = Path("/proc/sys")
_NAMESPACE_TROUBLE = (
    "namespace",
    "uid map",
    "Operation not permitted",
    "Permission denied",
    "No permissions",
)


class BwrapBackend:
    def __init__(self, executable: str) -> None:
        self.executable = executable

    @property
    def name(self) -> UsedBackend:
        return "bwrap"

    @property
    def needs_reaper(self) -> bool:
        return True

    def wrap(self, launch: Launch) -> list[str]:
        args = [self.executable, *namespace_args(launch.network)]
        args += private_args(launch.tmp_bytes, launch.shm_bytes)
        args += bind_args(launch)
        args += ["--remount-ro", "/", "--chdir", str(launch.cwd), "--", *launch.argv]
        return args

    def isolates_network(self, launch: Launch) -> bool:
        return not launch.network

    def kill_tree(self, pgid: int, marker: str) -> None:
        # bwrap leads the group: once it dies, --die-with-parent kills the namespace's init
        # and with it every process in the namespace.
        kill_group(pgid)


def namespace_args(network: bool) -> list[str]:
    """New namespaces (user, PID, IPC, UTS, network unless allowed), no capabilities."""
    uid = str(sandbox_uid())
    args = ["--die-with-parent", "--unshare-user", "--uid", uid, "--gid", uid]
    args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "sandbox"]
    if not network:
        args.append("--unshare-net")
    return [*args, "--cap-drop", "ALL", "--disable-userns"]


def private_args(tmp_bytes: int, shm_bytes: int) -> list[str]:
    """The system view, fresh /dev and /proc, private bounded /tmp and /dev/shm."""
    return [
        *system_args(),
        "--dev",
        "/dev",
        "--size",
        str(shm_bytes),
        "--tmpfs",
        "/dev/shm",  # noqa: S108 - the sandbox's own tmpfs
        "--remount-ro",
        "/dev",
        "--proc",
        "/proc",
        "--size",
        str(tmp_bytes),
        "--tmpfs",
        _PRIVATE_TMP,
    ]


def bind_args(launch: Launch) -> list[str]:
    """Readable paths read-only, the working directory and writable paths read-write;
    shallower paths first so that a deeper one is mounted over them, not under."""
    modes: dict[Path, str] = dict.fromkeys(launch.readable, "--ro-bind")
    for path in (launch.cwd, *launch.writable):
        modes[path] = "--bind"
    args: list[str] = []
    for path in sorted(modes, key=lambda p: (len(p.parts), str(p))):
        args += [modes[path], str(path), str(path)]
    return args


def probe_argv(executable: str) -> list[str]:
    """The probe run: the same namespaces and mounts the backend uses, around `true`."""
    true = shutil.which("true") or "/bin/true"
    launch = Launch(
        argv=[true],
        cwd=Path("/"),
        writable=(),
        network=False,
        tmp_bytes=PROBE_TMP_BYTES,
        shm_bytes=PROBE_TMP_BYTES,
    )
    return BwrapBackend(executable).wrap(launch)


@functools.cache
def probe_bwrap(executable: str = "bwrap") -> tuple[bool, str]:
    """Whether bubblewrap can run sandboxes here, and why (cached per process).

    Runs bwrap once for real with the backend's namespaces. `executable` is a name looked
    up on PATH or a path. The reason names the fix when there is a usual one.
    """
    found = shutil.which(executable)
    if found is None:
        return False, (
            f"bubblewrap ({executable}) is not installed or not on PATH; "
            "install it (apt-get install bubblewrap, dnf install bubblewrap)"
        )
    try:
        done = subprocess.run(
            probe_argv(found),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"bubblewrap ({found}) could not run its probe: {error}"
    if done.returncode == 0:
        return True, f"bubblewrap probe run succeeded ({found})"
    said = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
    if any(word in said for word in _NAMESPACE_TROUBLE):
        return False, f"bubblewrap ({found}) cannot create namespaces: {said}; {userns_fix()}"
    return False, f"bubblewrap ({found}) probe run failed: {said}"


def userns_fix() -> str:
    """The usual fix for blocked user namespaces on this kernel."""
    if _read_sysctl("kernel/apparmor_restrict_unprivileged_userns") == "1":
        return (
            "AppArmor blocks unprivileged user namespaces (Ubuntu 23.10+): "
            "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, "
            "or add an AppArmor profile that allows userns for bwrap"
        )
    if _read_sysctl("kernel/unprivileged_userns_clone") == "0":
        return "unprivileged user namespaces are off: sysctl -w kernel.unprivileged_userns_clone=1"
    if _read_sysctl("user/max_user_namespaces") == "0":
        return "user namespaces are disabled: sysctl -w user.max_user_namespaces=15000"
    return (
        "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
        "kernel.apparmor_restrict_unprivileged_userns=0) or run where they are permitted "
        "(containers need --security-opt seccomp=unconfined or --privileged)"
    )


def _read_sysctl(name: str) -> str | None:
    try:
        return (_SYSCTL / name).read_text().strip()
    except OSError:
        return None
