from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from runner_fixtures import APIARY, pyenv_python


def test_doctor_reports_interpreter_facts_and_tools() -> None:
    done = subprocess.run(
        [APIARY, "doctor", "--offline"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = {line.split()[1]: line for line in done.stdout.splitlines()}
    assert lines["interpreter"].startswith("ok") and sys.executable in lines["interpreter"]
    # None of this machine's interpreters has the JIT: said honestly, not guessed.
    assert "JIT not available" in lines["interpreter"]
    assert {"uv", "git", "bubblewrap"} <= set(lines)
    assert "PyPI" not in lines  # --offline


def test_doctor_reads_another_interpreter() -> None:
    python = pyenv_python("3.13") or pyenv_python("3.12")
    if python is None:
        pytest.skip("no pyenv 3.12 or 3.13 here")
    done = subprocess.run(
        [APIARY, "doctor", "--offline", "--target-python", str(python)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0
    assert str(python) in done.stdout


def test_doctor_fails_on_a_missing_interpreter(tmp_path: Path) -> None:
    missing = tmp_path / "python9"
    done = subprocess.run(
        [APIARY, "doctor", "--offline", "--target-python", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "FAIL interpreter" in done.stdout and str(missing) in done.stdout
