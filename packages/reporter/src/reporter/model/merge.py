"""Joining the shard runs of one hunt into one run directory.

:func:`merge_runs` is pure: it decides which result of each (package, condition) to keep
and what is duplicated or missing. :func:`write_merge` writes the merged run directory:
a fresh ``events.jsonl`` (one ``run_started`` carrying the merge record, the kept packages'
events, one ``run_finished``) and the kept packages' logs and crash files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from normalized_events import (
    Event,
    EventWriter,
    Outcome,
    PackageFinished,
    RunFinished,
    RunStarted,
)
from normalized_events.files import write_atomic
from normalized_events.layout import EVENTS_FILE, PACKAGE_AREAS, RUN_JSON
from normalized_events.runrecord import RunRecord

from reporter.errors import MergeError
from reporter.model.lazy_events import Key, key_of
from reporter.model.rundata import MERGE_FIELD, SELECTION_FIELD, RunData
from reporter.model.summary import count_outcomes

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Duplicate:
    """A (package, condition) with results in several shards; one is kept."""

    package: str
    condition: str
    kept: str
    kept_outcome: Outcome
    dropped: tuple[tuple[str, Outcome], ...]

    @property
    def outcomes_agree(self) -> bool:
        return all(outcome == self.kept_outcome for _, outcome in self.dropped)


@dataclass(frozen=True)
class Gap:
    """Something the merged run lacks: a shard, a finished shard, or a package's result."""

    kind: str  # missing-shard, unfinished-shard, unfinished-package, missing-result
    detail: str
    source: str | None = None
    package: str | None = None
    condition: str | None = None


@dataclass
class MergePlan:
    run_id: str
    sources: list[RunData]
    kept: dict[Key, int]
    duplicates: list[Duplicate] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    expected: set[Key] | None = None

    def results(self) -> dict[Key, PackageFinished]:
        return {key: self.sources[index].results[key] for key, index in self.kept.items()}

    def record(self) -> dict[str, Any]:
        """What the merged run remembers about its making (``run_started.merge``)."""
        return {
            "sources": [
                {
                    "run_id": run.run_id,
                    "path": str(run.path) if run.path else None,
                    "shard": run.shard,
                    "results": len(run.results),
                    "finished": run.finish is not None,
                }
                for run in self.sources
            ],
            "duplicates": [
                {
                    "package": d.package,
                    "condition": d.condition,
                    "kept": d.kept,
                    "kept_outcome": d.kept_outcome.value,
                    "dropped": [{"run_id": r, "outcome": o.value} for r, o in d.dropped],
                }
                for d in self.duplicates
            ],
            "gaps": [asdict(gap) for gap in self.gaps],
            "warnings": list(self.warnings),
        }

    # -- the merged event stream --------------------------------------------------------

    def events(self) -> list[Event]:
        """The merged run's events in order (run ids and seq are set when written)."""
        events: list[Event] = []
        start = self._run_started()
        if start is not None:
            events.append(start)
        kept = sorted(
            self.kept.items(),
            key=lambda item: (self.sources[item[1]].results[item[0]].ts, item[0]),
        )
        for key, index in kept:
            source = self.sources[index]
            package_events = [
                e for e in source.package_events().get(key[0], []) if key_of(e) == key
            ]
            events.extend(sorted(package_events, key=lambda e: e.seq))
            events.append(source.results[key])
        events.append(self._run_finished(start))
        return events

    def _run_started(self) -> RunStarted | None:
        starts = [run.starts[0] for run in self.sources if run.starts]
        if not starts:
            return None
        base = min(starts, key=lambda s: s.ts)
        selection: dict[str, None] = {}
        for run in self.sources:
            selection.update(dict.fromkeys(run.selection() or []))
        data = base.model_dump(mode="json")
        options = data["options"]
        options["shard"] = None
        options.pop(SELECTION_FIELD, None)
        data["run_id"] = self.run_id
        data["selected"] = list(selection)
        data[MERGE_FIELD] = self.record()
        return RunStarted.model_validate(data)

    def _run_finished(self, start: RunStarted | None) -> RunFinished:
        ends = [run.finished_at for run in self.sources if run.finished_at is not None]
        begins = [run.started_at for run in self.sources if run.started_at is not None]
        finished_at = max(ends) if ends else datetime.now().astimezone()
        began = start.ts if start is not None else (min(begins) if begins else finished_at)
        results = list(self.results().values())
        return RunFinished(
            run_id=self.run_id,
            ts=finished_at,
            finished_at=finished_at,
            wall_s=max(0.0, (finished_at - began).total_seconds()),
            counts={o: n for o, n in count_outcomes(results).items() if n},
            interrupted=bool(self.gaps),
        )


