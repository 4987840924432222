"""Building one variant of a CPython source tarball into the user cache."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runner_core.pythons.variants import configure_flags

_MARKER = ".apiary-build.json"
_LLVM_PIN = re.compile(r"^_LLVM_VERSION = (\d+)$", re.MULTILINE)
_TOP = re.compile(r"^Python-(?P<version>\d+\.\d+\.\d+[a-z0-9]*)/")


class BuildError(Exception):
    """A build that cannot be done; the message says which step and why."""


@dataclass(frozen=True)
class BuiltPython:
    prefix: Path
    python: Path
    version: str
    variant: str
    key: str


def user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "apiary"


def build_cpython(
    tarball: Path,
    variant: str,
    *,
    cache: Path | None = None,
    log: Callable[[str], None] = print,
) -> BuiltPython:
    """The build of `tarball` as `variant`, from the cache or built now (minutes)."""
    flags = configure_flags(variant)
    digest = _sha256(tarball)
    version = _tarball_version(tarball)
    tools = _toolchain(flags)
    material = json.dumps([digest, variant, flags, tools.describe()])
    key = hashlib.sha256(material.encode()).hexdigest()[:12]
    root = (cache or user_cache()) / "pythons"
    prefix = root / f"cpython-{version}-{variant}-{key}"
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f".{prefix.name}.lock"):
        found = _cached(prefix, version, variant, key)
        if found is not None:
            return found
        log(f"building CPython {version} ({variant}) into {prefix}")
        work = root / "build" / key
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(prefix, ignore_errors=True)
        source = _extract(tarball, work)
        tools.prepare(source, log)
        _run_build(source, prefix, flags, tools, log)
        built = BuiltPython(prefix, _python_in(prefix, version), version, variant, key)
        marker = {"version": version, "variant": variant, "key": key, "sha256": digest}
        (prefix / _MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
        shutil.rmtree(work, ignore_errors=True)
        return built


def _cached(prefix: Path, version: str, variant: str, key: str) -> BuiltPython | None:
    if not (prefix / _MARKER).is_file():
        return None
    python = _python_in(prefix, version)
    return BuiltPython(prefix, python, version, variant, key) if python.exists() else None


def _python_in(prefix: Path, version: str) -> Path:
    minor = ".".join(version.split(".")[:2])
    for name in (f"python{minor}", f"python{minor}t", f"python{minor}d"):
        if (prefix / "bin" / name).exists():
            return prefix / "bin" / name
    return prefix / "bin" / f"python{minor}"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One build of a key at a time, across processes (parallel test workers)."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise BuildError(f"{path}: cannot read the source tarball ({exc.strerror})") from exc
    return digest.hexdigest()


def _tarball_version(path: Path) -> str:
    try:
        with tarfile.open(path) as archive:
            first = archive.next()
    except (OSError, tarfile.TarError) as exc:
        raise BuildError(f"{path}: not a readable tar archive ({exc})") from exc
    found = _TOP.match((first.name + "/") if first is not None else "")
    if found is None:
        raise BuildError(f"{path}: not a CPython source tarball (no Python-X.Y.Z/ folder)")
    return found.group("version")


def _extract(tarball: Path, work: Path) -> Path:
    work.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(work, filter="data")
    tops = [p for p in work.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise BuildError(f"{tarball}: expected one Python-X.Y.Z folder, found {len(tops)}")
    return tops[0]


@dataclass(frozen=True)
class _Toolchain:
    cc: str
    compiler: str
    llvm: int | None

    def describe(self) -> list[object]:
        return [self.cc, self.compiler, self.llvm]

    def prepare(self, source: Path, log: Callable[[str], None]) -> None:
        """Point the JIT's stencil build at the LLVM that is installed."""
        if self.llvm is None:
            return
        pin_file = source / "Tools" / "jit" / "_llvm.py"
        text = pin_file.read_text(encoding="utf-8")
        found = _LLVM_PIN.search(text)
        if found is None or int(found.group(1)) == self.llvm:
            return
        log(
            f"the JIT of this source expects LLVM {found.group(1)}; using the installed "
            f"LLVM {self.llvm} (its stencils are built by another clang than upstream's CI)"
        )
        pin_file.write_text(_LLVM_PIN.sub(f"_LLVM_VERSION = {self.llvm}", text), encoding="utf-8")

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.llvm is not None:
            env["PATH"] = f"/usr/lib/llvm-{self.llvm}/bin:{env.get('PATH', '')}"
        return env


def _toolchain(flags: tuple[str, ...]) -> _Toolchain:
    cc = os.environ.get("CC") or "gcc"
    if shutil.which(cc.split()[0]) is None:
        raise BuildError(f"no C compiler: {cc!r} is not on PATH (apt-get install gcc)")
    compiler = _first_line([*cc.split(), "--version"])
    if shutil.which("ccache") and not cc.startswith("ccache"):
        cc = f"ccache {cc}"
    llvm = _installed_llvm() if "--enable-experimental-jit" in flags else None
    if "--enable-experimental-jit" in flags and llvm is None:
        raise BuildError(
            "the JIT needs clang and LLVM to build its stencils: apt-get install clang-19 "
            "llvm-19 lld-19"
        )
    return _Toolchain(cc, compiler, llvm)


def _installed_llvm() -> int | None:
    versions = [
        int(p.parent.parent.name.removeprefix("llvm-"))
        for p in Path("/usr/lib").glob("llvm-*/bin/clang")
        if p.parent.parent.name.removeprefix("llvm-").isdigit()
    ]
    return max(versions) if versions else None


def _first_line(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return (done.stdout.splitlines() or ["unknown"])[0]


def _run_build(
    source: Path,
    prefix: Path,
    flags: tuple[str, ...],
    tools: _Toolchain,
    log: Callable[[str], None],
) -> None:
    env = tools.env()
    if "--with-address-sanitizer" in flags:
        env["ASAN_OPTIONS"] = "detect_leaks=0"  # LeakSanitizer stops make at the bootstrap
    configure = [
        "./configure",
        *flags,
        f"--prefix={prefix}",
        f"PYTHON_FOR_REGEN={sys.executable}",
        f"CC={tools.cc}",
    ]
    jobs = str(os.cpu_count() or 1)
    for phase, argv in (
        ("configure", configure),
        ("compile", ["make", f"-j{jobs}"]),
        ("install", ["make", "install"]),
    ):
        log(f"{phase}: {' '.join(argv)}")
        build_log = source.parent / f"{phase}.log"
        with build_log.open("w") as handle:
            done = subprocess.run(
                argv, cwd=source, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False
            )
        if done.returncode != 0:
            tail = build_log.read_text(errors="replace").strip().splitlines()[-1:] or ["?"]
            raise BuildError(
                f"{phase} failed (exit {done.returncode}): {tail[0]} (see {build_log})"
            )
