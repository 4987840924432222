"""`apiary sandbox` as a user runs it (here as `python -m sandbox_runner`, the same command)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from sandbox_runner import SandboxError, SandboxResult
from sandbox_runner.cli import SANDBOX_CONTEXT, build_spec, exit_status, sandbox_command
from typer.testing import CliRunner, Result

PY = sys.executable


def sandbox(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "sandbox_runner", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_json_result_and_exit_status(tmp_path: Path) -> None:
    done = sandbox(
        "--backend", "none", "--log-dir", str(tmp_path / "logs"), "--json",
        "--", "sh", "-c", "echo hello; exit 4",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 4
    result = SandboxResult.model_validate(json.loads(done.stdout))
    assert result.exit_code == 4
    assert result.stdout_tail == ["hello"]
    assert result.stdout_log == tmp_path / "logs" / "output.log"
    assert result.stdout_log.read_text() == "hello\n"


def invoke(*args: str) -> Result:
    """The command in this process (what `apiary sandbox` runs, without a new interpreter)."""
    app = typer.Typer()
    app.command(context_settings=SANDBOX_CONTEXT)(sandbox_command)
    return CliRunner().invoke(app, list(args))


def test_human_output_shows_the_tail_and_how_it_ended(tmp_path: Path) -> None:
    done = invoke(
        "--backend", "none", "--timeout", "1", "--log-dir", str(tmp_path),
        "sh", "-c", "echo hi; sleep 60",
    )  # fmt: skip
    assert done.exit_code == 124
    assert done.stdout == "hi\n"
    assert "apiary sandbox: timed out after" in done.stderr
    assert f"apiary sandbox: log: {tmp_path / 'output.log'}" in done.stderr


def test_a_crash_exits_128_plus_the_signal(tmp_path: Path) -> None:
    done = invoke(
        "--backend", "none", "--log-dir", str(tmp_path), PY, "-c", "import os; os.abort()"
    )
    assert done.exit_code == 134
    assert "killed by SIGABRT" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--memory", "lots", "true"], "apiary sandbox: --memory: cannot read 'lots' as a size"),
        (
            ["--backend", "docker", "true"],
            "apiary sandbox: --backend: expected auto, none or bwrap",
        ),
        (["--network", "maybe", "true"], "apiary sandbox: --network: expected on or off"),
        (["--cwd", "/no/such/dir", "true"], "apiary sandbox: cwd: /no/such/dir does not exist"),
        (["--env", "NOEQUALS", "true"], "apiary sandbox: --env: expected NAME=VALUE"),
        (
            ["--backend", "none", "--writable", "/no/such/venv", "true"],
            "apiary sandbox: writable: /no/such/venv does not exist",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    done = invoke("--log-dir", str(tmp_path), *args)
    assert done.exit_code == 2
    assert done.stderr.startswith(message)
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.exception is None or isinstance(done.exception, SystemExit)


def test_a_bad_option_on_the_real_command_line_is_one_line(tmp_path: Path) -> None:
    done = sandbox("--memory", "lots", "true", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        done.stderr
        == "apiary sandbox: --memory: cannot read 'lots' as a size (examples: 4096, 256M, 2G)\n"
    )


def test_build_spec_reads_the_options(tmp_path: Path) -> None:
    spec = build_spec(
        ["pytest", "-x"],
        backend="bwrap",
        timeout=30,
        memory="off",
        output_cap="1M",
        network=True,
        cwd=tmp_path,
        writable=[tmp_path],
        env=["PYTHON_JIT=1"],
        allow_env=["GITLAB_CI_*"],
        log_dir=tmp_path / "logs",
        separate_stderr=True,
    )
    assert spec.limits.memory_limit == "off" and spec.limits.memory_bytes is None
    assert spec.limits.output_cap_bytes == 1024 * 1024
    assert spec.isolation.network and spec.isolation.writable == (tmp_path,)
    assert spec.env["PYTHON_JIT"] == "1"
    assert spec.env_policy.allow == ("PYTHON_JIT", "GITLAB_CI_*")
    assert spec.stderr_log == tmp_path / "logs" / "stderr.log"
    limited = build_spec(["true"], memory="256M", log_dir=tmp_path)
    assert limited.limits.memory_bytes == 256 * 1024**2
    assert limited.stderr_log is None
    with pytest.raises(SandboxError):
        build_spec([], log_dir=tmp_path)


def _result(**changes: object) -> SandboxResult:
    base = {
        "command": ["x"], "exit_code": 0, "signal": None, "signal_name": None,
        "timed_out": False, "idle_timed_out": False, "interrupted": False,
        "oom_suspected": False, "cpu_limit_hit": False, "file_size_limit_hit": False,
        "wall_s": 1.0, "cpu_s": 0.5, "peak_rss_bytes": 1, "stdout_log": Path("o"),
        "stderr_log": None, "stdout_bytes": 0, "stderr_bytes": 0, "stdout_truncated": False,
        "stderr_truncated": False, "stdout_tail": [], "stderr_tail": [], "backend": "none",
        "backend_reason": "", "network_isolated": False, "withheld_env": [],
    }  # fmt: skip
    base.update(changes)
    return SandboxResult.model_validate(base)


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({}, 0),
        ({"exit_code": 3}, 3),
        ({"exit_code": -11, "signal": 11}, 139),
        ({"exit_code": 139, "signal": 11}, 139),
        ({"exit_code": -9, "signal": 9, "timed_out": True}, 124),
        ({"exit_code": -9, "signal": 9, "idle_timed_out": True}, 124),
        ({"exit_code": -9, "signal": 9, "interrupted": True}, 137),
    ],
)
def test_exit_status(changes: dict[str, object], status: int) -> None:
    assert exit_status(_result(**changes)) == status
