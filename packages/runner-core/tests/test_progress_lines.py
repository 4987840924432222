"""The per-package line a run (or verify) prints off a terminal."""

from __future__ import annotations

import io

import pytest
from normalized_events import Outcome, PackageFinished
from rich.console import Console
from runner_core.progress import RunProgress


def test_a_fallback_to_the_sdist_is_on_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    progress = RunProgress(total=2, console=Console(file=io.StringIO()))
    with progress:
        progress(
            PackageFinished(
                run_id="r",
                package="vine",
                outcome=Outcome.PASS,
                duration_s=3.0,
                source_used="sdist",
                source_fallback="git failed, used the sdist: git fetch failed: no host",
            )
        )
        progress(
            PackageFinished(run_id="r", package="amqp", outcome=Outcome.FAIL, reason="1 failed")
        )
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "[1/2] pass vine 3.0s [git failed, used the sdist: git fetch failed: no host]",
        "[2/2] fail amqp 0.0s: 1 failed",
    ]
