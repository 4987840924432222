"""Tests that hang with the network off (a broker that never answers, a retry loop),
found and deselected.

A suite that stopped at its time limit or hung says nothing about which tests hung. A
run with a per-test time limit (pytest-timeout, its signal method: the test that
overstays fails and the suite goes on) names them in pytest's summary
(`FAILED t/x.py::test_y - Failed: Timeout (>30.0s) from pytest-timeout.`); they are then
deselected (`--deselect ID`, one per test) and the suite runs again without the limit.
Hunting needs no per-test limit in the recorded command: a test that hangs later, on
another interpreter, is a hang worth reporting.

Two hangs escape the per-test limit: one in a thread or subprocess its signal does not
interrupt, and a failing test that a rerun plugin retries with a delay until the suite's
own limit. For the first, the stopped run's hang record names the test that was running
(the evidence agent's); that test is deselected and the probe goes on. For the second, the
probe run turns pytest-rerunfailures' reruns off (`--reruns=0`) when the entry installs it.
"""

from __future__ import annotations

import re
import shlex

from normalized_events import Outcome
from registry_core import PackageEntry
from runner_core.commands import split_steps
from runner_core.enrich.distnames import canonical
from runner_core.enrich.edits import add_requirements, installed_by
from runner_core.enrich.fixes import Fix

PROBE_PLUGIN = "pytest-timeout"
PROBE_PURPOSE = "to find the tests that hang"
_PROBE_OPTION = re.compile(r"^--timeout=(?P<seconds>\d+)$")
_TIMED_OUT = re.compile(r"^FAILED (?P<id>\S.*?) - Failed: Timeout \(>[\d.]+s\)", re.MULTILINE)
# pytest's summary cuts its lines at the terminal's width, test ids included, unless -vv
_FULL_IDS = "-vv"
_RERUN_PLUGIN = "pytest-rerunfailures"
_NO_RERUNS = "--reruns=0"
_STOPPED = {Outcome.TIMEOUT: "stopped at the time limit", Outcome.HANG: "hung"}
STOPPED = frozenset(_STOPPED)  # the outcomes of a suite that never finished


def probe(
    entry: PackageEntry, outcome: Outcome, per_test_s: int, hung_test: str | None = None
) -> Fix | None:
    """The run that finds the tests that hang, for a pytest suite that stopped at its
    time limit or hung; None otherwise. `hung_test`, the test the stopped run's hang record
    names, is deselected at once."""
    tokens = _pytest_step(entry.test_command)
    if outcome not in _STOPPED or tokens is None or _probe_seconds(tokens) is not None:
        return None
    install = entry.install_command
    installed = installed_by(install)
    if canonical(PROBE_PLUGIN) not in installed:
        install = add_requirements(install, [PROBE_PLUGIN])
    options = [f"--timeout={per_test_s}", _FULL_IDS]
    if canonical(_RERUN_PLUGIN) in installed:
        options.append(_NO_RERUNS)
    named = ["--deselect", _every_parameter(hung_test)] if hung_test else []
    description = (
        f"the suite {_STOPPED[outcome]}"
        + (f" in {hung_test} (deselected: {named[1]})" if hung_test else "")
        + f" -> a run with a per-test time limit of {per_test_s} s ({PROBE_PLUGIN}"
        + (", no reruns" if _NO_RERUNS in options else "")
        + f") {PROBE_PURPOSE}"
    )
    return Fix(description, install, shlex.join([*tokens, *named, *options]))


def longer_limit(entry: PackageEntry, run_timeout_s: float) -> Fix | None:
    """A suite still computing when its time limit stopped it gets four times that limit
    (up to the run's) before any of its tests is taken for hung: the first limit of an
    entry is scan's guess from the suite's size (mpmath's runs for minutes)."""
    current = entry.timeout
    if current is None:
        return None
    longer = int(min(run_timeout_s, current * 4))
    if longer <= current:
        return None
    description = f"the suite was still running at its time limit of {current} s -> {longer} s"
    return Fix(description, entry.install_command, entry.test_command, timeout=longer)


def deselect(entry: PackageEntry, log: str, hung_test: str | None = None) -> Fix | None:
    """After a probe run (`probe`'s command): the command without the per-test limit and
    with the tests that overstayed it deselected. When the probe run stopped too and
    pytest named none, the test its hang record names (`hung_test`) is deselected and the
    probe goes on. When neither stopped, the command without the limit. None when the
    test the hang names was deselected already."""
    tokens = _pytest_step(entry.test_command)
    seconds = _probe_seconds(tokens) if tokens is not None else None
    if tokens is None or seconds is None:
        return None
    hung = list(dict.fromkeys(m.group("id") for m in _TIMED_OUT.finditer(log)))
    if hung:
        kept = tokens[: _probe_at(tokens)]  # the probe's options come last
        description = (
            f"{len(hung)} test{'s' if len(hung) > 1 else ''} hung with the network off "
            f"(each stopped by a {seconds} s per-test limit) -> deselected: {', '.join(hung)}"
        )
        return Fix(description, entry.install_command, shlex.join(_deselecting(kept, hung)))
    if hung_test is None:
        description = f"the run with a {seconds} s per-test limit stopped in no test -> without it"
        return Fix(description, entry.install_command, shlex.join(tokens[: _probe_at(tokens)]))
    every = _every_parameter(hung_test)
    if every in tokens:
        return None
    description = (
        f"the run with a {seconds} s per-test limit stopped too, in {hung_test} "
        f"(out of the limit's reach) -> deselected: {every}, again {PROBE_PURPOSE}"
    )
    return Fix(description, entry.install_command, shlex.join(_deselecting(tokens, [every])))


def _every_parameter(test_id: str) -> str:
    """A test that hung out of the limit's reach, with all its parameters (pytest's
    --deselect takes a prefix): the others seldom do better, and each costs a round."""
    function, bracket, _ = test_id.partition("[")
    return function if bracket and "::" in function else test_id


def _deselecting(tokens: list[str], test_ids: list[str]) -> list[str]:
    """The command with `--deselect ID` for each test, before the probe's own options."""
    at = _probe_at(tokens)
    added = [part for test_id in test_ids for part in ("--deselect", test_id)]
    return [*tokens[:at], *added, *tokens[at:]]


def _pytest_step(test_command: str | None) -> list[str] | None:
    """The tokens of the command's one step when it runs pytest, else None."""
    steps = split_steps(test_command or "python -m pytest")
    if len(steps) != 1:
        return None
    tokens = steps[0]
    runs = "pytest" in tokens or any(t.endswith("/pytest") for t in tokens[:3])
    return tokens if runs else None


def _probe_at(tokens: list[str]) -> int:
    """Where the probe's options begin (the end when there are none)."""
    return next((i for i, t in enumerate(tokens) if _PROBE_OPTION.match(t)), len(tokens))


def _probe_seconds(tokens: list[str]) -> int | None:
    found = next((m for m in map(_PROBE_OPTION.match, tokens) if m), None)
    return int(found.group("seconds")) if found else None
