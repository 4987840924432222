"""Timing apiary against labeille in one run: finding labeille, interleaved rounds, medians.

labeille is found from `--labeille PATH` or `$APIARY_BENCH_LABEILLE` (its `labeille`
executable), else on PATH; a benchmark prints a fallback comparison when it is absent.
Each measurement is the wall time and the CPU time (user + system, the child and all its
descendants) of one command; rounds alternate the sides so that the load of a shared
machine falls on both alike.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LABEILLE_VAR = "APIARY_BENCH_LABEILLE"
# For the local git repositories the benchmarks make: commits need an author.
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@example.invalid",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@example.invalid",
}


def find_labeille(given: str | None) -> Path | None:
    """labeille's executable: the option, else the variable, else PATH; None when absent."""
    for candidate in (given, os.environ.get(LABEILLE_VAR), shutil.which("labeille")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    if given or os.environ.get(LABEILLE_VAR):
        print(f"warning: labeille not found at {given or os.environ.get(LABEILLE_VAR)}")
    return None


def bytecode_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for both sides: bytecode caches allowed, as on a user's machine."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    # The whole machine's busy CPU seconds meanwhile (Linux, /proc/stat): what a command
    # costs with every process it starts, reaped by it or not; meaningful on an idle machine.
    machine_cpu: float | None = None


def machine_busy_s() -> float | None:
    """Seconds of CPU the machine spent busy since boot, all CPUs (None off Linux)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def timed(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None, check: bool = True
) -> Sample:
    """Run `argv` to completion, its output discarded; its wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = machine_busy_s()
    start = time.perf_counter()
    done = subprocess.run(
        list(argv),
        check=False,
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]!r}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    busy_after = machine_busy_s()
    machine = None if busy is None or busy_after is None else busy_after - busy
    return Sample(wall, cpu, machine)


@dataclass
class Series:
    """The samples of one measured thing, by name."""

    samples: dict[str, list[Sample]] = field(default_factory=dict)

    def add(self, name: str, sample: Sample) -> None:
        self.samples.setdefault(name, []).append(sample)

    def wall(self, name: str) -> float:
        return statistics.median(s.wall for s in self.samples[name])

    def cpu(self, name: str) -> float:
        return statistics.median(s.cpu for s in self.samples[name])

    def machine_cpu(self, name: str) -> float | None:
        found = [s.machine_cpu for s in self.samples[name] if s.machine_cpu is not None]
        return statistics.median(found) if found else None


def interleave(rounds: int, measures: Mapping[str, Callable[[], Sample]]) -> Series:
    """Each measure once per round, in turn; the series of every measure's samples."""
    series = Series()
    for _ in range(rounds):
        for name, measure in measures.items():
            series.add(name, measure())
    return series


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages, for the record."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def print_table(series: Series, baseline: str, names: Sequence[str]) -> None:
    """Medians of each measure and its ratio to `baseline` (wall and CPU)."""
    print(f"{'':38} {'wall':>8} {'cpu':>8} {'wall/base':>10} {'cpu/base':>9}")
    for name in names:
        wall, cpu = series.wall(name), series.cpu(name)
        ratio_wall = wall / series.wall(baseline)
        ratio_cpu = cpu / series.cpu(baseline) if series.cpu(baseline) else float("nan")
        print(f"{name:38} {wall:7.3f}s {cpu:7.3f}s {ratio_wall:9.2f}x {ratio_cpu:8.2f}x")
