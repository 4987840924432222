"""Tests that hang with the network off (a broker that never answers, a retry loop),
found and deselected.

A suite that stopped at its time limit or hung says nothing about which tests hung. A
run with a per-test time limit (pytest-timeout, its signal method: the test that
overstays fails and the suite goes on) names them in pytest's summary
(`FAILED t/x.py::test_y - Failed: Timeout (>30.0s) from pytest-timeout.`); they are then
deselected (`--deselect ID`, one per test) and the suite runs again without the limit.
Hunting needs no per-test limit in the recorded command: a test that hangs later, on
another interpreter, is a hang worth reporting.
"""

from __future__ import annotations

import re
import shlex

from normalized_events import Outcome
from registry_core import PackageEntry
from runner_core.commands import split_steps
from runner_core.enrich.distnames import canonical
from runner_core.enrich.fixes import Fix, add_requirements, installed_by

PROBE_PLUGIN = "pytest-timeout"
PROBE_PURPOSE = "to find the tests that hang"
_PROBE_OPTION = re.compile(r"^--timeout=(?P<seconds>\d+)$")
_TIMED_OUT = re.compile(r"^FAILED (?P<id>\S.*?) - Failed: Timeout \(>[\d.]+s\)", re.MULTILINE)
# pytest's summary cuts its lines at the terminal's width, test ids included, unless -vv
_FULL_IDS = "-vv"
_STOPPED = {Outcome.TIMEOUT: "stopped at the time limit", Outcome.HANG: "hung"}


def probe(entry: PackageEntry, outcome: Outcome, per_test_s: int) -> Fix | None:
    """The run that finds the tests that hang, for a pytest suite that stopped at its
    time limit or hung; None otherwise."""
    tokens = _pytest_step(entry.test_command)
    if outcome not in _STOPPED or tokens is None or _probe_seconds(tokens) is not None:
        return None
    description = (
        f"the suite {_STOPPED[outcome]} -> a run with a per-test time limit of "
        f"{per_test_s} s ({PROBE_PLUGIN}) {PROBE_PURPOSE}"
    )
    install = entry.install_command
    if canonical(PROBE_PLUGIN) not in installed_by(install):
        install = add_requirements(install, [PROBE_PLUGIN])
    return Fix(description, install, shlex.join([*tokens, f"--timeout={per_test_s}", _FULL_IDS]))


def deselect(entry: PackageEntry, log: str) -> Fix | None:
    """After a probe run (`probe`'s command): the command without the per-test limit and
    with the tests that overstayed it deselected; None when none did."""
    tokens = _pytest_step(entry.test_command)
    seconds = _probe_seconds(tokens) if tokens is not None else None
    hung = list(dict.fromkeys(m.group("id") for m in _TIMED_OUT.finditer(log)))
    if tokens is None or seconds is None or not hung:
        return None
    probe_at = next(i for i, t in enumerate(tokens) if _PROBE_OPTION.match(t))
    kept = tokens[:probe_at] + tokens[probe_at + 1 :]
    if kept[probe_at : probe_at + 1] == [_FULL_IDS]:
        kept.pop(probe_at)
    for test_id in hung:
        kept += ["--deselect", test_id]
    description = (
        f"{len(hung)} test{'s' if len(hung) > 1 else ''} hung with the network off "
        f"(each stopped by a {seconds} s per-test limit) -> deselected: {', '.join(hung)}"
    )
    return Fix(description, entry.install_command, shlex.join(kept))


def _pytest_step(test_command: str | None) -> list[str] | None:
    """The tokens of the command's one step when it runs pytest, else None."""
    steps = split_steps(test_command or "python -m pytest")
    if len(steps) != 1:
        return None
    tokens = steps[0]
    runs = "pytest" in tokens or any(t.endswith("/pytest") for t in tokens[:3])
    return tokens if runs else None


def _probe_seconds(tokens: list[str]) -> int | None:
    found = next((m for m in map(_PROBE_OPTION.match, tokens) if m), None)
    return int(found.group("seconds")) if found else None
