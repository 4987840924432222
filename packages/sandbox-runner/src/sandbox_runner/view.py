"""What of the host a bwrap sandbox sees: the system, never the host's private places.

The sandbox's root is an empty, read-only tmpfs. Into it go, read-only, the system
directories (`SYSTEM_DIRS`, as symlinks where the host has merged them into /usr) and a
private /etc: a copy of the few entries programs need to run, resolve names and check
certificates (`ETC_ENTRIES`, private keys left out), with a generated passwd and group
naming the sandbox's user. The copy is made once (`etc_dir`) and bound as one mount,
where binding each entry would cost a mount per entry on every command. Everything else
comes from the spec: its working directory and writable paths, its readable paths, the
programs it runs. $HOME, /root, /home, /run, /srv, /var, /opt, /mnt, /media,
/etc/shadow and the rest of /etc stay out of sight.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
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
# Inside the entries above, but holding private keys: never copied.
HIDDEN = ("ssl/private", "pki/tls/private", "pki/CA/private")
# The user the command runs as when apiary runs as root (mapped to root outside).
SANDBOX_UID = 1000
SANDBOX_USER = "sandbox"
_ETC = Path("/etc")
# Changes when `_fill` makes a different folder from the same host files.
_LAYOUT = 2


def sandbox_uid() -> int:
    """The command's uid inside the sandbox: the caller's own, or SANDBOX_UID for root."""
    uid = os.getuid()
    return SANDBOX_UID if uid == 0 else uid


def system_args() -> list[str]:
    """bwrap arguments that show the system directories and the private /etc, read-only."""
    args: list[str] = []
    for name in SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", str(path.readlink()), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    return [*args, "--ro-bind", str(etc_dir()), "/etc"]


def etc_dir() -> Path:
    """The sandbox's /etc, made once per state of the host's entries and uid.

    It lives in a folder of the temporary directory that only this user may write (else a
    private one per process) and is named by a digest of the entries' sizes and times, so
    a changed host file (a new resolv.conf, new certificates) gives a new copy.
    """
    stamp = _stamp()
    base = _private_base()
    folder = base / stamp
    if (folder / ".complete").is_file():
        return folder
    staging = Path(tempfile.mkdtemp(prefix=".etc-", dir=base))
    staging.chmod(0o755)
    _fill(staging)
    (staging / ".complete").write_text(stamp + "\n")
    try:
        staging.rename(folder)
    except OSError:  # another process made it first
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _stamp() -> str:
    digest = hashlib.sha256(f"{_LAYOUT}:{sandbox_uid()}".encode())
    for entry in ETC_ENTRIES:
        with contextlib.suppress(OSError):
            info = (_ETC / entry).stat()
            digest.update(f"{entry}:{info.st_size}:{info.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _private_base() -> Path:
    """`apiary-sandbox-etc-UID` in the temporary directory if it is ours alone."""
    base = Path(tempfile.gettempdir()) / f"apiary-sandbox-etc-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        base.mkdir(mode=0o700)
    info = base.lstat()
    mine = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
    if mine and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return base
    return Path(tempfile.mkdtemp(prefix="apiary-sandbox-etc-"))  # someone else's: not used


def _fill(folder: Path) -> None:
    hidden = {_ETC / name for name in HIDDEN}

    def skip(where: str, names: list[str]) -> set[str]:
        return {name for name in names if Path(where) / name in hidden}

    for entry in ETC_ENTRIES:
        source, target = _ETC / entry, folder / entry
        with contextlib.suppress(OSError, shutil.Error):
            if source.is_symlink() and visible(source.resolve(), ()):
                target.symlink_to(source.readlink())  # localtime's zone name is its target
            elif source.is_dir():
                shutil.copytree(source, target, symlinks=True, ignore=skip)
            elif source.is_file():  # a symlink (resolv.conf into /run) is copied resolved
                shutil.copyfile(source, target)
                target.chmod(0o644)
    for private in hidden:
        if (folder / private.relative_to(_ETC)).parent.is_dir():
            (folder / private.relative_to(_ETC)).mkdir(mode=0o700, exist_ok=True)
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


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def visible(path: Path, roots: tuple[Path, ...]) -> bool:
    """Whether `path` is inside the system view or one of `roots`."""
    system = tuple(Path(name) for name in SYSTEM_DIRS)
    return any(path.is_relative_to(root) for root in (*system, *roots))
