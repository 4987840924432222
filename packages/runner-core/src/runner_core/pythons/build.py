"""Building one variant of a CPython source into the user cache, once per key.

The key covers the source's identity (a tarball's sha256, a commit, a folder's digest),
the configure flags and the compilers. A build is listed only once its marker file is
written, last: an interrupted or failed build is never used, and is cleaned up.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runner_core.pythons.errors import BuildError
from runner_core.pythons.installed import MARKER, BuiltPython, builds_root, read_build
from runner_core.pythons.phases import Phase, Report, run_phases
from runner_core.pythons.source import PythonSource, materialize, open_source
from runner_core.pythons.toolchain import Toolchain, find_toolchain
from runner_core.pythons.variants import check_supported, configure_flags, parse_variant


def _quiet(phase: str, detail: str) -> None:
    del phase, detail


def build_cpython(
    source: PythonSource | str | Path,
    variant: str,
    *,
    rev: str | None = None,
    llvm: int | None = None,
    cache: Path | None = None,
    report: Report = _quiet,
) -> BuiltPython:
    """The build of `source` as `variant`: from the cache, or built now (minutes)."""
    parts = parse_variant(variant)
    flags = configure_flags(variant)
    if not isinstance(source, PythonSource):
        source = open_source(source, rev)
    tools = find_toolchain(flags, llvm)
    material = json.dumps([source.digest, variant, flags, tools.describe()])
    key = hashlib.sha256(material.encode()).hexdigest()[:12]
    name = _name(source, parts)
    root = builds_root(cache)
    prefix = root / f"cpython-{name}-{key}"
    root.mkdir(parents=True, exist_ok=True)
    with locked(root / f".{prefix.name}.lock"):
        found = read_build(prefix)
        if found is not None:
            report("cached", str(prefix))
            return found
        shutil.rmtree(prefix, ignore_errors=True)
        try:
            return _build(source, name, variant, flags, tools, key, prefix, root, report)
        except BaseException:
            shutil.rmtree(prefix, ignore_errors=True)  # never a half-built interpreter
            raise


def _name(source: PythonSource, parts: tuple[str, ...]) -> str:
    variant = "-".join(parts)
    if source.kind == "git" and source.rev:
        return f"{source.version}-{source.rev[:10]}-{variant}"
    return f"{source.version}-{variant}"


def _build(
    source: PythonSource,
    name: str,
    variant: str,
    flags: tuple[str, ...],
    tools: Toolchain,
    key: str,
    prefix: Path,
    root: Path,
    report: Report,
) -> BuiltPython:
    started = time.monotonic()
    work = root / "build" / _work_key(source, flags, tools, key)
    report("source", source.describe())
    tree = materialize(source, work)
    check_supported(tree, source.version, flags)
    tools.prepare(tree, report)
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    warnings = run_phases(
        _phases(tree, prefix, flags, tools),
        cwd=tree,
        env=tools.env(asan="--with-address-sanitizer" in flags),
        log_dir=logs,
        report=report,
    )
    record = {
        "name": name,
        "version": source.version,
        "variant": variant,
        "flags": list(flags),
        "key": key,
        "source": {
            "kind": source.kind,
            "location": str(source.location),
            "rev": source.rev,
            "digest": source.digest,
        },
        "compiler": tools.compiler,
        "llvm": tools.llvm,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(time.monotonic() - started, 1),
        "warnings": warnings,
        "logs": str(logs),
    }
    (prefix / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    if source.kind != "git":  # a checkout's build folder is kept for the next commit
        shutil.rmtree(work / "src", ignore_errors=True)
        for top in work.glob("Python-*"):
            shutil.rmtree(top, ignore_errors=True)
    built = read_build(prefix)
    if built is None:
        raise BuildError(f"{prefix}: the install did not produce an interpreter")
    return built


def _work_key(source: PythonSource, flags: tuple[str, ...], tools: Toolchain, key: str) -> str:
    """One build folder per checkout and configuration (incremental), else per build."""
    if source.kind != "git":
        return key
    material = json.dumps([str(source.location), flags, tools.describe()])
    return "git-" + hashlib.sha256(material.encode()).hexdigest()[:12]


def _phases(tree: Path, prefix: Path, flags: tuple[str, ...], tools: Toolchain) -> list[Phase]:
    configure = Phase(
        "configure",
        [
            "./configure",
            *flags,
            f"--prefix={prefix}",
            f"PYTHON_FOR_REGEN={sys.executable}",
            f"CC={tools.cc}",
        ],
    )
    jobs = str(os.cpu_count() or 1)
    return [
        configure,
        Phase("compile", ["make", f"-j{jobs}"]),
        Phase("install", ["make", "install"]),
    ]


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """One build of a key at a time, across processes (parallel test workers)."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
