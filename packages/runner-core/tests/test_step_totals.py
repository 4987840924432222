"""A step of several commands: the last command's exit, every command's resources."""

from __future__ import annotations

import sys
from pathlib import Path

from normalized_events import EventWriter, Step, StepFinished, read_events
from runner_core.commands import CommandStep
from runner_core.steps import StepRunner

_BIG = 300 << 20


def _run(tmp_path: Path, commands: list[CommandStep]) -> StepFinished:
    events = tmp_path / "events.jsonl"
    with EventWriter(events, run_id="r") as writer:
        runner = StepRunner(
            writer=writer,
            package="p",
            condition="default",
            log_dir=tmp_path / "logs",
            run_dir=tmp_path,
            backend="none",
        )
        outcome = runner.run(
            Step.INSTALL,
            commands,
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin"},
            network=False,
            writable=[tmp_path],
            timeout_s=120,
            idle_timeout_s=None,
        )
    assert outcome.result is not None
    (event,) = [e for e in read_events(events).known() if isinstance(e, StepFinished)]
    return event


def test_the_step_reports_the_largest_command_not_the_last(tmp_path: Path) -> None:
    touch_every_page = f"b = bytearray({_BIG}); b[::4096] = b'x' * len(b[::4096])"
    allocate = CommandStep((sys.executable, "-c", touch_every_page))
    small = CommandStep(("/bin/true",))
    event = _run(tmp_path, [allocate, small])
    assert event.exit_code == 0
    assert event.peak_rss_bytes is not None and event.peak_rss_bytes >= _BIG
    alone = _run(tmp_path / "alone", [small])
    assert alone.peak_rss_bytes is not None and alone.peak_rss_bytes < _BIG


def test_a_failing_command_ends_the_step_with_its_exit(tmp_path: Path) -> None:
    fail = CommandStep(("/bin/sh", "-c", "exit 3"))
    never = CommandStep(("/bin/sh", "-c", "touch never-ran"))
    event = _run(tmp_path, [CommandStep(("/bin/true",)), fail, never])
    assert event.exit_code == 3
    assert not (tmp_path / "never-ran").exists()
