"""Running configure, make and make install, reporting the phase, explaining failures."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from runner_core.pythons.errors import BuildError

Report = Callable[[str, str], None]  # (phase, detail)

# Known causes, read from a failed phase's log: (pattern, what to say).
_CAUSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"Can't find (clang|llvm-\w+)-(\d+)"),
        "no {0}-{1} (apt-get install clang-{1} llvm-{1} lld-{1})",
    ),
    (
        re.compile(r"PYTHON_FOR_REGEN|python3?\.\d+: (?:not found|No such file)"),
        "no usable PYTHON_FOR_REGEN (a Python >= 3.11 for the code generators)",
    ),
    (
        re.compile(r"ffi\.h: No such file"),
        "the libffi headers are missing (apt-get install libffi-dev)",
    ),
    (
        re.compile(r"zlib\.h: No such file"),
        "the zlib headers are missing (apt-get install zlib1g-dev)",
    ),
    (
        re.compile(r"openssl/\w+\.h: No such file"),
        "the OpenSSL headers are missing (apt-get install libssl-dev)",
    ),
    (re.compile(r"configure: error: (?P<text>.+)"), "{text}"),
    (re.compile(r"(?P<text>\S+\.[ch]:\d+:\d+: (?:fatal )?error: .+)"), "{text}"),
)
_STENCILS = re.compile(r"Tools/jit/build\.py|jit_stencils")
_COMPILED = re.compile(r"-o (?P<target>\S+\.o)\b")
_MISSING_MODULES = re.compile(
    r"^(?:The necessary bits to build these optional modules were not found"
    r"|Failed to build these modules):"
)


@dataclass(frozen=True)
class Phase:
    name: str
    argv: Sequence[str]


def run_phases(
    phases: Sequence[Phase],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_dir: Path,
    report: Report,
) -> list[str]:
    """Run each phase, its output into `<log_dir>/<phase>.log`; return the build's warnings."""
    warnings: list[str] = []
    for phase in phases:
        report(phase.name, " ".join(phase.argv))
        log = log_dir / f"{phase.name}.log"
        code = _run_logged(phase, cwd, env, log, report, warnings)
        if code != 0:
            raise BuildError(f"{phase.name} failed: {diagnose(log)} (log: {log})")
    return warnings


def _run_logged(
    phase: Phase,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    report: Report,
    warnings: list[str],
) -> int:
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            list(phase.argv),
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert process.stdout is not None
        pending_warning = False
        try:
            for line in process.stdout:
                out.write(line)
                pending_warning = _watch(phase.name, line, report, warnings, pending_warning)
        except BaseException:
            process.kill()
            process.wait()
            raise
        return process.wait()


def _watch(phase: str, line: str, report: Report, warnings: list[str], pending: bool) -> bool:
    """Report stencils and compiled objects; collect the optional modules that failed."""
    if pending and line.strip():
        warnings.append(f"optional modules not built: {line.strip()}")
        return False
    if _MISSING_MODULES.match(line):
        return True
    if phase == "compile":
        if _STENCILS.search(line):
            report("stencils", "building the JIT's stencils with clang")
        else:
            found = _COMPILED.search(line)
            if found is not None:
                report("compile", found.group("target"))
    return False


def diagnose(log: Path) -> str:
    """The known cause of a failed phase, else its last meaningful line."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "no log"
    for pattern, say in _CAUSES:
        for line in lines:
            found = pattern.search(line)
            if found is not None:
                return say.format(*found.groups(), **found.groupdict())
    meaningful = [line.strip() for line in lines if line.strip() and not line.startswith("make")]
    return meaningful[-1] if meaningful else "no output"
