"""What a crash leaves in the run directory: its output, its record, a reproducer."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

from normalized_events import CrashInfo
from normalized_events.files import write_atomic

from runner_core.crash import CrashRecord, crash_info
from runner_core.crash import bucket as crash_bucket
from runner_core.crash import signature as crash_signature
from runner_core.evidence.agent import COVERAGE_VARIABLE
from runner_core.interpreter import Interpreter
from runner_core.settings import RunSettings
from runner_core.sources import FetchedSource
from runner_core.suite import Attempt
from runner_core.triage import Triage

# Variables the test step sets on purpose; the reproducer sets exactly these.
_REPRODUCED_ENV = (
    "PYTHON_JIT",
    "PYTHONFAULTHANDLER",
    "PYTHONDONTWRITEBYTECODE",
    "ASAN_OPTIONS",
    "UBSAN_OPTIONS",
    "TSAN_OPTIONS",
    "PYTHON_GIL",
    "PYTEST_ADDOPTS",
)
# What a shell accepts after ``export``; any other variable name is left out of the script.
_SHELL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _comment(text: str) -> str:
    """``text`` fit for a ``#`` comment line: line breaks and control characters escaped."""
    return text if text.isprintable() else repr(text)[1:-1]


def record_crash(
    *,
    settings: RunSettings,
    package: str,
    condition: str,
    first: Attempt,
    found: Triage,
    interpreter: Interpreter,
    source: FetchedSource,
    install_command: str,
    extra_deps: Sequence[str],
    test_command: str,
    test_env: Mapping[str, str],
    user_env: Mapping[str, str],
) -> CrashInfo:
    """Write the output, the record and the reproducer; return the crash for the event."""
    record = first.verdict.crash
    assert record is not None
    folder = settings.layout.crash_dir(package, condition)
    folder.mkdir(parents=True, exist_ok=True)
    stderr_path = folder / "output.txt"
    stderr_path.write_text(first.output, encoding="utf-8")
    sig = crash_signature(record)
    record_path = folder / "crash.json"
    record_path.write_text(
        json.dumps(_payload(package, condition, sig, record, first, found), indent=2) + "\n",
        encoding="utf-8",
    )
    narrowed = found.reproducer_command
    script = folder / "reproduce.sh"
    script.write_text(
        reproducer_script(
            package=package,
            run_id=settings.run_id,
            signature=sig,
            interpreter=interpreter,
            source=source,
            install_command=install_command,
            extra_deps=extra_deps,
            test_command=narrowed or test_command,
            what=f"just the test {found.test_id}" if narrowed else "the whole test suite",
            test_env=test_env,
            user_env=user_env,
        ),
        encoding="utf-8",
    )
    script.chmod(0o755)
    return crash_info(
        record,
        reproducible=found.reproducible,
        stderr_path=settings.layout.relative(stderr_path),
        record_path=settings.layout.relative(record_path),
        reproducer_path=settings.layout.relative(script),
    ).model_copy(
        update={
            "test_id": found.test_id,
            "isolated": found.isolated,
            "isolated_reason": found.isolated_reason,
            "isolated_command": found.isolated_command,
            "jit_only": found.jit.only,
            "jit_only_reason": found.jit.reason,
            "gil_off_only": found.gil.only,
            "gil_off_only_reason": found.gil.reason,
        }
    )


def hang_info(stopped: Attempt, run_dir: Path) -> CrashInfo:
    """A suite stopped at a timeout: its stacks kept next to the step's evidence, and the
    record (kind deadlock or busy_hang) with its signature, for the event."""
    record = stopped.hang
    assert record is not None and stopped.evidence_dir is not None
    stacks = stopped.evidence_dir / "stacks.txt"
    parts = [f"--- pid {pid} ---\n{text.rstrip()}\n" for pid, text in stopped.evidence.stacks]
    # The evidence folder was writable by the suite: its files are replaced, never
    # written through a link left in their place.
    write_atomic(stacks, "".join(parts))
    record_path = stopped.evidence_dir / "hang.json"
    payload = {"signature": crash_signature(record), "record": record.model_dump(mode="json")}
    write_atomic(record_path, json.dumps(payload, indent=2) + "\n")
    info = crash_info(
        record,
        stderr_path=str(stacks.relative_to(run_dir)),
        record_path=str(record_path.relative_to(run_dir)),
    )
    test = stopped.evidence.test
    return info.model_copy(update={"test_id": test.test_id if test is not None else None})


