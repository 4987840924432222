"""The one classification function of compare, as a table (crater's categories)."""

from __future__ import annotations

import pytest
from normalized_events import CrashInfo, Outcome, PackageFinished
from reporter.model.categories import Category
from reporter.model.compare import categorize, categorize_results

Out = Outcome
C = Category

# (a, b, keyword arguments, expected category, why)
TABLE: list[tuple[Outcome | None, Outcome | None, dict[str, object], Category, str]] = [
    # regressions: a crash B did not have before, or passing tests that now fail
    (Out.PASS, Out.CRASH, {}, C.REGRESSED, "pass -> crash"),
    (Out.FAIL, Out.CRASH, {}, C.REGRESSED, "fail -> crash"),
    (Out.PASS, Out.FAIL, {}, C.REGRESSED, "pass -> fail (a wrong result is a JIT bug too)"),
    (Out.TIMEOUT, Out.CRASH, {}, C.REGRESSED, "a crash is concrete even after a timeout"),
    (Out.INSTALL_ERROR, Out.CRASH, {}, C.REGRESSED, "became testable and crashes"),
    (Out.PASS, Out.CRASH, {"spurious_a": True}, C.REGRESSED, "a crash is never spurious"),
    # fixes: the reverse
    (Out.CRASH, Out.PASS, {}, C.FIXED, "crash -> pass"),
    (Out.CRASH, Out.FAIL, {}, C.FIXED, "crash -> fail"),
    (Out.FAIL, Out.PASS, {}, C.FIXED, "fail -> pass"),
    (Out.INSTALL_ERROR, Out.PASS, {}, C.FIXED, "became testable and passes"),
    # crash buckets
    (Out.CRASH, Out.CRASH, {"bucket_a": "b1", "bucket_b": "b2"}, C.NEW_CRASH_BUCKET, "moved site"),
    (Out.CRASH, Out.CRASH, {"bucket_a": "b1", "bucket_b": "b1"}, C.STILL_BROKEN, "same site"),
    (Out.CRASH, Out.CRASH, {"bucket_a": "b1"}, C.STILL_BROKEN, "B's bucket unknown: not new"),
    (Out.CRASH, Out.CRASH, {}, C.STILL_BROKEN, "both unknown"),
    # spurious: timeouts, hangs, OOM kills and network-shaped failures
    (Out.PASS, Out.TIMEOUT, {}, C.SPURIOUS, "pass -> timeout"),
    (Out.TIMEOUT, Out.PASS, {}, C.SPURIOUS, "timeout -> pass"),
    (Out.FAIL, Out.HANG, {}, C.SPURIOUS, "fail -> hang"),
    (Out.PASS, Out.OOM, {}, C.SPURIOUS, "pass -> oom"),
    (Out.CRASH, Out.TIMEOUT, {}, C.SPURIOUS, "a timeout may hide the crash"),
    (Out.TIMEOUT, Out.HANG, {}, C.SPURIOUS, "two different environmental outcomes"),
    (Out.PASS, Out.FAIL, {"spurious_b": True}, C.SPURIOUS, "network-shaped failure in B"),
    (Out.FAIL, Out.PASS, {"spurious_a": True}, C.SPURIOUS, "network-shaped failure in A"),
    (Out.INSTALL_ERROR, Out.PASS, {"spurious_a": True}, C.SPURIOUS, "install could not reach PyPI"),
    # broken: B could not be tested
    (Out.PASS, Out.INSTALL_ERROR, {}, C.BROKEN, "pass -> install_error"),
    (Out.FAIL, Out.IMPORT_ERROR, {}, C.BROKEN, "fail -> import_error"),
    (Out.CRASH, Out.CONFIG_ERROR, {}, C.BROKEN, "crash -> config_error: no longer tested"),
    (Out.PASS, Out.SOURCE_ERROR, {}, C.BROKEN, "pass -> source_error"),
    (Out.PASS, Out.ERROR, {}, C.BROKEN, "pass -> harness error"),
    # still broken: the same non-passing state
    (Out.FAIL, Out.FAIL, {}, C.STILL_BROKEN, "fail both"),
    (Out.TIMEOUT, Out.TIMEOUT, {}, C.STILL_BROKEN, "timeout both"),
    (Out.FAIL, Out.FAIL, {"spurious_a": True, "spurious_b": True}, C.STILL_BROKEN, "fail both"),
    (Out.INSTALL_ERROR, Out.CONFIG_ERROR, {}, C.STILL_BROKEN, "untestable both"),
    # now tested: A never ran its tests, B ran them and some fail (nothing to compare with)
    (Out.CONFIG_ERROR, Out.FAIL, {}, C.NOW_TESTED, "no tests ran in A, B's fail"),
    (Out.INSTALL_ERROR, Out.FAIL, {}, C.NOW_TESTED, "not installable in A, B's fail"),
    (Out.ERROR, Out.FAIL, {}, C.NOW_TESTED, "harness error in A, B's fail"),
    # same, skipped, missing
    (Out.PASS, Out.PASS, {}, C.SAME, "pass both"),
    (Out.PASS, Out.PASS, {"spurious_a": True}, C.SAME, "a hint never changes pass -> pass"),
    (Out.SKIPPED, Out.SKIPPED, {}, C.SAME, "skipped both"),
    (Out.SKIPPED, Out.CRASH, {}, C.SKIPPED, "skipped in A"),
    (Out.PASS, Out.SKIPPED, {}, C.SKIPPED, "skipped in B"),
    (None, Out.CRASH, {}, C.MISSING, "absent in A"),
    (Out.PASS, None, {}, C.MISSING, "absent in B"),
    (None, None, {}, C.MISSING, "absent in both"),
]


