"""The report commands as a user runs them: real processes, real files, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from reporter.cli import app
from typer.testing import CliRunner

MakeRun = Callable[..., Any]


def report(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "CI"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "reporter", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Done]:
    """The same command line run in this process by typer's runner: quicker than a new
    interpreter, which the tests around it still start for real."""
    monkeypatch.delenv("CI", raising=False)

    def run(*args: str | Path, cwd: Path) -> Done:
        monkeypatch.chdir(cwd)
        result = CliRunner().invoke(app, [str(a) for a in args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Done(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def history(make_run: MakeRun, t0: datetime) -> Path:
    """Three runs in ./apiary-results of a work dir; the newest has a regression."""
    for index, (six, lxml) in enumerate([("pass", "pass"), ("pass", "fail"), ("crash", "fail")]):
        run = make_run(f"run{index}", start=t0 + timedelta(days=index))
        run.package("six", six, bucket="b1")
        run.package("lxml", lxml)
        run.finish()
    work = Path(run.path.parent.parent)
    (run.path.parent).rename(work / "apiary-results")
    return work


def test_summary_of_latest_is_plain_text_when_piped(history: Path) -> None:
    done = report("summary", cwd=history)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("apiary run run2\n")
    assert "\x1b[" not in done.stdout
    assert "SIGSEGV:b1:test_x.py:test_segv" in done.stdout


def test_formats_to_files(history: Path, in_process: Any) -> None:
    done = in_process("summary", "run0", "--format", "json", "-o", "out/summary.json", cwd=history)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "report written to out/summary.json" in done.stderr
    data = json.loads((history / "out" / "summary.json").read_text())
    assert data["run_id"] == "run0" and data["counts"]["pass"] == 2
    done = in_process(
        "summary", "apiary-results/run2", "-f", "junit", "-o", "junit.xml", cwd=history
    )
    assert done.returncode == 0, done.stderr
    assert (history / "junit.xml").read_text().startswith("<?xml")
    done = in_process("summary", "-f", "html", "-o", "report.html", cwd=history)
    assert done.returncode == 0 and "<svg" in (history / "report.html").read_text()


def test_compare_fail_on_regressions(history: Path, in_process: Any) -> None:
    done = in_process("compare", "run1", "latest", "-f", "markdown", cwd=history)
    assert done.returncode == 0, done.stderr
    assert "### regressed (1)" in done.stdout
    done = in_process("compare", "run1", "run2", "--fail-on", "regressed", cwd=history)
    assert done.returncode == 1
    assert "packages in regressed" in done.stderr
    done = in_process("compare", "run0", "run0", "--fail-on", "regressed", cwd=history)
    assert done.returncode == 0, done.stderr


def test_history_last(history: Path, in_process: Any) -> None:
    done = in_process("history", "--last", "2", "-f", "json", cwd=history)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [r["run_id"] for r in data["runs"]] == ["run1", "run2"]
    done = in_process("history", "apiary-results/run2", "apiary-results/run0", cwd=history)
    assert done.returncode == 0 and "run0" in done.stdout and "run1" not in done.stdout


def test_merge_then_summary(make_run: MakeRun, t0: datetime, tmp_path: Path) -> None:
    for index in (1, 2):
        run = make_run(f"hunt-{index}", start=t0, shard=f"{index}/2", selection=["a", "b", "c"])
        run.package("abc"[index - 1], "pass")
        run.finish()
    results = run.path.parent
    done = report(
        "merge", "--prefix", "hunt-", "--results-dir", results, "-o", "merged", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "hunt" in done.stdout and "c [default] has no result in any shard" in done.stdout
    done = report("summary", "merged", "-f", "json", cwd=tmp_path)
    data = json.loads(done.stdout)
    assert data["run_id"] == "hunt" and data["counts"]["pass"] == 2
    assert data["not_run"] == [{"package": "c", "condition": "default"}]
    assert [g["kind"] for g in data["merge"]["gaps"]] == ["missing-result"]
    again = report("merge", results / "hunt-1", "-o", "merged", cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr == "error: merged: already exists and is not empty; choose another output\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["summary", "nowhere"],
            "error: nowhere: no such run directory (nor a run id in apiary-results)",
        ),
        (
            ["summary", "latest", "--results-dir", "missing"],
            "error: missing: no such results directory",
        ),
        (["compare", "nowhere"], "error: nowhere: no such run directory"),
        (
            ["compare", "apiary-results/run0"],
            "error: give RUN_B, or --condition-a and --condition-b",
        ),
        (["history", "-f", "junit"], "error: junit is available for summary and compare"),
        (["merge", "apiary-results/run0"], "error: give the merged run directory with -o/--output"),
        (["merge", "-o", "x"], "error: nothing to merge: give run directories or --prefix"),
        (
            ["merge", "apiary-results/run0", "-o", "x", "--expected", "none.txt"],
            "error: none.txt: cannot read",
        ),
    ],
)
def test_user_errors_are_one_line(
    history: Path, args: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(history)
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 2
    assert done.stderr.startswith(message)
    assert done.stderr.count("\n") == 1
    assert isinstance(done.exception, SystemExit)  # a clean exit, not a traceback


def test_rich_on_a_terminal_and_plain_in_ci(history: Path) -> None:
    import pty

    def on_terminal(env: dict[str, str]) -> str:
        controller, terminal = pty.openpty()
        environment = {k: v for k, v in os.environ.items() if k != "CI"} | env
        process = subprocess.Popen(
            [sys.executable, "-m", "reporter", "summary"],
            cwd=history,
            stdout=terminal,
            stderr=subprocess.DEVNULL,
            env=environment,
        )
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
        os.close(controller)
        return b"".join(chunks).decode()

    rich = on_terminal({"COLUMNS": "100", "TERM": "xterm"})
    assert "\x1b[" in rich and "SIGSEGV:b1" in rich
    plain = on_terminal({"CI": "true", "TERM": "xterm"})
    assert "\x1b[" not in plain and plain.startswith("apiary run run2")
