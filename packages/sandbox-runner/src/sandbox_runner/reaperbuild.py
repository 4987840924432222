"""The C reaper (`reaper.c`), compiled on first use into the user cache.

The reaper starts once per sandboxed command, so its start-up is part of every command's
cost: the C reaper adds a few milliseconds to a command where the Python reaper's
interpreter adds tens. The source ships with the package; the first command that needs it compiles
it with the system C compiler into `$XDG_CACHE_HOME/apiary/reaper` (`~/.cache/...`),
a folder only the user may enter, named by the sha256 of the source and the compiler's
path, so an upgrade or another compiler gives a new program. The build goes to a
temporary name and is renamed into place, so a concurrent command never runs half a file,
and is run once per process around `true` before it is trusted.

`APIARY_REAPER_CC` names the compiler (a name on PATH or a path); empty or `none` means
no compiler. Unset, `cc` then `gcc` are looked up. Without a compiler, or when the build
or its check run fails or the cache folder is not the user's own, the sandbox uses the
Python reaper and says why: once per process at INFO on the `sandbox_runner` logger, and
in the result's `backend_reason`. The compiler runs with PATH and LC_ALL alone.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import stat
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

COMPILER_VAR = "APIARY_REAPER_CC"
COMPILE_TIMEOUT_S = 120.0
_NO_COMPILER = ("", "none")
_LOG = logging.getLogger("sandbox_runner")


class ReaperBuildError(Exception):
    """Why the C reaper cannot be used here (the Python reaper is used instead)."""


def reaper_cache() -> Path:
    """Where compiled reapers are kept: `$XDG_CACHE_HOME/apiary/reaper`."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "apiary" / "reaper"


def find_compiler(environ: dict[str, str] | None = None) -> str | None:
    """The C compiler to use: `APIARY_REAPER_CC` if set (None when it says none or is
    not found), else `cc` or `gcc` on PATH."""
    env = os.environ if environ is None else environ
    named = env.get(COMPILER_VAR)
    if named is not None:
        return None if named.strip() in _NO_COMPILER else shutil.which(named.strip())
    return shutil.which("cc") or shutil.which("gcc")


def reaper_source() -> bytes:
    return resources.files("sandbox_runner").joinpath("reaper.c").read_bytes()


def compiled_reaper(compiler: str, cache: Path) -> Path:
    """The C reaper built by `compiler` under `cache`, compiled now if not yet there.

    Raises `ReaperBuildError` when the folder is not the user's own or the build fails.
    """
    source = reaper_source()
    compiler = str(Path(compiler).resolve())
    digest = hashlib.sha256(source + b"\0" + compiler.encode()).hexdigest()[:24]
    folder = _private_folder(cache)
    program = folder / f"reaper-{digest}"
    if _usable(program):
        return program
    fd, name = tempfile.mkstemp(prefix=".build-", dir=folder)
    os.close(fd)
    staging = Path(name)
    try:
        _compile(compiler, source, staging)
        staging.chmod(0o755)
        staging.replace(program)
    finally:
        staging.unlink(missing_ok=True)
    return program


@functools.cache
def c_reaper(compiler: str | None, cache: Path) -> Path | str:
    """The C reaper, or why it cannot be had (logged once per process and arguments)."""
    if compiler is None:
        why = f"no C compiler ({COMPILER_VAR} says none, or no cc/gcc on PATH)"
    else:
        try:
            return check_reaper(compiled_reaper(compiler, cache))
        except (ReaperBuildError, OSError) as error:
            why = f"the C reaper cannot be built: {error}"
    _LOG.info("sandbox reaper: Python, %s", why)
    return why


def check_reaper(program: Path) -> Path:
    """`program` once around `true`, as the sandbox runs it: a cache on a `noexec` mount
    or a broken build shows here, not as every command failing."""
    control_read, control_write = os.pipe()
    report_read, report_write = os.pipe()
    true = shutil.which("true") or "/bin/true"
    argv = [str(program), str(control_read), str(report_write), "0", true]
    try:
        done = subprocess.run(
            argv,
            pass_fds=(control_read, report_write),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=COMPILE_TIMEOUT_S,
            check=False,
        )
        os.close(report_write)
        report_write = -1
        report = os.read(report_read, 256).split()
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ReaperBuildError(f"{program} does not run: {error}") from error
    finally:
        for fd in (control_read, control_write, report_read, report_write):
            if fd >= 0:
                os.close(fd)
    if done.returncode != 0 or len(report) != 4 or report[0] != b"0":
        said = " ".join(done.stderr.decode(errors="replace").split())[:300]
        raise ReaperBuildError(f"{program} failed its check run: {said or done.returncode}")
    return program


def _private_folder(cache: Path) -> Path:
    cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = cache.lstat()
    mine = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
    if not mine or info.st_mode & 0o077:
        raise ReaperBuildError(f"{cache} is not a folder only this user may enter (mode 0700)")
    return cache


def _usable(program: Path) -> bool:
    try:
        info = program.lstat()
    except FileNotFoundError:
        return False
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_uid == os.getuid()
        and stat.S_IMODE(info.st_mode) == 0o755
    )


def _compile(compiler: str, source: bytes, output: Path) -> None:
    argv = [compiler, "-O2", "-x", "c", "-o", str(output), "-"]
    # The compiler sees no secret of apiary's environment: only where its tools are.
    env = {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C"}
    try:
        done = subprocess.run(
            argv,
            input=source,
            capture_output=True,
            env=env,
            timeout=COMPILE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ReaperBuildError(f"{compiler} could not compile reaper.c: {error}") from error
    if done.returncode != 0:
        said = " ".join(done.stderr.decode(errors="replace").split())[:300]
        raise ReaperBuildError(f"{compiler} failed on reaper.c: {said}")
