"""Comparing two runs (and two conditions of one run) built as real run directories."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from normalized_events import Condition
from reporter import Category, TimingRule, compare_conditions, compare_runs, load_run

MakeRun = Callable[..., Any]

NETWORK = "socket.gaierror: [Errno -3] Temporary failure in name resolution"


def _pairs(make_run: MakeRun, t0: datetime) -> Any:
    a = make_run("before", start=t0)
    b = make_run("after", start=t0 + timedelta(days=1), version="3.14.0a1")
    # (package, outcome in A, outcome in B, extra for A, extra for B)
    rows: list[tuple[str, str | None, str | None, dict[str, Any], dict[str, Any]]] = [
        ("reg-pass", "pass", "crash", {}, {"bucket": "new1"}),
        ("reg-fail", "fail", "crash", {}, {"bucket": "new1", "revision": "rev2"}),
        ("reg-tests", "pass", "fail", {}, {}),
        ("moved", "crash", "crash", {"bucket": "old1"}, {"bucket": "new2"}),
        ("fixed", "crash", "pass", {"bucket": "old2"}, {}),
        ("timeout", "pass", "timeout", {}, {}),
        ("offline", "pass", "fail", {}, {"last_lines": [NETWORK]}),
        ("broken", "pass", "install_error", {}, {}),
        ("still", "crash", "crash", {"bucket": "old1"}, {"bucket": "old1"}),
        ("still-fail", "fail", "fail", {}, {}),
        ("now-tested", "config_error", "fail", {}, {}),
        ("never-ran", "fail", "fail", {"reason": "exit status 1"}, {}),
        ("skip", "pass", "skipped", {}, {}),
        ("gone", "pass", None, {}, {}),
        ("same", "pass", "pass", {}, {}),
    ]
    for package, oa, ob, ka, kb in rows:
        if oa is not None:
            a.package(package, oa, **ka)
        if ob is not None:
            b.package(package, ob, **kb)
    a.finish()
    b.finish()
    return compare_runs(load_run(a.path), load_run(b.path))


def test_every_category_from_two_real_runs(make_run: MakeRun, t0: datetime) -> None:
    comparison = _pairs(make_run, t0)
    got = {pair.package: pair.category for pair in comparison.pairs}
    assert got == {
        "reg-pass": Category.REGRESSED,
        "reg-fail": Category.REGRESSED,
        "reg-tests": Category.REGRESSED,
        "moved": Category.NEW_CRASH_BUCKET,
        "fixed": Category.FIXED,
        "timeout": Category.SPURIOUS,
        "offline": Category.SPURIOUS,
        "broken": Category.BROKEN,
        "still": Category.STILL_BROKEN,
        "still-fail": Category.STILL_BROKEN,
        "now-tested": Category.NOW_TESTED,
        "never-ran": Category.NOW_TESTED,
        "skip": Category.SKIPPED,
        "gone": Category.MISSING,
        "same": Category.SAME,
    }
    counts = comparison.counts()
    assert counts[Category.REGRESSED] == 3 and sum(counts.values()) == 15
    # reading order: what needs attention first
    assert comparison.pairs[0].category == Category.REGRESSED
    assert comparison.pairs[-1].category == Category.SAME


def test_notes_say_whether_the_source_changed(make_run: MakeRun, t0: datetime) -> None:
    comparison = _pairs(make_run, t0)
    pairs = {pair.package: pair for pair in comparison.pairs}
    assert pairs["reg-pass"].source_changed is False
    assert pairs["reg-pass"].note == "unchanged: likely an interpreter regression"
    assert pairs["reg-fail"].source_changed is True
    assert pairs["reg-fail"].note == "source changed"
    assert pairs["offline"].spurious_b and pairs["offline"].note == "network-shaped failure"
    assert pairs["gone"].source_changed is None
    assert pairs["never-ran"].note == "A: fail without a test summary, its tests never ran"


def test_new_and_gone_crash_buckets(make_run: MakeRun, t0: datetime) -> None:
    comparison = _pairs(make_run, t0)
    new = {d.bucket: d.packages for d in comparison.new_buckets()}
    gone = {d.bucket: d.packages for d in comparison.gone_buckets()}
    assert new == {"new1": ("reg-fail", "reg-pass"), "new2": ("moved",)}
    assert gone == {"old2": ("fixed",)}  # old1 still crashes in "still"
    assert comparison.interpreter_changed()


def test_timing_changes_above_the_threshold(make_run: MakeRun, t0: datetime) -> None:
    a = make_run("a", start=t0)
    b = make_run("b", start=t0 + timedelta(hours=1))
    for name, ta, tb in (
        ("slower", 10, 30),
        ("faster", 40, 10),
        ("noise", 1.0, 2.5),  # x2.5 but only 1.5 s
        ("steady", 100, 120),
    ):
        a.package(name, "pass", test_duration=ta)
        b.package(name, "pass", test_duration=tb)
    a.package("crashy", "pass", test_duration=1)
    b.package("crashy", "crash", test_duration=100)  # no timing for a crash
    a.finish()
    b.finish()
    comparison = compare_runs(
        load_run(a.path), load_run(b.path), timing=TimingRule(ratio=1.5, min_delta_s=2)
    )
    changes = {p.package: p.timing for p in comparison.timing_changes()}
    assert set(changes) == {"slower", "faster"}
    assert changes["slower"] is not None and changes["slower"].ratio == 3
    assert changes["faster"] is not None and not changes["faster"].slower
    # ordered by the size of the change
    assert [p.package for p in comparison.timing_changes()] == ["faster", "slower"]


def test_two_conditions_of_one_run(make_run: MakeRun) -> None:
    run = make_run("ab", conditions=[Condition(name="nojit"), Condition(name="jit")])
    for package, nojit, jit in (
        ("a", "pass", "crash"),
        ("b", "pass", "pass"),
        ("c", "fail", "pass"),
        ("d", "pass", None),
    ):
        run.package(package, nojit, condition="nojit", bucket="s1")
        if jit is not None:
            run.package(package, jit, condition="jit", bucket="s1")
    run.finish()
    comparison = compare_conditions(load_run(run.path), "nojit", "jit")
    got = {(p.package, p.condition): p.category for p in comparison.pairs}
    assert got == {
        ("a", "nojit -> jit"): Category.REGRESSED,
        ("b", "nojit -> jit"): Category.SAME,
        ("c", "nojit -> jit"): Category.FIXED,
        ("d", "nojit -> jit"): Category.MISSING,
    }
    assert comparison.a.label == "ab [nojit]"
    assert not comparison.interpreter_changed()


def test_one_condition_of_each_run(make_run: MakeRun, t0: datetime) -> None:
    a = make_run("a", start=t0)
    a.package("p", "pass", condition="jit")
    a.package("p", "crash", condition="other", bucket="x")
    a.finish()
    b = make_run("b", start=t0 + timedelta(hours=1))
    b.package("p", "crash", condition="jit", bucket="x")
    b.finish()
    comparison = compare_runs(load_run(a.path), load_run(b.path), condition_a="jit")
    assert [(p.package, p.category) for p in comparison.pairs] == [("p", Category.REGRESSED)]


def test_install_failure_kinds_that_changed_between_interpreters(
    make_run: MakeRun, t0: datetime
) -> None:
    from reporter.formats import Format
    from reporter.output import render_compare
    from reporter.present.compare import compare_json

    a = make_run("py312", start=t0)
    b = make_run("py313", start=t0 + timedelta(hours=1), version="3.13.5")
    rows = [
        ("gmpy", ("install_error", "system_library"), ("install_error", "c_api")),
        ("newly-broken", ("pass", None), ("install_error", "cython")),
        ("repaired", ("install_error", "resolution"), ("pass", None)),
        ("same-kind", ("install_error", "no_compiler"), ("install_error", "no_compiler")),
        ("untouched", ("pass", None), ("pass", None)),
    ]
    for name, (oa, ka), (ob, kb) in rows:
        a.package(name, oa, install_failure=ka)
        b.package(name, ob, install_failure=kb)
    a.finish()
    b.finish()
    comparison = compare_runs(load_run(a.path), load_run(b.path))
    changed = {p.package for p in comparison.install_failure_changes()}
    assert changed == {"gmpy", "newly-broken", "repaired"}
    assert comparison.install_failure_counts() == [
        ("c_api", 0, 1),
        ("cython", 0, 1),
        ("no_compiler", 1, 1),
        ("resolution", 1, 0),
        ("system_library", 1, 0),
    ]
    data = compare_json(comparison)
    assert {"package": "gmpy", "condition": "default", "a": "system_library", "b": "c_api"} in (
        data["install_failures"]["changed"]
    )
    text = render_compare(comparison, Format.TEXT, terminal=False, width=200)
    assert "Install failures by kind" in text and "newly-broken" in text
