"""Per-command overhead of each sandbox backend against a plain ``subprocess.run``.

    .venv/bin/python benchmarks/sandbox_overhead.py                 # /bin/true, 40 runs
    .venv/bin/python benchmarks/sandbox_overhead.py --runs 100
    .venv/bin/python benchmarks/sandbox_overhead.py --command "python3 -c pass"

All sides run in this process, interleaved round-robin (so load on the machine hits them
alike), on the same command:
- plain: ``subprocess.run(argv, stdout=log, stderr=STDOUT)``, no limits, no isolation;
- none: ``run_sandboxed`` with the none backend (own session, rlimits, output pump, capped
  log, secret filter, process-group and /proc sweep after the command);
- bwrap: ``run_sandboxed`` with bubblewrap (namespaces, mounts, the in-namespace reaper:
  the C one when a compiler is at hand), when it works here;
- bwrap, py reaper: the same with the Python reaper (``APIARY_REAPER_CC=none`` while it
  runs): the fallback, and what the C reaper saves;
and, for reference, parts of bwrap's overhead run bare: bwrap around ``true``, the Python
reaper's interpreter starting (``python -I -S -c pass``), and bwrap around ``true`` as it
was before the hardening (``--ro-bind / /``, no user namespace, no capability drop): the
difference is what least privilege and the minimal view cost.
Each line gives the median wall time per command, the overhead over plain in
milliseconds, and the ratio. The bwrap probe (cached per process) is timed separately.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sandbox_runner import Isolation, Limits, SandboxSpec, probe_bwrap, run_sandboxed
from sandbox_runner.backends.bwrap import probe_argv
from sandbox_runner.reaper import choose_reaper, reaper_python
from sandbox_runner.reaperbuild import COMPILER_VAR

Side = Callable[[], None]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--command", default="/bin/true", help="the command (shell words)")
    args = parser.parse_args()
    argv = shlex.split(args.command)

    started = time.perf_counter()
    ok, why = probe_bwrap()
    probe_ms = (time.perf_counter() - started) * 1000
    with tempfile.TemporaryDirectory(prefix="apiary-bench-sandbox-") as folder:
        sides, parts = _sides(argv, Path(folder), bwrap=ok)
        times = _interleaved({**sides, **parts}, args.runs)

    print(
        f"sandbox per-command overhead: {args.command!r}, {args.runs} runs each, interleaved; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
        f"load {os.getloadavg()[0]:.1f}; reaper: {choose_reaper().kind}"
    )
    _report(times, parts)
    print(f"  bwrap probe (once per process, cached): {probe_ms:.1f} ms: {why}")
    if not ok:
        print("  bwrap not measured: it cannot run here")
    return 0


def _sides(argv: list[str], work: Path, *, bwrap: bool) -> tuple[dict[str, Side], dict[str, Side]]:
    """The command plain, under each backend; and the parts of bwrap's overhead: its
    namespaces around `true`, and the reaper's start."""
    log = work / "out.log"
    env = dict(os.environ)

    def plain() -> None:
        with log.open("wb") as out:
            subprocess.run(
                argv, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, check=True
            )

    def sandboxed(backend: str) -> Side:
        spec = SandboxSpec(
            command=argv,
            cwd=work,
            env=env,
            limits=Limits(timeout_s=60, memory_bytes=4 << 30),
            isolation=Isolation(backend=backend),  # type: ignore[arg-type]
            stdout_log=log,
        )

        def run() -> None:
            result = run_sandboxed(spec)
            if result.exit_code != 0:
                raise SystemExit(f"{backend}: {argv} failed: {result.describe()}")

        return run

    sides: dict[str, Side] = {"plain": plain, "none": sandboxed("none")}
    parts: dict[str, Side] = {}
    if bwrap:
        sides["bwrap"] = sandboxed("bwrap")
        sides["bwrap, py reaper"] = _without_compiler(sandboxed("bwrap"))
        parts["bwrap true"] = _bare(probe_argv(shutil.which("bwrap") or "bwrap"))
        parts["python -I -S"] = _bare([reaper_python(), "-I", "-S", "-c", "pass"])
        parts["bwrap true, old"] = _bare(_unhardened_argv(shutil.which("bwrap") or "bwrap"))
    return sides, parts


def _without_compiler(side: Side) -> Side:
    """`side` run with the Python reaper: no compiler, so no C reaper, while it runs."""

    def run() -> None:
        before = os.environ.get(COMPILER_VAR)
        os.environ[COMPILER_VAR] = "none"
        try:
            side()
        finally:
            if before is None:
                del os.environ[COMPILER_VAR]
            else:
                os.environ[COMPILER_VAR] = before

    return run


def _bare(argv: list[str]) -> Side:
    def run() -> None:
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)

    return run


def _interleaved(sides: dict[str, Side], runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in sides}
    for side in sides.values():  # warm-up: imports, page cache
        side()
    for _ in range(runs):
        for name, side in sides.items():
            begin = time.perf_counter()
            side()
            times[name].append(time.perf_counter() - begin)
    return times


def _report(times: dict[str, list[float]], parts: dict[str, Side]) -> None:
    base = statistics.median(times["plain"])
    print(f"  {'side':<18}{'median':>10}{'p90':>10}{'overhead':>12}{'ratio':>8}")
    for name, samples in times.items():
        if name in parts:
            continue
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1] if len(samples) > 1 else median
        extra = (median - base) * 1000
        print(
            f"  {name:<18}{median * 1000:>8.1f}ms{p90 * 1000:>8.1f}ms"
            f"{extra:>+10.1f}ms{median / base:>7.1f}x"
        )
    for name in parts:
        median = statistics.median(times[name])
        print(f"  part of bwrap's overhead: {name:<14}{median * 1000:>8.1f}ms (alone)")


def _unhardened_argv(bwrap: str) -> list[str]:
    """bwrap around `true` as the backend ran it before the hardening, for comparison."""
    view = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    namespaces = ["--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-net"]
    return [bwrap, *namespaces, *view, "--", shutil.which("true") or "/bin/true"]


if __name__ == "__main__":
    raise SystemExit(main())
