"""What a test runner's own closing lines say: how many tests ran and whether any failed.

The runners recognised are pytest (`=== 1 failed, 2 passed in 0.12s ===`, the bare line
of `-q`, or under `-qq`, which prints no closing line, the FAILED / ERROR lines of its
short test summary) and unittest with everything that prints its summary (`python -m unittest`,
Django's and nose2's runners, nose): `Ran N tests in Xs`, then `OK`, `FAILED (...)` or
`NO TESTS RAN`; and stestr's totals (`Ran: N tests in Xs sec.` then ` - Failed: N`). An
exit status alone never says that tests ran; these lines do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Runner = Literal["pytest", "unittest", "stestr"]

_PYTEST_FINAL = re.compile(r"^=+ (?P<text>.*?) in [\d.]+s(?: \([^)]*\))? =+$")
_PYTEST_QUIET_FINAL = re.compile(
    r"^(?P<text>(?:\d+ (?:failed|passed|errors?|skipped|xfailed|xpassed|deselected)\b.*?"
    r"|no tests ran)) in [\d.]+s\b"
)
_PYTEST_SHORT_SUMMARY = re.compile(r"^=+ short test summary info =+$")
_PYTEST_SHORT_ENTRY = re.compile(r"^(?P<what>FAILED|ERROR) \S")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PYTEST_COUNT = re.compile(r"\b(?P<n>\d+) (?P<what>failed|passed|errors?|xfailed|xpassed)\b")
_UNITTEST_RAN = re.compile(r"^Ran (?P<n>\d+) tests? in [\d.]+s$")
_UNITTEST_STATUS = re.compile(r"^(?P<text>OK\b.*|FAILED \(.*\)|NO TESTS RAN)$")
_STESTR_RAN = re.compile(r"^Ran: (?P<n>\d+) tests? in [\d.]+ sec\.$")
_STESTR_FAILED = re.compile(r"^ - Failed: (?P<n>\d+)$")


@dataclass(frozen=True)
class RunnerSummary:
    """One runner's closing summary."""

    runner: Runner
    text: str  # what a verdict's reason shows: `1 failed, 2 passed`, `FAILED (errors=1)`
    ran: int  # tests that ran (skipped and deselected ones did not)
    failed: bool  # some of them failed or erred

    @property
    def shows_failures(self) -> bool:
        """Tests ran and the runner says some failed: the only evidence for `fail`."""
        return self.ran > 0 and self.failed


def runner_summary(output: str) -> RunnerSummary | None:
    """The last runner summary in `output`, or None when no runner printed one."""
    found = last_runner_summary(output.splitlines())
    return found[1] if found is not None else None


def last_runner_summary(lines: list[str]) -> tuple[int, RunnerSummary] | None:
    """The last runner summary in `lines` and the index of the line it starts on."""
    clean = [_ANSI.sub("", line).rstrip() for line in lines]
    for index in range(len(clean) - 1, -1, -1):
        found = (
            _pytest_summary(clean[index])
            or _pytest_short_summary(clean, index)
            or _unittest_summary(clean, index)
            or _stestr_summary(clean, index)
        )
        if found is not None:
            return index, found
    return None


def _pytest_summary(line: str) -> RunnerSummary | None:
    match = _PYTEST_FINAL.search(line) or _PYTEST_QUIET_FINAL.search(line)
    if match is None:
        return None
    text = match.group("text")
    counts: dict[str, int] = {}
    for count in _PYTEST_COUNT.finditer(text):
        what = "error" if count.group("what").startswith("error") else count.group("what")
        counts[what] = counts.get(what, 0) + int(count.group("n"))
    if not counts and "no tests ran" not in text and not re.search(r"\d+ \w+", text):
        return None
    failed = counts.get("failed", 0) + counts.get("error", 0)
    return RunnerSummary("pytest", text, sum(counts.values()), failed > 0)


def _pytest_short_summary(lines: list[str], index: int) -> RunnerSummary | None:
    """`-qq`: no closing line, but the short summary lists each failed or erring test."""
    if not _PYTEST_SHORT_SUMMARY.match(lines[index]):
        return None
    entries = [m.group("what") for m in map(_PYTEST_SHORT_ENTRY.match, lines[index + 1 :]) if m]
    failed, errors = entries.count("FAILED"), entries.count("ERROR")
    if not entries:
        return None
    counts = [f"{failed} failed"] if failed else []
    counts += [f"{errors} error{'s' if errors > 1 else ''}"] if errors else []
    return RunnerSummary("pytest", ", ".join(counts), failed + errors, True)


def _unittest_summary(lines: list[str], index: int) -> RunnerSummary | None:
    ran = _UNITTEST_RAN.match(lines[index])
    if ran is None:
        return None
    status = next((line for line in lines[index + 1 :] if line.strip()), "")
    verdict = _UNITTEST_STATUS.match(status)
    failed = verdict is not None and verdict.group("text").startswith("FAILED")
    text = verdict.group("text") if failed and verdict is not None else lines[index]
    return RunnerSummary("unittest", text, int(ran.group("n")), failed)


def _stestr_summary(lines: list[str], index: int) -> RunnerSummary | None:
    ran = _STESTR_RAN.match(lines[index])
    if ran is None:
        return None
    counts = (_STESTR_FAILED.match(line) for line in lines[index + 1 : index + 8])
    failed = next((int(m.group("n")) for m in counts if m), 0)
    text = f"Ran: {ran.group('n')} tests, Failed: {failed}" if failed else lines[index]
    return RunnerSummary("stestr", text, int(ran.group("n")), failed > 0)
