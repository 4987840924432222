"""Per-test outcomes from the JUnit XML file apiary asks pytest to write.

pytest writes it with `--junitxml=PATH -o junit_family=xunit1` (apiary adds both to
PYTEST_ADDOPTS when a suite runs more than once, `--iterations`): xunit1 keeps each
test's `file`, from which the node id is rebuilt (`tests/test_x.py::TestY::test_z[1]`).
Outcomes are read from the file, never from `-v` text: a test with a <failure> is
failed, with an <error> error, with a <skipped> skipped, otherwise passed; a test listed
twice (a teardown error after a pass) keeps its worst outcome. A file cut short (the
process died while writing it) or missing gives no outcomes and one line saying why.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from xml.etree import ElementTree

from normalized_events.files import TooLarge, read_whole

TestOutcome = Literal["passed", "failed", "error", "skipped"]
_RANK: dict[TestOutcome, int] = {"skipped": 0, "passed": 1, "failed": 2, "error": 3}
_MAX_BYTES = 50_000_000
JUNIT_NAME = "junit.xml"


@dataclass(frozen=True)
class TestResults:
    """One run's per-test outcomes, or why there are none."""

    outcomes: dict[str, TestOutcome] = field(default_factory=dict)
    problem: str | None = None


def writes_junit(framework: str) -> bool:
    """Whether apiary can ask the suite's runner for JUnit XML (pytest only)."""
    return framework == "pytest"


def junit_addopts(existing: str | None, path: Path) -> str:
    """PYTEST_ADDOPTS with the JUnit XML report at `path` added."""
    parts = shlex.split(existing or "")
    return shlex.join([*parts, f"--junitxml={path}", "-o", "junit_family=xunit1"])


def read_junit(path: Path) -> TestResults:
    """The outcomes in the JUnit XML file at `path`."""
    try:
        # Written by the suite: a link or a FIFO left in its place is not read.
        root = ElementTree.fromstring(read_whole(path, _MAX_BYTES))  # noqa: S314 - expat, bounded
    except TooLarge as exc:
        return TestResults(problem=f"{path.name}: {exc.size} bytes, too large to read")
    except FileNotFoundError:
        return TestResults(problem=f"{path.name}: not written (the run died or never started)")
    except OSError as exc:
        return TestResults(problem=f"{path.name}: unreadable ({exc.strerror or exc})")
    except ElementTree.ParseError as exc:
        return TestResults(problem=f"{path.name}: not complete XML ({exc})")
    outcomes: dict[str, TestOutcome] = {}
    for case in root.iter("testcase"):
        test_id = _test_id(case)
        outcome = _outcome(case)
        before = outcomes.get(test_id)
        if before is None or _RANK[outcome] > _RANK[before]:
            outcomes[test_id] = outcome
    return TestResults(outcomes=outcomes)


def _outcome(case: ElementTree.Element) -> TestOutcome:
    tags = {child.tag for child in case}
    if "error" in tags:
        return "error"
    if "failure" in tags:
        return "failed"
    if "skipped" in tags:
        return "skipped"
    return "passed"


def _test_id(case: ElementTree.Element) -> str:
    """`file::Class::name` from xunit1's file and classname; `classname::name` without."""
    name = case.get("name", "?")
    classname = case.get("classname", "")
    file = case.get("file")
    if not file or not file.endswith(".py"):
        return f"{classname}::{name}" if classname else name
    module = file[:-3].replace("/", ".")
    rest = classname[len(module) + 1 :] if classname.startswith(module + ".") else ""
    parts = [file, *([p for p in rest.split(".") if p]), name]
    return "::".join(parts)