@pytest.mark.parametrize(("a", "b", "kwargs", "expected", "why"), TABLE, ids=[t[4] for t in TABLE])
def test_categorize_table(
    a: Outcome | None, b: Outcome | None, kwargs: dict[str, object], expected: Category, why: str
) -> None:
    assert categorize(a, b, **kwargs) == expected, why  # type: ignore[arg-type]


def test_every_category_is_reachable_from_the_table() -> None:
    assert {row[3] for row in TABLE} == set(Category)


def test_every_outcome_pair_has_a_category() -> None:
    for a in [*Outcome, None]:
        for b in [*Outcome, None]:
            assert isinstance(categorize(a, b), Category)


def _finished(outcome: Outcome, *, bucket: str = "", reason: str | None = None) -> PackageFinished:
    crash = CrashInfo(kind="segfault", signature=f"sig-{bucket}", bucket=bucket) if bucket else None
    return PackageFinished(run_id="r", package="p", outcome=outcome, crash=crash, reason=reason)


def test_categorize_results_reads_buckets_and_network_reasons_from_events() -> None:
    assert (
        categorize_results(_finished(Out.CRASH, bucket="x"), _finished(Out.CRASH, bucket="y"))
        == C.NEW_CRASH_BUCKET
    )
    assert (
        categorize_results(_finished(Out.CRASH, bucket="x"), _finished(Out.CRASH, bucket="x"))
        == C.STILL_BROKEN
    )
    network = "requests.exceptions.ConnectionError: Max retries exceeded with url: /x"
    assert (
        categorize_results(_finished(Out.PASS), _finished(Out.FAIL, reason=network)) == C.SPURIOUS
    )
    assert (
        categorize_results(_finished(Out.PASS), _finished(Out.FAIL, reason="1 failed"))
        == C.REGRESSED
    )
    assert categorize_results(None, _finished(Out.PASS)) == C.MISSING


def test_a_fail_without_a_test_summary_never_ran_its_tests() -> None:
    # what apiary recorded for any non-zero exit before it required a test summary
    silent = _finished(Out.FAIL, reason="exit status 1")
    failed = _finished(Out.FAIL, reason="3 failed, 97 passed")
    assert categorize_results(silent, failed) == C.NOW_TESTED
    assert categorize_results(silent, silent) == C.STILL_BROKEN
    assert categorize_results(failed, failed) == C.STILL_BROKEN
    assert categorize_results(_finished(Out.PASS), silent) == C.BROKEN
    assert categorize_results(silent, _finished(Out.PASS)) == C.FIXED
    assert categorize_results(_finished(Out.CONFIG_ERROR, reason="no tests ran"), silent) == (
        C.STILL_BROKEN
    )
    # a child's crash report is a failure with evidence, whatever the summary
    child = _finished(Out.FAIL, reason="exit status 1; a child process crashed: Aborted")
    assert categorize_results(child, failed) == C.STILL_BROKEN
