"""JUnit XML as GitLab reads it (``artifacts:reports:junit``): one testcase per package.

A run: crash and fail are failures (message: the crash signature or the reason), skipped
is skipped, every other non-pass outcome (timeouts, install errors, ...) is an error.
A comparison: regressed and new-crash-bucket are failures, skipped and missing skipped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from normalized_events import Outcome, PackageFinished

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


def _details(run: RunData, result: PackageFinished) -> tuple[str, str]:  # noqa: C901
    """(body of the failure element, system-out) for a non-passing result."""
    body: list[str] = []
    out: list[str] = []
    if result.reason:
        body.append(result.reason)
    crash = result.crash
    if crash is not None:
        if crash.headline:
            body.append(crash.headline)
        body.extend(f"  {frame}" for frame in crash.frames[:10])
        if crash.reproducible is not None:
            body.append(f"reproducible: {'yes' if crash.reproducible else 'no (flaky)'}")
        if crash.test_id:
            body.append(f"crashing test: {crash.test_id}")
        if crash.isolated:
            body.append(f"test alone: {crash.isolated} ({crash.isolated_reason or ''})")
        if crash.jit_only is not None or crash.jit_only_reason:
            body.append(f"JIT only: {crash.jit_only} ({crash.jit_only_reason or ''})")
        for title, path in (("reproducer", crash.reproducer_path), ("stderr", crash.stderr_path)):
            if path:
                where = run.artifact(path)
                body.append(f"{title}: {where if where is not None else path}")
        stderr = _tail(run.read_artifact(crash.stderr_path))
        if stderr:
            body += ["", "--- stderr (end) ---", stderr]
    steps = run.steps(result.package, result.condition)
    if steps and crash is None:
        last = steps[-1]
        if last.last_lines:
            body += ["", f"--- last lines of {last.step.value} ---", *last.last_lines[-TAIL_LINES:]]
    for step in steps:
        if step.log_path:
            where = run.artifact(step.log_path)
            out.append(f"{step.step.value} log: {where if where is not None else step.log_path}")
    return clean("\n".join(body)), clean("\n".join(out))


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
