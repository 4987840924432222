"""JUnit XML as GitLab reads it (``artifacts:reports:junit``): one testcase per package.

A run: crash and fail are failures (message: the crash signature or the reason), skipped
is skipped, every other non-pass outcome (timeouts, install errors, ...) is an error.
A comparison: regressed and new-crash-bucket are failures, skipped and missing skipped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from normalized_events import CrashInfo, Outcome, PackageFinished

from reporter.model.categories import Category
from reporter.model.compare import Comparison
from reporter.model.rundata import RunData
from reporter.model.summary import Summary

# Characters XML 1.0 cannot carry (ANSI escapes in stderr are the usual ones).
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
TAIL_LINES = 60
MESSAGE_LIMIT = 500


def clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _message(text: str) -> str:
    text = " ".join(clean(text).split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def _tail(text: str | None, lines: int = TAIL_LINES) -> str:
    if not text:
        return ""
    kept = text.rstrip("\n").splitlines()[-lines:]
    return "\n".join(kept)


def _details(run: RunData, result: PackageFinished) -> tuple[str, str]:
    """(body of the failure element, system-out) for a non-passing result."""
    body = [result.reason] if result.reason else []
    steps = run.steps(result.package, result.condition)
    if result.crash is not None:
        body += _crash_lines(run, result.crash)
    elif steps and steps[-1].last_lines:
        last = steps[-1]
        body += ["", f"--- last lines of {last.step.value} ---", *last.last_lines[-TAIL_LINES:]]
    out = [
        f"{step.step.value} log: {_where(run, step.log_path)}" for step in steps if step.log_path
    ]
    return clean("\n".join(body)), clean("\n".join(out))


def _where(run: RunData, path: str) -> str:
    """A run's file as a path to open (relative to the run when it cannot be found)."""
    found = run.artifact(path)
    return str(found) if found is not None else path


def _crash_lines(run: RunData, crash: CrashInfo) -> list[str]:
    lines = [crash.headline] if crash.headline else []
    lines.extend(f"  {frame}" for frame in crash.frames[:10])
    if crash.reproducible is not None:
        lines.append(f"reproducible: {'yes' if crash.reproducible else 'no (flaky)'}")
    if crash.test_id:
        lines.append(f"crashing test: {crash.test_id}")
    if crash.isolated:
        lines.append(f"test alone: {crash.isolated} ({crash.isolated_reason or ''})")
    if crash.jit_only is not None or crash.jit_only_reason:
        lines.append(f"JIT only: {crash.jit_only} ({crash.jit_only_reason or ''})")
    for title, path in (("reproducer", crash.reproducer_path), ("stderr", crash.stderr_path)):
        if path:
            lines.append(f"{title}: {_where(run, path)}")
    stderr = _tail(run.read_artifact(crash.stderr_path))
    if stderr:
        lines += ["", "--- stderr (end) ---", stderr]
    return lines


def _testcase(suite: ET.Element, run: RunData, result: PackageFinished) -> str:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"apiary.{result.condition}",
        name=result.package,
        time=f"{result.duration_s:.3f}",
    )
    outcome = result.outcome
    if outcome == Outcome.PASS:
        return "pass"
    if outcome == Outcome.SKIPPED:
        ET.SubElement(case, "skipped", message=_message(result.reason or "skipped"))
        return "skipped"
    body, out = _details(run, result)
    if outcome == Outcome.CRASH:
        signature = result.crash.signature if result.crash else ""
        kind, message = "failure", signature or result.reason or "crash"
    elif outcome == Outcome.FAIL:
        kind, message = "failure", result.reason or "tests failed"
    else:
        kind, message = "error", f"{outcome.value}: {result.reason or ''}".rstrip(": ")
    element = ET.SubElement(case, kind, message=_message(message), type=outcome.value)
    element.text = body
    if out:
        ET.SubElement(case, "system-out").text = out
    return "failures" if kind == "failure" else "errors"


def _serialise(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _counted(element: ET.Element, counts: dict[str, int], tests: int, time: float) -> None:
    element.set("tests", str(tests))
    for name in ("failures", "errors", "skipped"):
        element.set(name, str(counts.get(name, 0)))
    element.set("time", f"{time:.3f}")


def summary_junit(summary: Summary) -> str:
    run = summary.run
    root = ET.Element("testsuites", name=f"apiary {run.run_id}")
    by_condition: dict[str, list[PackageFinished]] = defaultdict(list)
    for result in run.results.values():
        by_condition[result.condition].append(result)
    totals: dict[str, int] = defaultdict(int)
    total_time = 0.0
    for condition in sorted(by_condition):
        results = sorted(by_condition[condition], key=lambda r: r.package)
        suite = ET.SubElement(root, "testsuite", name=f"{run.run_id} [{condition}]")
        if run.started_at is not None:
            suite.set("timestamp", run.started_at.strftime("%Y-%m-%dT%H:%M:%S"))
        counts: dict[str, int] = defaultdict(int)
        for result in results:
            counts[_testcase(suite, run, result)] += 1
        time = sum(r.duration_s for r in results)
        _counted(suite, counts, len(results), time)
        for name, n in counts.items():
            totals[name] += n
        total_time += time
    _counted(root, totals, len(run.results), run.wall_s or total_time)
    return _serialise(root)


FAILING = {Category.REGRESSED, Category.NEW_CRASH_BUCKET}
SKIPPING = {Category.SKIPPED, Category.MISSING}


def compare_junit(comparison: Comparison) -> str:
    name = f"{comparison.a.label} -> {comparison.b.label}"
    root = ET.Element("testsuites", name=f"apiary compare {name}")
    suite = ET.SubElement(root, "testsuite", name=name)
    counts: dict[str, int] = defaultdict(int)
    total_time = 0.0
    for pair in comparison.pairs:
        duration = pair.b.duration_s if pair.b is not None else 0.0
        total_time += duration
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"apiary.{pair.condition}",
            name=pair.package,
            time=f"{duration:.3f}",
        )
        a = pair.a.outcome.value if pair.a else "absent"
        b = pair.b.outcome.value if pair.b else "absent"
        line = f"{pair.category.value}: {a} -> {b}" + (f" ({pair.note})" if pair.note else "")
        if pair.category in FAILING:
            signature = pair.b.crash.signature if pair.b and pair.b.crash else ""
            failure = ET.SubElement(
                case, "failure", message=_message(signature or line), type=pair.category.value
            )
            body = [line]
            if pair.b is not None:
                body.append(_details(comparison.b.run, pair.b)[0])
            failure.text = clean("\n".join(body))
            counts["failures"] += 1
        elif pair.category in SKIPPING:
            ET.SubElement(case, "skipped", message=_message(line))
            counts["skipped"] += 1
        ET.SubElement(case, "system-out").text = clean(line)
    _counted(suite, counts, len(comparison.pairs), total_time)
    _counted(root, counts, len(comparison.pairs), total_time)
    return _serialise(root)
