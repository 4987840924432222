"""What of the host a bwrap sandbox sees: the system, never the host's private places.

The sandbox's root is an empty, read-only tmpfs. Into it go, read-only, the system
directories (`SYSTEM_DIRS`, as symlinks where the host has merged them into /usr), the
few files of /etc that programs need to run, resolve names and check certificates
(`ETC_ENTRIES`), and a generated /etc/passwd and /etc/group naming the sandbox's user.
Everything else comes from the spec: its working directory and writable paths, its
readable paths, the programs it runs. $HOME, /root, /home, /run, /srv, /var, /opt, /mnt,
/media, /etc/shadow and the rest of /etc stay out of sight.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_ENTRIES = (
    # the dynamic loader
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    # names, addresses, services
    "hosts",
    "host.conf",
    "resolv.conf",
    "nsswitch.conf",
    "gai.conf",
    "services",
    "protocols",
    "networks",
    # certificates
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "pki",
    "crypto-policies",
    # time, locale, file types, the system's name
    "localtime",
    "timezone",
    "locale.alias",
    "mime.types",
    "os-release",
    "debian_version",
    "lsb-release",
    "fonts",
    # installers' system-wide settings (never per-user ones: those live in $HOME)
    "pip.conf",
    "xdg",
)
# Inside the entries above, but holding private keys: covered by an empty tmpfs.
HIDDEN = ("/etc/ssl/private", "/etc/pki/tls/private", "/etc/pki/CA/private")
# The user the command runs as when apiary runs as root (mapped to root outside).
SANDBOX_UID = 1000
SANDBOX_USER = "sandbox"


def sandbox_uid() -> int:
    """The command's uid inside the sandbox: the caller's own, or SANDBOX_UID for root."""
    uid = os.getuid()
    return SANDBOX_UID if uid == 0 else uid


def system_args() -> list[str]:
    """bwrap arguments that show the system directories and the /etc entries, read-only."""
    args: list[str] = []
    for name in SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", str(path.readlink()), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    for entry in ETC_ENTRIES:
        path = Path("/etc") / entry
        if _exists(path):  # a dangling symlink (resolv.conf into an absent /run) is skipped
            args += ["--ro-bind", str(path), str(path)]
    for hidden in HIDDEN:
        if _exists(Path(hidden)):
            args += ["--size", "4096", "--tmpfs", hidden, "--remount-ro", hidden]
    folder = identity_dir()
    for name in ("passwd", "group"):
        args += ["--ro-bind", str(folder / name), f"/etc/{name}"]
    return args


_IDENTITY: dict[str, Path] = {}


def identity_dir() -> Path:
    """A folder holding the sandbox's /etc/passwd and /etc/group (made once per process,
    again if something removed it, deleted at exit)."""
    folder = _IDENTITY.get("dir")
    if folder is not None and (folder / "group").is_file():
        return folder
    folder = Path(tempfile.mkdtemp(prefix="apiary-sandbox-etc-"))
    folder.chmod(0o755)
    uid = sandbox_uid()
    home = "/tmp"  # noqa: S108 - the sandbox's private /tmp
    (folder / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        f"{SANDBOX_USER}:x:{uid}:{uid}:apiary sandbox:{home}:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    (folder / "group").write_text(f"root:x:0:\n{SANDBOX_USER}:x:{uid}:\nnogroup:x:65534:\n")
    for name in ("passwd", "group"):
        (folder / name).chmod(0o644)
    _IDENTITY["dir"] = folder
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def visible(path: Path, roots: tuple[Path, ...]) -> bool:
    """Whether `path` is inside the system view or one of `roots`."""
    system = tuple(Path(name) for name in SYSTEM_DIRS)
    return any(path.is_relative_to(root) for root in (*system, *roots))
