"""Pieces every view's presentation shares: a result as JSON, facts about a run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from normalized_events import Outcome, PackageFinished

from reporter.model.rundata import RunData
from reporter.render.document import seconds

FORMAT_NAME = "apiary-report"
FORMAT_VERSION = 1


def header(view: str) -> dict[str, Any]:
    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "view": view}


def when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def crash_json(result: PackageFinished) -> dict[str, Any] | None:
    crash = result.crash
    if crash is None:
        return None
    return {
        "kind": crash.kind,
        "signal": crash.signal,
        "signature": crash.signature,
        "bucket": crash.bucket,
        "reproducible": crash.reproducible,
        "headline": crash.headline,
        "stderr_path": crash.stderr_path,
        "record_path": crash.record_path,
        "reproducer_path": crash.reproducer_path,
        "test_id": crash.test_id,
        "isolated": crash.isolated,
        "isolated_reason": crash.isolated_reason,
        "isolated_command": crash.isolated_command,
        "jit_only": crash.jit_only,
        "jit_only_reason": crash.jit_only_reason,
        "gil_off_only": crash.gil_off_only,
        "gil_off_only_reason": crash.gil_off_only_reason,
    }


def result_json(result: PackageFinished) -> dict[str, Any]:
    return {
        "package": result.package,
        "condition": result.condition,
        "outcome": result.outcome.value,
        "duration_s": result.duration_s,
        "reason": result.reason,
        "install_failure": result.install_failure.value if result.install_failure else None,
        "crash": crash_json(result),
        "package_version": result.package_version,
        "source_revision": result.source_revision,
        "attempts": result.attempts,
        "attempt_outcomes": [outcome.value for outcome in result.attempt_outcomes],
        "durations": dict(result.durations),
        "gil": result.gil,
        "gil_enabled_by": list(result.gil_enabled_by),
        "iterations": result.iterations,
        "iteration_outcomes": [outcome.value for outcome in result.iteration_outcomes],
        "flaky_tests": list(result.flaky_tests),
        "races": [race.model_dump(mode="json") for race in result.races],
    }


def run_json(run: RunData) -> dict[str, Any]:
    interpreter = run.interpreter
    return {
        "run_id": run.run_id,
        "run_dir": str(run.path) if run.path else None,
        "started_at": when(run.started_at),
        "finished_at": when(run.finished_at),
        "wall_s": run.wall_s,
        "interrupted": run.interrupted,
        "resumed": run.resumed,
        "shard": run.shard,
        "interpreter": interpreter.model_dump(mode="json") if interpreter else None,
        "condition_interpreters": {
            name: info.model_dump(mode="json")
            for name, info in (run.starts[-1].condition_interpreters if run.starts else {}).items()
        },
    }


def interpreter_text(run: RunData, condition: str | None = None) -> str:
    info = run.interpreter_of(condition)
    if info is None:
        return "unknown (no run_started)"
    flags = []
    if info.jit_enabled:
        flags.append("JIT on")
    elif info.jit_available:
        flags.append("JIT available, off")
    elif info.jit_available is False:
        flags.append("no JIT")
    for name, on in (("free-threaded", info.free_threaded), ("debug", info.debug_build)):
        if on:
            flags.append(name)
    if info.asan_build:
        flags.append("ASan")
    extra = f" ({', '.join(flags)})" if flags else ""
    return f"{info.implementation} {info.version} at {info.path}{extra}"


def run_facts(run: RunData) -> list[tuple[str, str]]:
    """The run's facts, in reading order: what, where, when, how, and its state."""
    return [*_identity(run), *_times(run), *_setting(run), *_state(run)]


def _identity(run: RunData) -> list[tuple[str, str]]:
    facts = [("run", run.run_id)]
    if run.path is not None:
        facts.append(("directory", str(run.path)))
    facts.append(("interpreter", interpreter_text(run)))
    for condition in run.starts[-1].condition_interpreters if run.starts else {}:
        facts.append((f"interpreter [{condition}]", interpreter_text(run, condition)))
    return facts


def _times(run: RunData) -> list[tuple[str, str]]:
    facts = []
    if run.started_at is not None:
        facts.append(("started", run.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")))
    if run.finish is not None:
        facts.append(("finished", run.finish.finished_at.strftime("%Y-%m-%d %H:%M:%S UTC")))
    facts.append(("wall time", seconds(run.wall_s)))
    if run.resumed:
        facts.append(("resumed", f"{run.resumed} time(s)"))
    return facts


def _setting(run: RunData) -> list[tuple[str, str]]:
    facts = []
    if run.shard:
        facts.append(("shard", run.shard))
    if run.options.sandbox_used is not None:
        asked = run.options.sandbox_backend
        facts.append(("sandbox", f"{run.options.sandbox_used} (asked: {asked})"))
    conditions = run.conditions()
    if conditions != ["default"]:
        facts.append(("conditions", ", ".join(conditions)))
    return facts


def _state(run: RunData) -> list[tuple[str, str]]:
    if run.finish is None:
        return [("state", "unfinished: no run_finished (interrupted or still running)")]
    if run.finish.interrupted:
        return [("state", "interrupted")]
    if run.finish.stopped_after_crash:
        return [("state", "stopped after the crash limit")]
    return []


def run_problems(run: RunData) -> list[str]:
    """What is wrong with the run (it ran without the sandbox it asked for) or with the
    event log itself, one line each."""
    lines = [run.options.sandbox_warning] if run.options.sandbox_warning else []
    lines += [f"events.jsonl {problem}" for problem in run.problems]
    if run.torn_tail:
        lines.append("events.jsonl ends in a torn line (a writer was killed mid-write)")
    if run.unknown:
        kinds = sorted({event.type for event in run.unknown})
        lines.append(f"{len(run.unknown)} events of unknown types kept aside: {', '.join(kinds)}")
    lines.extend(run.notes)
    return lines


def short_reason(result: PackageFinished | None) -> str:
    if result is None:
        return ""
    if result.outcome == Outcome.CRASH and result.crash is not None:
        return result.crash.signature or result.crash.headline or (result.reason or "")
    return result.reason or ""


def outcome_of(result: PackageFinished | None) -> str | None:
    return result.outcome.value if result is not None else None
