"""Facts about a target interpreter, read from the interpreter itself."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from normalized_events import InterpreterInfo

from runner_core.errors import InterpreterError
from runner_core.sanitizers import sanitizer_env

# Runs inside the target interpreter: keep it valid for every version we may meet.
_PROBE = r"""
import json, sys, sysconfig
cfg = sysconfig.get_config_var
args = cfg("CONFIG_ARGS") or ""
cflags = (cfg("PY_CORE_CFLAGS") or "") + " " + (cfg("CFLAGS") or "")
jit = getattr(sys, "_jit", None)
if jit is not None:
    available = bool(jit.is_available())
    enabled = bool(jit.is_enabled())
else:
    available = "--enable-experimental-jit" in args or "_Py_JIT" in cflags
    # 3.13: "=yes-off" and "=interpreter" build it off by default (PYTHON_JIT=1 turns it on)
    enabled = available and "yes-off" not in args and "=interpreter" not in args
print(json.dumps({
    "executable": sys.executable,
    "version": ".".join(str(p) for p in sys.version_info[:3]),
    "full_version": sys.version,
    "implementation": sys.implementation.name,
    "jit_available": available,
    "jit_enabled": enabled,
    "free_threaded": bool(cfg("Py_GIL_DISABLED")),
    "debug_build": bool(cfg("Py_DEBUG")) or hasattr(sys, "gettotalrefcount"),
    "asan_build": "--with-address-sanitizer" in args or "-fsanitize=address" in cflags,
    "configure_flags": args,
    "minor": "%d.%d" % sys.version_info[:2],
}))
"""


@dataclass(frozen=True)
class Interpreter:
    """A target interpreter: where it is, what it is, and a key that changes with it."""

    path: Path
    info: InterpreterInfo
    minor: str
    identity: str

    @property
    def jit_available(self) -> bool:
        return bool(self.info.jit_available)


def resolve_path(spec: str) -> Path:
    """A path or a command name (``python3.13``) to an absolute executable path."""
    candidate = Path(spec).expanduser()
    if candidate.parent != Path() or candidate.is_file():
        return candidate.absolute()
    from runner_core.pythons import find_built

    built = find_built(spec)
    if built is not None:
        return built.python
    found = shutil.which(spec)
    if found is None:
        raise InterpreterError(
            f"target interpreter {spec!r}: not on PATH, and no build of that name "
            "(see `apiary python list`)"
        )
    return Path(found)


def _build_of(path: Path) -> dict[str, str | None]:
    """The `apiary python build` identity of the interpreter at `path`, if it is one."""
    from runner_core.pythons.installed import read_build

    build = read_build(Path(os.path.realpath(path)).parent.parent)
    if build is None:
        return {}
    return {
        "build_name": build.name,
        "build_key": build.key,
        "build_source": str(build.source.get("digest") or "") or None,
    }


@cache
def probe_interpreter(spec: str) -> Interpreter:
    path = resolve_path(spec)
    if not os.access(path, os.X_OK):
        raise InterpreterError(f"target interpreter {path}: not an executable file")
    try:
        done = subprocess.run(
            [str(path), "-I", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=60,
            # a sanitizer build's leak report at exit would fail the probe: leaks off,
            # the user's own sanitizer options merged
            env={
                "PATH": os.environ.get("PATH", ""),
                "PYTHON_JIT": "0",
                **sanitizer_env([os.environ]).values,
            },
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InterpreterError(f"target interpreter {path}: cannot run it ({exc})") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise InterpreterError(f"target interpreter {path}: probe failed: {last}")
    facts = json.loads(done.stdout)
    real = Path(os.path.realpath(path))
    stat = real.stat()
    # A rebuilt interpreter at the same path gets a new identity (size and mtime change).
    material = json.dumps(
        [str(real), facts["full_version"], facts["configure_flags"], stat.st_size, stat.st_mtime_ns]
    )
    identity = hashlib.sha256(material.encode()).hexdigest()[:16]
    info = InterpreterInfo(
        identity=identity,
        path=str(path),
        version=facts["version"],
        implementation=facts["implementation"],
        jit_available=facts["jit_available"],
        jit_enabled=facts["jit_enabled"],
        free_threaded=facts["free_threaded"],
        debug_build=facts["debug_build"],
        asan_build=facts["asan_build"],
        configure_flags=facts["configure_flags"],
        **_build_of(path),
    )
    return Interpreter(path=path, info=info, minor=facts["minor"], identity=identity)
