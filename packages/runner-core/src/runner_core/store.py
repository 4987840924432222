"""A shared, precompiled starting point for each package's own uv cache.

Every package installs with a uv cache of its own (see `environment.package_cache`): a
build backend may write it, so no other package may read it. Started empty, that cache
made each package download setuptools and pytest again, and each build compile
setuptools again (about half of a small editable install's CPU), and each venv compile
pytest's modules again.

The store is filled by apiary alone, once per interpreter, index settings and day: uv
fetches the wheels of `REQUIREMENTS` alone (wheels only, no dependencies: no package code
runs), then the target interpreter compiles their modules in the store's cache
(compiling runs nothing either). It is never mounted writable into a sandbox. A package
whose uv cache does not exist yet starts with a *copy* of it: a copy, not hard links, so
nothing the package's installs or build backends write reaches the store or another
package (and a sandboxed uv may not link a file it cannot write, so shared read-only
links would only make uv copy every file into each venv).

The store holds only what it saves work on: the compiled modules. pytest's dependencies
(pygments alone is 700 files) are downloaded and unpacked by each package's install as
before: copying them costs the disk as much as unpacking them, and on a busy disk more.
They stay uncompiled, as before: the test runs compile them in memory at every run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from runner_core.environment import host_index_settings, store_env
from runner_core.interpreter import Interpreter
from runner_core.workdir import WorkLayout

REQUIREMENTS = ("pytest", "setuptools")
# Top-level names compiled in the store: the build backend (imported by each build hook,
# with the JIT off) and pytest's own modules (what the install's inventory command compiles).
_COMPILED = ("setuptools", "_distutils_hack", "_pytest")
_FRESH_S = 24 * 3600
_RETRY_S = 3600
_KEPT_S = 7 * 24 * 3600
_TIMEOUT_S = 600
_READY = "ready.json"
_LOG = "fill.log"

# Per process, by interpreter identity and uv: each store is looked up once (a failed
# fill is not retried for every package, nor its key worked out again).
_known: dict[tuple[str, str], Path | None] = {}


def store_key(interpreter: Interpreter, uv: str) -> str:
    """Changes with the interpreter, uv (its cache's layout is its own), the index
    settings and what the store holds."""
    try:
        found = Path(uv).stat()
        installer = [uv, found.st_size, found.st_mtime_ns]
    except OSError:
        installer = [uv]
    settings = host_index_settings()
    material = json.dumps([interpreter.identity, installer, settings, REQUIREMENTS])
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def seed_package_cache(layout: WorkLayout, interpreter: Interpreter, uv: str, cache: Path) -> bool:
    """Give a package's uv cache (``cache``, not there yet) a copy of the store.

    False when the cache already exists or no store could be had; the install then fills
    the cache itself, as it always could.
    """
    if cache.exists():
        return False
    store = ready_store(layout, interpreter, uv)
    if store is None:
        return False
    partial = cache.with_name(cache.name + ".seeding")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        # Shared: a fill of the next day's store waits until the copy is done.
        with _locked(_lock_file(store.parent), exclusive=False):
            shutil.copytree(store, partial, symlinks=True)
        partial.rename(cache)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
        return False
    return True


def ready_store(layout: WorkLayout, interpreter: Interpreter, uv: str) -> Path | None:
    """The store's uv cache for this interpreter and these index settings, filled if it
    is missing or a day old (an older one serves while a new fill fails); None when it
    could never be filled (`fill.log` beside it says why)."""
    known = (interpreter.identity, uv)
    if known in _known:
        return _known[known]
    key = store_key(interpreter, uv)
    folder = layout.store / key
    with _locked(_lock_file(folder), exclusive=True):
        if not _fresh(folder / _READY, _FRESH_S) and not _fresh(folder / "failed", _RETRY_S):
            _fill(folder, interpreter, uv)
    found = folder / "uv" if (folder / _READY).is_file() else None
    _known[known] = found
    return found


def _fresh(marker: Path, within_s: float) -> bool:
    try:
        return time.time() - marker.stat().st_mtime < within_s
    except OSError:
        return False


def _lock_file(folder: Path) -> Path:
    return folder.with_name(folder.name + ".lock")


@contextmanager
def _locked(path: Path, exclusive: bool) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def _fill(folder: Path, interpreter: Interpreter, uv: str) -> None:
    """Fill a new copy of the store beside the old one, then put it in its place."""
    partial = folder.with_name(folder.name + ".filling")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "home").mkdir(parents=True)
    log = partial / _LOG
    fill_env = store_env(partial / "uv", partial / "home")
    fetch = [uv, "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:"]
    fetch += ["--python", str(interpreter.path), "--target", str(partial / "target")]
    ok = _command([*fetch, *REQUIREMENTS], partial, fill_env, log)
    compiled = _compiled_folders(partial / "uv")
    if ok and compiled:
        compile_all = [str(interpreter.path), "-s", "-m", "compileall", "-q", "-j", "0"]
        ok = _command([*compile_all, *map(str, compiled)], partial, fill_env, log)
    if not ok or not compiled:
        # Yesterday's store, if there is one, still serves until a fill succeeds.
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, folder / _LOG)
        (folder / "failed").touch()
        shutil.rmtree(partial, ignore_errors=True)
        return
    for scratch in ("target", "home"):
        shutil.rmtree(partial / scratch)
    (partial / _READY).write_text(json.dumps({"requirements": REQUIREMENTS}))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    _prune(folder.parent)


def _prune(stores: Path) -> None:
    """Stores of other interpreters or index settings unused for a week: removed."""
    for other in stores.iterdir():
        markers = (other / _READY, other / "failed", other)
        if other.is_dir() and not any(_fresh(m, _KEPT_S) for m in markers):
            shutil.rmtree(other, ignore_errors=True)


def _command(argv: list[str], cwd: Path, env: Mapping[str, str], log: Path) -> bool:
    with log.open("ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        try:
            done = subprocess.run(
                argv,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            out.write(f"error: {exc}\n".encode())
            return False
    return done.returncode == 0


def _compiled_folders(cache: Path) -> list[Path]:
    """The folders of `_COMPILED` in the unpacked wheels of the store's cache."""
    archives = cache / "archive-v0"
    if not archives.is_dir():
        return []
    return sorted(
        folder
        for wheel in archives.iterdir()
        for name in _COMPILED
        if (folder := wheel / name).is_dir()
    )
