"""A few live crashes on this machine's interpreters: parsing is not only right on old logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from normalized_events import Outcome
from runner_core.crash import CrashKind, bucket, parse_crash
from runner_core.outcomes import StepStatus, classify_test

DATA = Path(__file__).parent / "data" / "crashes"

# The script of the `segv_ctypes_script_313` capture, byte for byte.
SEGV_CTYPES = """\
import ctypes

def read_header(address):
    return ctypes.string_at(address)

read_header(0)
"""

INTERPRETERS = [
    sys.executable,
    *(
        p
        for p in (
            "/root/.pyenv/versions/3.12.1/bin/python3",
            "/root/.pyenv/versions/3.13.0/bin/python3",
        )
        if Path(p).exists()
    ),
]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONFAULTHANDLER="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def _captured_bucket(name: str) -> str:
    meta = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    output = (DATA / f"{name}.out").read_text(encoding="utf-8")
    record = parse_crash(output, exit_code=meta["exit_code"], signal=None)
    assert record is not None
    return bucket(record)


@pytest.mark.parametrize("python", INTERPRETERS)
def test_live_segfault_lands_in_the_captured_bucket(python: str, tmp_path: Path) -> None:
    script = tmp_path / "crash_script.py"
    script.write_text(SEGV_CTYPES)
    proc = subprocess.run(
        [python, str(script)],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -11, proc.stdout
    record = parse_crash(proc.stdout, exit_code=proc.returncode, signal=None)
    assert record is not None
    assert record.kind is CrashKind.SEGFAULT
    assert bucket(record) == _captured_bucket("segv_ctypes_script_313")


def test_live_abort_through_a_shell(tmp_path: Path) -> None:
    script = tmp_path / "crash_script.py"
    script.write_text("import os\n\ndef shutdown_hard():\n    os.abort()\n\nshutdown_hard()\n")
    proc = subprocess.run(
        ["sh", "-c", f"cd {tmp_path} && {sys.executable} {script}"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 134, proc.stdout
    verdict = classify_test(StepStatus(exit_code=proc.returncode), proc.stdout, "other")
    assert verdict.outcome is Outcome.CRASH
    assert verdict.crash is not None
    assert verdict.crash.kind is CrashKind.ABORT
    assert bucket(verdict.crash) == _captured_bucket("abort_shell_313")