def merged_run_id(run_ids: Sequence[str]) -> str:
    """The shards' common prefix, cut at a separator (``hunt42-shard-1`` and
    ``hunt42-shard-2`` give ``hunt42-shard``), else ``merged-<first>``."""
    if not run_ids:
        return "merged"
    prefix = os.path.commonprefix(list(run_ids))  # noqa: RUF071 (a text prefix, not a path)
    if len(set(run_ids)) > 1:
        cut = max(prefix.rfind(sep) for sep in "-_.") if prefix else -1
        prefix = prefix[:cut] if cut > 0 else ""
    prefix = prefix.strip("-_.")
    return prefix or f"merged-{run_ids[0]}"


def _choose(candidates: list[tuple[int, PackageFinished]]) -> tuple[int, PackageFinished]:
    """The result to keep among duplicates: a crash (evidence is never dropped), then the
    latest finished."""
    return max(candidates, key=lambda c: (c[1].outcome == Outcome.CRASH, c[1].ts, -c[0]))


def _shard_gaps(runs: Sequence[RunData]) -> tuple[list[Gap], list[str]]:
    gaps: list[Gap] = []
    warnings: list[str] = []
    parsed: dict[int, list[int]] = {}
    for run in runs:
        match = _SHARD.match(run.shard or "")
        if match:
            parsed.setdefault(int(match.group(2)), []).append(int(match.group(1)))
    if len(parsed) > 1:
        totals = ", ".join(str(total) for total in sorted(parsed))
        warnings.append(f"shards of different partitions (totals {totals}): not checked for gaps")
        return gaps, warnings
    for total, indexes in parsed.items():
        for index in sorted({i for i in indexes if indexes.count(i) > 1}):
            warnings.append(f"shard {index}/{total} is given more than once")
        for index in range(1, total + 1):
            if index not in indexes:
                gaps.append(Gap("missing-shard", f"shard {index}/{total} is not among the inputs"))
    return gaps, warnings


def merge_runs(
    runs: Sequence[RunData],
    *,
    run_id: str | None = None,
    expected_packages: Iterable[str] | None = None,
) -> MergePlan:
    """Decide the merged run: kept results, duplicates and gaps.

    The expected (package, condition) set comes from ``expected_packages`` when given,
    else from the selections the shards recorded (``run_started.selected``);
    without either, only shards and unfinished packages are checked for gaps.
    """
    if not runs:
        raise MergeError("nothing to merge: give at least one run directory")
    kept, duplicates = _kept_results(runs)
    gaps, warnings = _shard_gaps(runs)
    gaps += _unfinished_shards(runs)
    unfinished = _unfinished_packages(runs, kept)
    gaps += [
        Gap(
            "unfinished-package",
            f"{package} [{condition}] started in {source} but never finished",
            source,
            package,
            condition,
        )
        for (package, condition), source in sorted(unfinished.items())
    ]
    expected = _expected(runs, expected_packages)
    if expected is not None:
        gaps += [
            Gap(
                "missing-result",
                f"{package} [{condition}] has no result in any shard",
                None,
                package,
                condition,
            )
            for package, condition in sorted(expected - kept.keys() - unfinished.keys())
        ]
    warnings += _mixed_inputs(runs)
    return MergePlan(
        run_id=run_id or merged_run_id([run.run_id for run in runs]),
        sources=list(runs),
        kept=kept,
        duplicates=duplicates,
        gaps=gaps,
        warnings=warnings,
        expected=expected,
    )


def _kept_results(runs: Sequence[RunData]) -> tuple[dict[Key, int], list[Duplicate]]:
    """Which run's result each (package, condition) keeps, and the results dropped."""
    candidates: dict[Key, list[tuple[int, PackageFinished]]] = {}
    for index, run in enumerate(runs):
        for key, result in run.results.items():
            candidates.setdefault(key, []).append((index, result))
    kept: dict[Key, int] = {}
    duplicates: list[Duplicate] = []
    for key, found in candidates.items():
        index, chosen = _choose(found)
        kept[key] = index
        if len(found) > 1:
            duplicates.append(
                Duplicate(
                    package=key[0],
                    condition=key[1],
                    kept=runs[index].run_id,
                    kept_outcome=chosen.outcome,
                    dropped=tuple((runs[i].run_id, r.outcome) for i, r in found if i != index),
                )
            )
    duplicates.sort(key=lambda d: (d.package, d.condition))
    return kept, duplicates


