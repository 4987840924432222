"""From what the user asked for to a `RunPlan`: the library behind `apiary run`.

`plan_run` loads the registry, probes the interpreter, selects the packages (or takes
the selection a resumed run recorded) and applies the shard; `runner_core.run.execute`
runs the plan. The typer command only parses options into a `RunRequest`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from normalized_events import DEFAULT_CONDITION
from registry_core import LoadedRegistry, load_registry

from runner_core.durations import Durations, durations_from_run, longest_first, recent_runs
from runner_core.errors import OptionError, ResumeError
from runner_core.gil import describe_mode, gil_mode
from runner_core.interpreter import probe_interpreter
from runner_core.pipeline import condition_python
from runner_core.run import RunPlan, load_run_json, recorded_selection, registry_info
from runner_core.sanitizers import check_tsan_hunt, sanitizer_env
from runner_core.selection import Selection, SelectionOptions, select
from runner_core.settings import RunSettings
from runner_core.shards import apply_shard
from runner_core.timeouts import scale_line, timeout_scale

Warn = Callable[[str], None]


@dataclass(frozen=True)
class RunRequest:
    """A new run (its settings and selection) or the run to resume."""

    settings: RunSettings | None = None
    selection: SelectionOptions = field(default_factory=SelectionOptions)
    balance_from: Path | None = None
    resume: str | None = None
    results_dir: Path = Path("apiary-results")


def plan_run(request: RunRequest, warn: Warn) -> RunPlan:
    """The plan of a run; registry problems and unusable sanitizer options go to ``warn``."""
    recorded: dict[str, object] | None = None
    if request.resume:
        settings, recorded = resumed_settings(request.results_dir, request.resume)
    elif request.settings is not None:
        settings = request.settings
    else:
        raise ValueError("a run request needs settings or a run to resume")
    registry = load_registry(settings.registry_dir)
    for problem in registry.problems:
        warn(f"warning: {problem}")
    interpreter = probe_interpreter(settings.target_python)
    for unusable in sanitizer_env([settings.env, os.environ]).problems:
        warn(f"warning: {unusable}")
    if settings.tsan:
        for python in _condition_pythons(settings):
            check_tsan_hunt(probe_interpreter(python).info, settings.tsan_suppressions)
    for line in gil_lines(settings):
        warn(line)
    scaled = scale_line(timeout_scale(interpreter.info, settings.timeout_scale))
    if scaled is not None:
        warn(scaled)
    if recorded is not None:
        # A resumed run keeps the selection it began with, shard and skips included.
        selection = recorded_selection(recorded, registry)
    else:
        selection = _new_selection(registry, request, settings, interpreter.minor, warn)
    return RunPlan(settings, selection, registry_info(settings.registry_dir, registry))


def _new_selection(
    registry: LoadedRegistry, request: RunRequest, settings: RunSettings, minor: str, warn: Warn
) -> Selection:
    selection = select(registry, request.selection, minor)
    durations = durations_from_run(request.balance_from) if request.balance_from else None
    if settings.shard:
        selection = apply_shard(selection, settings.shard, durations)
    if settings.order == "longest-first" and settings.workers > 1 and len(selection.run) > 1:
        selection = _longest_first(selection, request, settings, durations, warn)
    return selection


def _longest_first(
    selection: Selection,
    request: RunRequest,
    settings: RunSettings,
    durations: Durations | None,
    warn: Warn,
) -> Selection:
    """The packages longest first, by ``--balance-from``'s durations or else by those of
    the newest earlier run in the results directory that has any of them."""
    names = [item.entry.package for item in selection.run]
    source = request.balance_from
    if durations is None:
        found = _recorded_durations(settings, names)
        if found is None:
            return selection
        source, durations = found
    if not any(name in durations for name in names):
        return selection
    warn(f"order: longest first, by the durations recorded in {source}")
    rank = {name: index for index, name in enumerate(longest_first(names, durations))}
    return replace(selection, run=sorted(selection.run, key=lambda s: rank[s.entry.package]))


def _recorded_durations(settings: RunSettings, names: list[str]) -> tuple[Path, Durations] | None:
    """The newest earlier run with durations for some of ``names``, and those durations."""
    for run_dir in recent_runs(settings.results_dir, other_than=settings.run_id):
        try:
            durations = durations_from_run(run_dir)
        except (OptionError, OSError):
            continue  # an unreadable earlier run changes nothing but the order
        if any(name in durations for name in names):
            return run_dir, durations
    return None


def _condition_pythons(settings: RunSettings) -> list[str]:
    return list(dict.fromkeys(condition_python(settings, c) for c in settings.conditions))


def gil_lines(settings: RunSettings) -> list[str]:
    """What each condition does with the GIL, when its interpreter is free-threaded."""
    lines = []
    for condition in settings.conditions:
        interpreter = probe_interpreter(condition_python(settings, condition))
        mode = gil_mode(interpreter.info, {**settings.env, **condition.env})
        if mode is not None:
            where = "" if condition.name == DEFAULT_CONDITION else f" (condition {condition.name})"
            lines.append(f"free-threaded interpreter{where}: tests run with {describe_mode(mode)}")
    return lines


def resumed_settings(results_dir: Path, run_id: str) -> tuple[RunSettings, dict[str, object]]:
    """The settings a run recorded in its run.json, and the whole record."""
    data = load_run_json(results_dir.absolute(), run_id)
    try:
        settings = RunSettings.model_validate(data["settings"])
    except (KeyError, ValueError, RecursionError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ResumeError(f"--resume {run_id}: run.json has no usable settings ({first})") from None
    # A run directory may come from another machine: it is resumed where it is found.
    update = {"results_dir": results_dir.absolute(), "run_id": run_id}
    return settings.model_copy(update=update), data
