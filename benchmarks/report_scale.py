"""How fast the reporter is at hunt scale: 5,000 packages x 20 runs, synthetic.

Writes a synthetic results directory (each package: package_started, five step_finished,
package_finished, as a real run writes them), then times, end to end from the files:

- summary: read one run, summarise it, render it as text (and JSON, HTML);
- compare: read two runs, compare them, render as text;
- history: read all runs (the narrow reader of ``load_history``), build the history,
  render as text;

and, for the reading that dominates them, the alternative measured in the same run: the
contract's own reader (``normalized_events.read_events``, which validates every line).
Target: under 2 s each for summary, compare and history.

    .venv/bin/python benchmarks/report_scale.py [--packages 5000] [--runs 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from normalized_events import (
    CrashInfo,
    Event,
    HostInfo,
    InterpreterInfo,
    Outcome,
    PackageFinished,
    PackageStarted,
    RegistryInfo,
    RunFinished,
    RunOptions,
    RunStarted,
    Step,
    StepFinished,
    read_events,
)
from reporter import (
    Format,
    RunData,
    build_history,
    compare_runs,
    load_history,
    load_run,
    render_compare,
    render_history,
    render_summary,
    summarize,
)

OUTCOMES = [
    (Outcome.PASS, 0.70),
    (Outcome.FAIL, 0.12),
    (Outcome.INSTALL_ERROR, 0.05),
    (Outcome.CONFIG_ERROR, 0.04),
    (Outcome.SKIPPED, 0.05),
    (Outcome.CRASH, 0.02),
    (Outcome.TIMEOUT, 0.01),
    (Outcome.IMPORT_ERROR, 0.01),
]
STEPS = [Step.SOURCE, Step.VENV, Step.INSTALL, Step.IMPORT_CHECK, Step.TEST]


def _outcome(rng: random.Random) -> Outcome:
    roll = rng.random()
    for outcome, share in OUTCOMES:
        roll -= share
        if roll < 0:
            return outcome
    return Outcome.PASS


def write_run(root: Path, index: int, packages: int, base: list[Outcome], seed: int) -> Path:
    """One run directory; most packages keep their base outcome, some change or flicker."""
    rng = random.Random(seed * 1000 + index)
    run_id = f"hunt-{index:02d}"
    start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=index)
    clock = start
    run_dir = root / run_id
    run_dir.mkdir(parents=True)
    version = "3.14.0a1" if index < 10 else "3.14.0a2"
    events: list[Event] = [
        RunStarted(
            run_id=run_id,
            ts=start,
            apiary_version="0.1.0",
            interpreter=InterpreterInfo(
                path="/opt/cpython/bin/python3",
                version=version,
                jit_available=True,
                jit_enabled=True,
            ),
            host=HostInfo(hostname="bench", platform="linux", cpu_count=2),
            registry=RegistryInfo(path="registry", revision="r1"),
            options=RunOptions.model_validate(
                {"workers": 8, "selection": [f"pkg{i:05d}" for i in range(packages)]}
            ),
        )
    ]
    counts: dict[Outcome, int] = {}
    for number in range(packages):
        name = f"pkg{number:05d}"
        outcome = base[number]
        if rng.random() < 0.01:  # flaky or changed this time
            outcome = _outcome(rng)
        counts[outcome] = counts.get(outcome, 0) + 1
        revision = f"{number:05x}{index // 7:035x}"  # the source moves every 7 runs
        clock += timedelta(seconds=0.3)
        events.append(PackageStarted(run_id=run_id, ts=clock, package=name, source_ref=revision))
        durations = {}
        for step in STEPS:
            seconds = rng.uniform(0.1, 60.0) if step == Step.TEST else rng.uniform(0.05, 3.0)
            durations[step.value] = seconds
            last = step == Step.TEST and outcome != Outcome.PASS
            events.append(
                StepFinished(
                    run_id=run_id,
                    ts=clock,
                    package=name,
                    step=step,
                    command=f"python -m pytest -x tests/{name}",
                    exit_code=0 if not last else 1,
                    duration_s=seconds,
                    log_path=f"logs/{name}/{step.value}.log",
                    last_lines=[
                        f"FAILED tests/test_{name}.py::test_{i} - AssertionError" for i in range(10)
                    ]
                    if last
                    else [],
                )
            )
        crash = None
        if outcome == Outcome.CRASH:
            site = number % 40
            crash = CrashInfo(
                kind="segfault",
                signal=11,
                headline="Fatal Python error: Segmentation fault",
                frames=[f"mod{site}.py:func{site}", "pkg.py:run", "test_x.py:test_it"],
                signature=f"segfault|Segmentation fault|mod{site}.py:func{site}",
                bucket=f"bucket{site:04d}",
                reproducible=rng.random() < 0.8,
                stderr_path=f"crashes/{name}/stderr.txt",
                reproducer_path=f"crashes/{name}/reproduce.sh",
            )
        reason = None
        if outcome == Outcome.CONFIG_ERROR:
            reason = f"ModuleNotFoundError: No module named 'dep{number % 30}'"
        elif outcome != Outcome.PASS:
            reason = f"{outcome.value} in {name}"
        events.append(
            PackageFinished(
                run_id=run_id,
                ts=clock,
                package=name,
                outcome=outcome,
                reason=reason,
                crash=crash,
                package_version="1.0",
                source_revision=revision,
                installed={f"dist{i}": "1.2.3" for i in range(12)},
                durations=durations,
                duration_s=sum(durations.values()),
            )
        )
    events.append(
        RunFinished(
            run_id=run_id,
            ts=clock,
            finished_at=clock,
            wall_s=(clock - start).total_seconds(),
            counts=counts,
        )
    )
    # The lines a run writes (EventWriter dumps each event the same way); written in one
    # go here, since fsyncing 100,000 events is not what is being measured.
    with (run_dir / "events.jsonl").open("w") as handle:
        for seq, event in enumerate(events):
            handle.write(event.model_copy(update={"seq": seq}).model_dump_json() + "\n")
    return run_dir


def timed(action: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds over ``repeat`` runs (CPU time shows the cost
    when other processes share the machine)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def naive_load(path: Path) -> RunData:
    read = read_events(path / "events.jsonl")
    return RunData.from_events(read.events, path=path, problems=read.problems)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, help="keep the synthetic results here")
    args = parser.parse_args()

    root = args.dir or Path(tempfile.mkdtemp(prefix="report-scale-"))
    rng = random.Random(args.seed)
    base = [_outcome(rng) for _ in range(args.packages)]
    begin = time.perf_counter()
    runs = [root / f"hunt-{i:02d}" for i in range(args.runs)]
    if all((run / "events.jsonl").is_file() for run in runs):
        print(f"reusing the synthetic history in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
        runs = [write_run(root, i, args.packages, base, args.seed) for i in range(args.runs)]
    size = sum((run / "events.jsonl").stat().st_size for run in runs)
    print(
        f"synthetic history: {args.packages} packages x {args.runs} runs, "
        f"{size / 1e6:.0f} MB of events ({time.perf_counter() - begin:.1f} s to make)"
    )
    print(
        f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    try:
        last, previous = runs[-1], runs[-2]

        def summary() -> str:
            return render_summary(summarize(load_run(last)), Format.TEXT)

        def compare() -> str:
            return render_compare(compare_runs(load_run(previous), load_run(last)), Format.TEXT)

        def history() -> str:
            return render_history(load_history(runs), Format.TEXT)

        print("end to end (read + compute + text), median wall s (CPU s):")
        for name, action in (("summary", summary), ("compare", compare), ("history", history)):
            wall, cpu = timed(action, args.repeat)
            verdict = "under" if wall < 2.0 else "OVER"
            print(f"  {name:<8} {wall:6.2f} s ({cpu:.2f} s CPU)  {verdict} the 2 s target")

        loaded = [load_run(run) for run in runs]
        parts: tuple[tuple[str, Callable[[], object]], ...] = (
            ("  summary compute", lambda: summarize(load_run(last))),
            ("  summary as json", lambda: render_summary(summarize(loaded[-1]), Format.JSON)),
            ("  summary as html", lambda: render_summary(summarize(loaded[-1]), Format.HTML)),
            ("  compare compute", lambda: compare_runs(loaded[-2], loaded[-1])),
            ("  history compute", lambda: build_history(loaded)),
            ("  history, full reader", lambda: build_history([load_run(run) for run in runs])),
        )
        print("parts, median wall s (CPU s):")
        for label, part in parts:
            wall, cpu = timed(part, args.repeat)
            print(f"{label:<24} {wall:6.2f} s ({cpu:.2f} s CPU)")

        print("reading, against the contract's reader (read_events validates every line):")
        fast, fast_cpu = timed(lambda: load_run(last), args.repeat)
        slow, slow_cpu = timed(lambda: naive_load(last), 1)
        print(
            f"  one run:  load_run {fast:.2f} s ({fast_cpu:.2f} CPU), read_events "
            f"{slow:.2f} s ({slow_cpu:.2f} CPU): x{slow_cpu / fast_cpu:.1f} in CPU"
        )
        fast, fast_cpu = timed(lambda: [load_run(run) for run in runs], 1)
        slow, slow_cpu = timed(lambda: [naive_load(run) for run in runs], 1)
        print(
            f"  {args.runs} runs: load_run {fast:.2f} s ({fast_cpu:.2f} CPU), read_events "
            f"{slow:.2f} s ({slow_cpu:.2f} CPU): x{slow_cpu / fast_cpu:.1f} in CPU"
        )
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