def _unfinished_shards(runs: Sequence[RunData]) -> list[Gap]:
    gaps = []
    for run in runs:
        if run.finish is None:
            gaps.append(Gap("unfinished-shard", f"{run.run_id} has no run_finished", run.run_id))
        elif run.finish.interrupted:
            gaps.append(Gap("unfinished-shard", f"{run.run_id} was interrupted", run.run_id))
    return gaps


def _unfinished_packages(runs: Sequence[RunData], kept: dict[Key, int]) -> dict[Key, str]:
    """Packages started but finished in no shard, with the first run that started them."""
    unfinished: dict[Key, str] = {}
    for run in runs:
        for key in run.unfinished():
            if key not in kept:
                unfinished.setdefault(key, run.run_id)
    return unfinished


def _expected(runs: Sequence[RunData], expected_packages: Iterable[str] | None) -> set[Key] | None:
    """The (package, condition) pairs the merged run should have, when anything says so."""
    if expected_packages is not None:
        conditions = sorted(
            {c for run in runs for c in (run.declared_conditions() or run.conditions())}
        )
        return {(p, c) for p in expected_packages for c in conditions}
    expected: set[Key] | None = None
    for run in runs:
        own = run.expected()
        if own is not None:
            expected = (expected or set()) | own
    return expected


def _mixed_inputs(runs: Sequence[RunData]) -> list[str]:
    warnings = []
    interpreters = {
        json.dumps(run.interpreter.model_dump(mode="json"), sort_keys=True)
        for run in runs
        if run.interpreter is not None
    }
    if len(interpreters) > 1:
        warnings.append("the shards ran on different interpreters")
    unknown = sum(len(run.unknown) for run in runs)
    if unknown:
        warnings.append(f"{unknown} events of unknown types are not carried over")
    return warnings


def _copy_file(source: Path, target: Path, *, overwrite: bool) -> None:
    if target.exists() and not overwrite:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def _copy_tree(source: Path, target: Path) -> None:
    if not source.is_dir():
        return
    for path in source.rglob("*"):
        if path.is_file() and not path.is_symlink():
            _copy_file(path, target / path.relative_to(source), overwrite=False)


def _referenced(run: RunData, key: Key) -> list[str]:
    result = run.results[key]
    paths = [step.log_path for step in run.steps(*key) if step.log_path]
    if result.crash is not None:
        crash = result.crash
        paths += [p for p in (crash.stderr_path, crash.record_path, crash.reproducer_path) if p]
    return [p for p in paths if p]


def _copy_artifacts(plan: MergePlan, out: Path) -> None:
    for (package, _), index in sorted(plan.kept.items()):
        source = plan.sources[index]
        if source.path is None:
            continue
        for area in PACKAGE_AREAS:
            folder = source.artifact(f"{area}/{package}")
            if folder is not None:
                _copy_tree(folder, out / area / package)
    # The files the kept events name come from the shard whose result was kept.
    for key, index in plan.kept.items():
        source = plan.sources[index]
        for relative in _referenced(source, key):
            origin = source.artifact(relative)
            target = (out / relative).resolve()
            if origin is None or not origin.is_file() or out.resolve() not in target.parents:
                continue
            _copy_file(origin, target, overwrite=True)


def write_merge(plan: MergePlan, out_dir: str | os.PathLike[str]) -> Path:
    """Write the merged run directory; refuses to replace an existing run."""
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise MergeError(f"{out}: already exists and is not empty; choose another output")
    events = plan.events()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise MergeError(f"{out}: cannot create: {exc.strerror}") from exc
    try:
        with EventWriter(staging / EVENTS_FILE, plan.run_id) as writer:
            for event in events:
                writer.emit(event)
        _copy_artifacts(plan, staging)
        start = events[0] if isinstance(events[0], RunStarted) else None
        finish = events[-1]
        record = RunRecord(
            run_id=plan.run_id,
            status="merged",
            started_at=start.ts.isoformat() if start else None,
            finished_at=finish.ts.isoformat(),
            interpreter=start.interpreter.model_dump(mode="json") if start else None,
            merged_from=[run.run_id for run in plan.sources],
        )
        write_atomic(staging / RUN_JSON, json.dumps(record.as_json(), indent=2) + "\n")
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise MergeError(f"{out}: cannot write the merged run: {exc}") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


__all__ = ["Duplicate", "Gap", "MergePlan", "merge_runs", "merged_run_id", "write_merge"]
