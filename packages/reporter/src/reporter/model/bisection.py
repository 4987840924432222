"""A bisection read back from its events: the answer, the steps, the bucket; text or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from normalized_events import BisectFinished, BisectStarted, BisectStep, read_events
from normalized_events.layout import EVENTS_FILE as EVENTS

from reporter.errors import RunDirError


@dataclass
class Bisection:
    started: BisectStarted
    steps: list[BisectStep] = field(default_factory=list)
    finished: BisectFinished | None = None

    @property
    def subjects(self) -> dict[str, str]:
        return {s.commit: s.subject for s in self.steps}


def load_bisection(folder: Path) -> Bisection:
    """The bisection in `folder` (its `events.jsonl`): the last decision per commit."""
    path = folder / EVENTS if folder.is_dir() else folder
    if not path.is_file():
        raise RunDirError(f"{folder}: no {EVENTS} (not a bisection folder)")
    events = read_events(path).known()
    starts = [e for e in events if isinstance(e, BisectStarted)]
    if not starts:
        raise RunDirError(f"{path}: no bisect_started event (not a bisection)")
    steps: dict[str, BisectStep] = {}
    for event in events:
        if isinstance(event, BisectStep):
            steps.pop(event.commit, None)
            steps[event.commit] = event
    finished = [e for e in events if isinstance(e, BisectFinished)]
    return Bisection(starts[-1], list(steps.values()), finished[-1] if finished else None)


def render_text(bisection: Bisection) -> str:
    start, done = bisection.started, bisection.finished
    lines = [
        f"bisection of {start.target if start.target == 'cpython' else 'package'} history: "
        f"{start.package}, {start.good[:12]} (good) .. {start.bad[:12]} (bad)",
        f"  repository: {start.repository}",
        f"  bucket:     {start.bucket or '?'}"
        + (f"  {start.signature}" if start.signature else ""),
        f"  reproducer: {start.command}  ({start.tries} tries per step)",
    ]
    if start.interpreter:
        lines.append(
            f"  {'variant' if start.target == 'cpython' else 'interpreter'}: {start.interpreter}"
        )
    lines += [_answer(bisection, done), f"steps ({len(bisection.steps)}):"]
    lines += [_step_line(step) for step in bisection.steps]
    return "\n".join(lines) + "\n"


def _answer(bisection: Bisection, done: BisectFinished | None) -> str:
    if done is None:
        return "unfinished: run the same bisect command again to resume it"
    if done.first_bad is not None:
        return f"first bad commit: {done.first_bad}  {done.first_bad_subject or ''}".rstrip()
    subjects = bisection.subjects
    listed = "\n".join(f"    {c[:12]}  {subjects.get(c, '')}".rstrip() for c in done.candidates)
    return (
        f"first bad commit is one of {len(done.candidates)} "
        f"({done.candidates[0][:12]}..{done.candidates[-1][:12]}; the others could not be "
        f"tested):\n{listed}"
    )


def _step_line(step: BisectStep) -> str:
    build = f"  build {step.build_s:.0f}s" if step.build_s is not None else ""
    end = "  (endpoint)" if step.endpoint else ""
    return (
        f"  {step.commit[:12]}  {step.verdict:<4}  tries {step.tries}  "
        f"{step.duration_s:7.1f}s{build}  {step.subject}{end}\n      {step.reason}"
    )


def as_json(bisection: Bisection) -> dict[str, Any]:
    done = bisection.finished
    return {
        "started": bisection.started.model_dump(mode="json"),
        "finished": done is not None,
        "first_bad": done.first_bad if done else None,
        "first_bad_subject": done.first_bad_subject if done else None,
        "candidates": done.candidates if done else [],
        "bucket": bisection.started.bucket,
        "steps": [s.model_dump(mode="json") for s in bisection.steps],
        "wall_s": done.wall_s if done else None,
    }


def render_json(bisection: Bisection) -> str:
    return json.dumps(as_json(bisection), indent=2) + "\n"
