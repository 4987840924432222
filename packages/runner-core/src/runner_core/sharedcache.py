"""Wheels from the package index, downloaded once per work dir for every package's installs.

Each package installs with a cache of its own (`environment.package_cache`): its build
backend runs with write access to that cache, so a cache shared by every install would
let one package plant code in what later packages install. The shared cache keeps that
property by being written by apiary alone and read by nobody but apiary:

- after a package installed with uv, `keep` fetches the wheels it installed from the
  index (pinned `name==version`, read from the venv's metadata) and the names of its
  build requirements into the shared cache, with `uv pip install --no-build --no-deps
  --target <scratch>`: uv downloads and unpacks wheels and runs no code of any package
  (no build, no install hook; the interpreter queried is the target itself, not the
  venv's), and each name and version must look like one, so nothing read from the venv
  becomes an option;
- before a package's install, `give` copies the shared cache into the package's own
  cache. Its build backend may then rewrite that copy, which no other install reads.

The fetch downloads into a scratch cache and merges it in under an exclusive lock; a
copy takes the lock shared, so no copy sees half a merge. Every install copies the whole
shared cache, so it stops growing at `LIMIT_BYTES` (what a hunt of many packages would
otherwise copy each time would cost more than the downloads it saves): from there on,
packages fetch what the shared cache lacks for themselves, as they did without it.
"""

from __future__ import annotations

import fcntl
import re
import shutil
import subprocess
import tempfile
import threading
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+!_]*$")
_RECORD = "fetched.txt"
_SIZE = "size"
_LOCK = ".lock"
LIMIT_BYTES = 256 << 20
# What uv builds a project without [build-system] with.
_LEGACY_BUILD = ("setuptools",)


def shared_cache(work_dir: Path) -> Path:
    path = work_dir / "cache" / "shared"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _locked(root: Path, how: int) -> Iterator[None]:
    with (root / _LOCK).open("a") as handle:
        fcntl.flock(handle, how)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def give(work_dir: Path, package_cache: Path) -> None:
    """Copy what the shared cache holds into one package's uv cache (`<cache>/uv`)."""
    root = shared_cache(work_dir)
    with _locked(root, fcntl.LOCK_SH):
        source = root / "uv"
        if source.is_dir() and _size(root) <= LIMIT_BYTES:
            shutil.copytree(source, package_cache / "uv", symlinks=True, dirs_exist_ok=True)


def index_wheels(site_packages: Path) -> list[str]:
    """`name==version` of each distribution in `site_packages` that came from an index
    (not from a path or URL: those have a `direct_url.json`), sorted."""
    found = []
    for info in site_packages.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        if (info / "direct_url.json").exists():
            continue
        if _NAME.match(name) and _VERSION.match(version):
            found.append(f"{name}=={version}")
    return sorted(found)


def build_requirements(source: Path) -> list[str]:
    """The names of the project's build requirements (pyproject's [build-system])."""
    try:
        data = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return list(_LEGACY_BUILD)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    system = data.get("build-system")
    if not isinstance(system, dict) or "requires" not in system:
        return list(_LEGACY_BUILD)
    names = []
    for requirement in system.get("requires") or []:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", str(requirement).strip())
        if match and _NAME.match(match.group(0)):
            names.append(match.group(0))
    return names


def keep(
    work_dir: Path,
    uv: str,
    interpreter: Path,
    wanted: list[str],
    env: Mapping[str, str],
    timeout_s: float = 600,
) -> list[str]:
    """Fetch the wheels `wanted` (requirements) that the shared cache lacks; the ones
    fetched. A requirement without a wheel for the interpreter is left out, quietly:
    its install builds it, as before."""
    root = shared_cache(work_dir)
    with _locked(root, fcntl.LOCK_SH):
        record = root / _RECORD
        known = set(record.read_text().split()) if record.is_file() else set()
        full = _size(root) > LIMIT_BYTES
    missing = sorted(set(wanted) - known)
    if not missing or full:
        return []
    with tempfile.TemporaryDirectory(dir=root, prefix="fetch-") as scratch:
        cache = Path(scratch) / "uv"
        fetched = _fetch(uv, interpreter, missing, cache, Path(scratch), env, timeout_s)
        if fetched:
            added = _tree_bytes(cache)
            with _locked(root, fcntl.LOCK_EX):
                shutil.copytree(cache, root / "uv", symlinks=True, dirs_exist_ok=True)
                with (root / _RECORD).open("a") as out:
                    out.writelines(f"{line}\n" for line in fetched)
                (root / _SIZE).write_text(str(_size(root) + added))
    return fetched


def _size(root: Path) -> int:
    """Bytes merged into the shared cache so far (an upper bound: merges may overlap)."""
    try:
        return int((root / _SIZE).read_text())
    except (OSError, ValueError):
        return 0


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _fetch(
    uv: str,
    interpreter: Path,
    requirements: list[str],
    cache: Path,
    scratch: Path,
    env: Mapping[str, str],
    timeout_s: float,
) -> list[str]:
    """All at once; when one of them has no wheel, each alone."""
    if _uv_fetch(uv, interpreter, requirements, cache, scratch, env, timeout_s):
        return requirements
    if len(requirements) == 1:
        return []
    return [
        one
        for one in requirements
        if _uv_fetch(uv, interpreter, [one], cache, scratch, env, timeout_s)
    ]


def _uv_fetch(
    uv: str,
    interpreter: Path,
    requirements: list[str],
    cache: Path,
    scratch: Path,
    env: Mapping[str, str],
    timeout_s: float,
) -> bool:
    target = scratch / "target"
    argv = [
        uv, "pip", "install", "--quiet", "--no-build", "--no-deps", "--no-config",
        "--python", str(interpreter), "--target", str(target), "--cache-dir", str(cache),
        "--", *requirements,
    ]  # fmt: skip
    try:
        done = subprocess.run(
            argv,
            env={**env, "UV_CACHE_DIR": str(cache)},
            cwd=scratch,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        shutil.rmtree(target, ignore_errors=True)
    return done.returncode == 0


def keep_in_background(
    work_dir: Path,
    uv: str,
    interpreter: Path,
    venv: Path,
    source: Path,
    env: Mapping[str, str],
) -> threading.Thread:
    """`keep` what the install into `venv` fetched from the index and what building
    `source` needs, while the package's tests run; join the thread before leaving."""
    wanted = [*index_wheels(site_packages(venv)), *build_requirements(source)]
    thread = threading.Thread(
        target=keep, args=(work_dir, uv, interpreter, wanted, dict(env)), daemon=False
    )
    thread.start()
    return thread


def site_packages(venv: Path) -> Path:
    """The venv's site-packages (lib/pythonX.Y[t]/site-packages)."""
    found = sorted(venv.glob("lib/python*/site-packages"))
    return found[0] if found else venv / "lib" / "site-packages"
