"""Start-up of `apiary` against labeille's `--version`, measured side by side in one run.

    .venv/bin/python benchmarks/startup.py [--labeille PATH] [--rounds 15]

Times `apiary --version`, `apiary --help` and `apiary report summary --help` against
`labeille --version` (the baseline), rounds interleaved, and prints the medians and the
ratios. Without labeille the baseline is the bare interpreter (`python -c pass`) and a
typer app's `--help`, the floor any typer command line pays. Both sides run with bytecode
caches allowed (one warm-up run each first), as on a user's machine.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from pathlib import Path

from sidebyside import bytecode_env, find_labeille, interleave, load_average, print_table, timed

APIARY = str(Path(sys.executable).with_name("apiary"))
COMMANDS = {
    "apiary --version": [APIARY, "--version"],
    "apiary --help": [APIARY, "--help"],
    "apiary report summary --help": [APIARY, "report", "summary", "--help"],
}
BARE_TYPER = (
    "import typer\napp = typer.Typer(rich_markup_mode=None)\n@app.command()\n"
    "def one() -> None: ...\n@app.command()\ndef two() -> None: ...\napp()\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labeille", help="labeille's executable (else $APIARY_BENCH_LABEILLE)")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    env = bytecode_env()
    labeille = find_labeille(args.labeille)
    commands = dict(COMMANDS)
    if labeille is not None:
        baseline = "labeille --version"
        commands = {baseline: [str(labeille), "--version"], **commands}
    else:
        print("labeille not found: comparing with the interpreter and a bare typer app")
        baseline = "python -c pass"
        script = Path(tempfile.mkdtemp()) / "bare_typer.py"
        script.write_text(BARE_TYPER)
        commands = {
            baseline: [sys.executable, "-c", "pass"],
            "bare typer app --help": [sys.executable, str(script), "--help"],
            **commands,
        }
    for argv in commands.values():
        timed(argv, env)
    print(f"load average before: {load_average()}")
    series = interleave(
        args.rounds, {name: functools.partial(timed, argv, env) for name, argv in commands.items()}
    )
    print(f"load average after: {load_average()}; medians of {args.rounds} rounds")
    print_table(series, baseline, list(commands))


if __name__ == "__main__":
    main()