def _payload(
    package: str,
    condition: str,
    sig: str,
    record: CrashRecord,
    first: Attempt,
    found: Triage,
) -> dict[str, object]:
    test = first.evidence.test
    return {
        "package": package,
        "condition": condition,
        "signature": sig,
        "bucket": crash_bucket(record),
        "reproducible": found.reproducible,
        "test_id": found.test_id,
        "test": asdict(test) if test is not None else None,
        "isolated": {
            "status": found.isolated,
            "reason": found.isolated_reason,
            "command": found.isolated_command,
        },
        "jit_only": {"value": found.jit.only, "reason": found.jit.reason},
        "gil_off_only": {"value": found.gil.only, "reason": found.gil.reason},
        "evidence_problems": found.problems,
        "reruns": [
            {
                "step": r.step.step.value,
                "command": r.command,
                "outcome": r.verdict.outcome.value,
                "bucket": crash_bucket(r.verdict.crash) if r.verdict.crash else None,
            }
            for r in found.attempts
        ],
        "record": record.model_dump(mode="json"),
    }


def _source_lines(source: FetchedSource) -> list[str]:
    q = shlex.quote
    if source.kind == "git":
        url = source.ref.rsplit("@", 1)[0]
        fetch = [
            f'  git clone --quiet {q(url)} "$WORK/src"',
            f'  git -C "$WORK/src" checkout --quiet {q(source.revision)}',
        ]
    elif source.kind == "sdist":
        fetch = [
            f'  "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: -d "$WORK/dl"'
            f" {q(source.ref)}",
            '  mkdir -p "$WORK/src" && tar -xf "$WORK"/dl/* -C "$WORK/src" --strip-components=1',
        ]
    else:
        fetch = [f'  cp -r {q(source.ref)} "$WORK/src"']
    return [
        f"SOURCE_DIR=${{SOURCE_DIR:-{q(str(source.path))}}}",
        'if [ ! -d "$SOURCE_DIR" ]; then',
        *fetch,
        '  SOURCE_DIR="$WORK/src"',
        "fi",
    ]


def _coverage_lines(test_env: Mapping[str, str]) -> list[str]:
    """Coverage off as in the run (a trace function keeps the JIT from compiling): the
    reproducer's venv has no agent, so pytest-cov, when there, is given `--no-cov`."""
    if test_env.get(COVERAGE_VARIABLE) != "off":
        return []
    return [
        "# coverage off, as in the run: a trace function keeps the JIT from compiling",
        "if python -c 'import pytest_cov' 2>/dev/null; then",
        '  export PYTEST_ADDOPTS="$PYTEST_ADDOPTS --no-cov"',
        "fi",
    ]


def reproducer_script(
    *,
    package: str,
    run_id: str,
    signature: str,
    interpreter: Interpreter,
    source: FetchedSource,
    install_command: str,
    extra_deps: Sequence[str],
    test_command: str,
    what: str,
    test_env: Mapping[str, str],
    user_env: Mapping[str, str],
) -> str:
    q = shlex.quote
    exports = [
        f"export {k}={q(test_env[k])}"
        for k in (*_REPRODUCED_ENV, *sorted(user_env))
        if k in test_env and _SHELL_NAME.match(k)
    ]
    extra = f"python -m pip install {' '.join(q(d) for d in extra_deps)}" if extra_deps else ""
    lines = [
        "#!/usr/bin/env bash",
        f"# Reproduces the crash of {_comment(package)} seen in apiary run {_comment(run_id)}.",
        f"# Signature: {_comment(signature)}",
        f"# Runs {_comment(what)}.",
        f"# Source: {source.kind} {_comment(source.ref)} (revision {_comment(source.revision)})",
        "# Override PYTHON (the interpreter), SOURCE_DIR (the package source) or WORK.",
        "set -eu",
        f"PYTHON=${{PYTHON:-{q(str(interpreter.path))}}}",
        "WORK=${WORK:-$(mktemp -d -t apiary-repro-XXXXXX)}",
        *_source_lines(source),
        'echo "apiary: venv in $WORK/venv, source in $SOURCE_DIR" >&2',
        'PYTHON_JIT=0 "$PYTHON" -m venv "$WORK/venv"',
        '. "$WORK/venv/bin/activate"',
        "unset PYTHONPATH PYTHONHOME",
        'cd "$SOURCE_DIR"',
        f"PYTHON_JIT=0 sh -c {q(install_command)}",
        *([f"PYTHON_JIT=0 {extra}"] if extra else []),
        *exports,
        "# pytest's default capture would swallow what a dying process writes to fd 2",
        "# (a fatal error, an assertion, a sanitizer report): show it on the terminal.",
        'export PYTEST_ADDOPTS="${PYTEST_ADDOPTS:+$PYTEST_ADDOPTS }--capture=no"',
        *_coverage_lines(test_env),
        "set +e",
        f"sh -c {q(test_command)}",
        "status=$?",
        f'echo {q(f"apiary: the command running {what} exited with status")} "$status" >&2',
        "exit $status",
        "",
    ]
    return "\n".join(lines)
