"""`apiary registry list` against labeille's `analyze registry`, end to end, in one run.

    .venv/bin/python benchmarks/registry_list.py [--labeille PATH] [--entries 5000]
        [--rounds 5]

Both commands are run as a user runs them (a new process each time, bytecode caches
allowed) on the same generated registry (see registry_load.py). apiary is measured cold
(its load cache removed before each run) and warm (the cache of the previous run kept);
labeille has no cache, so its one figure is the baseline of both. Rounds are interleaved.
Without labeille the baseline is a plain `yaml.safe_load` loop over the files in a new
process (what labeille's loading amounts to).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from registry_load import build_registry
from sidebyside import (
    Sample,
    bytecode_env,
    find_labeille,
    interleave,
    load_average,
    print_table,
    timed,
)

APIARY = str(Path(sys.executable).with_name("apiary"))
PLAIN_LOOP = (
    "import pathlib, sys, yaml\n"
    "root = pathlib.Path(sys.argv[1])\n"
    "yaml.safe_load((root / 'index.yaml').read_text())\n"
    "for path in sorted((root / 'packages').glob('*.yaml')):\n"
    "    yaml.safe_load(path.read_text())\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labeille", help="labeille's executable (else $APIARY_BENCH_LABEILLE)")
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    labeille = find_labeille(args.labeille)
    work = Path(tempfile.mkdtemp(prefix="apiary-registry-list-"))
    try:
        registry, cache = work / "registry", work / "cache"
        build_registry(registry, args.entries)
        # The load cache trusts no file changed in the last two seconds.
        time.sleep(2.5)
        env = bytecode_env({"APIARY_CACHE_DIR": str(cache)})
        apiary = [APIARY, "registry", "list", "--registry-dir", str(registry)]

        def cold() -> Sample:
            shutil.rmtree(cache, ignore_errors=True)
            return timed(apiary, env)

        if labeille is not None:
            baseline = "labeille analyze registry"
            argv = [str(labeille), "analyze", "registry", "--registry-dir", str(registry)]
        else:
            print("labeille not found: comparing with a plain yaml.safe_load loop")
            baseline = "plain yaml.safe_load loop"
            argv = [sys.executable, "-c", PLAIN_LOOP, str(registry)]
        measures = {
            baseline: lambda: timed(argv, env),
            "apiary registry list, cold": cold,
            "apiary registry list, warm": lambda: timed(apiary, env),
        }
        print(f"{args.entries} entries; load average before: {load_average()}")
        series = interleave(args.rounds, measures)
        print(f"load average after: {load_average()}; medians of {args.rounds} rounds")
        print_table(series, baseline, list(measures))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
