"""The `bwrap` backend: bubblewrap namespaces around the command.

- `--unshare-pid`: the command is in its own PID namespace; when its init dies the kernel
  kills every process in it, including descendants that called `setsid()`.
- `--die-with-parent`: that init gets SIGKILL when bwrap dies; bwrap itself gets SIGKILL
  when apiary dies (PR_SET_PDEATHSIG set before exec), so `kill -9` of apiary leaves
  nothing running.
- `--ro-bind / /` then `--bind` for the working directory and each writable path: the host
  is read-only except those; `--tmpfs /tmp` gives a private, empty /tmp; `--dev`/`--proc`
  fresh device and proc trees.
- `--unshare-net` unless the network is allowed: only a private loopback interface.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from sandbox_runner.backends.base import Launch
from sandbox_runner.backends.none import kill_group
from sandbox_runner.result import UsedBackend

# The sandbox's own /tmp: a fresh tmpfs inside the mount namespace, not the host's.
_PRIVATE_TMP = "/tmp"  # noqa: S108

PROBE_TIMEOUT_S = 10.0
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
        args = [self.executable, "--die-with-parent", "--unshare-pid", "--unshare-ipc"]
        if not launch.network:
            args.append("--unshare-net")
        args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        args += ["--tmpfs", _PRIVATE_TMP]
        for path in launch.readable:
            if path.is_relative_to(_PRIVATE_TMP):  # hidden by the private /tmp otherwise
                args += ["--ro-bind", str(path), str(path)]
        for path in (launch.cwd, *launch.writable):
            args += ["--bind", str(path), str(path)]
        args += ["--chdir", str(launch.cwd), "--", *launch.argv]
        return args

    def isolates_network(self, launch: Launch) -> bool:
        return not launch.network

    def kill_tree(self, pgid: int, marker: str) -> None:
        # bwrap leads the group: once it dies, --die-with-parent kills the namespace's init
        # and with it every process in the namespace.
        kill_group(pgid)


def probe_argv(executable: str) -> list[str]:
    """The probe run: the same namespaces and mounts the backend uses, around `true`."""
    true = shutil.which("true") or "/bin/true"
    return [
        executable,
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-net",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        _PRIVATE_TMP,
        "--",
        true,
    ]


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
