"""reproduce.sh is run by people: no value that came from outside may become a command."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from normalized_events import InterpreterInfo
from runner_core.forensics import reproducer_script
from runner_core.interpreter import Interpreter
from runner_core.sources import FetchedSource


def _evil(tmp_path: Path, tag: str) -> str:
    """Text that runs ``touch <tmp>/<tag>`` if it ever reaches a shell unquoted."""
    return f"x\ntouch {tmp_path}/{tag}\n$(touch {tmp_path}/{tag}-sub)`touch {tmp_path}/{tag}-bq`'}}"


def _script(tmp_path: Path, kind: str) -> str:
    python = tmp_path / "fake-python"
    source = FetchedSource(
        kind=kind,  # type: ignore[arg-type]
        path=Path(f"/nowhere/{_evil(tmp_path, 'path')}"),
        revision=_evil(tmp_path, "revision"),
        ref=f"https://example.invalid/{_evil(tmp_path, 'ref')}@{_evil(tmp_path, 'rev')}",
        version=_evil(tmp_path, "version"),
    )
    evil_key = f"A=1; touch {tmp_path}/key; B"
    return reproducer_script(
        package="pkg",
        run_id=_evil(tmp_path, "run-id"),
        signature=_evil(tmp_path, "signature"),
        interpreter=Interpreter(
            path=python,
            info=InterpreterInfo(path=str(python), version="3.14.0"),
            minor="3.14",
            identity="x",
        ),
        source=source,
        install_command="true",
        extra_deps=[_evil(tmp_path, "dep")],
        test_command="true",
        what=_evil(tmp_path, "what"),
        test_env={"PYTHON_JIT": _evil(tmp_path, "env"), evil_key: "v", "OK_NAME": "fine"},
        user_env={evil_key: "v", "OK_NAME": "fine"},
    )


def _fake_python(tmp_path: Path) -> Path:
    python = tmp_path / "fake-python"
    python.write_text(
        '#!/bin/sh\n# "$PYTHON" -m venv DIR, or -m pip install ...: just enough.\n'
        'if [ "$2" = venv ]; then mkdir -p "$3/bin" && : > "$3/bin/activate"; fi\n'
    )
    python.chmod(0o755)
    return python


@pytest.mark.parametrize("kind", ["git", "sdist", "local"])
def test_no_value_of_a_reproducer_is_ever_run(tmp_path: Path, kind: str) -> None:
    _fake_python(tmp_path)
    script = tmp_path / "reproduce.sh"
    script.write_text(_script(tmp_path, kind))
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    source_dir = tmp_path / "src"
    source_dir.mkdir()
    for extra in ({}, {"SOURCE_DIR": str(source_dir)}):
        # No network: the clone of the (made-up) repository fails at once.
        env = {**os.environ, "WORK": str(tmp_path / "work"), "GIT_ALLOW_PROTOCOL": "file"}
        env.update(extra)
        subprocess.run(
            ["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, check=False
        )
    ran = sorted(
        p.name
        for p in tmp_path.iterdir()
        if p.name not in {"fake-python", "reproduce.sh", "src", "work"}
    )
    assert ran == []
    exports = [line for line in script.read_text().splitlines() if line.startswith("export")]
    # The name that is no shell name is left out.
    assert [e for e in exports[1:] if "PYTEST_ADDOPTS" not in e] == ["export OK_NAME=fine"]
    assert exports[0].startswith("export PYTHON_JIT='x")
