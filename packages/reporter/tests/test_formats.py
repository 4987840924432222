"""Every view in every format: the public JSON, JUnit XML GitLab can read, Markdown, text,
and a self-contained HTML page."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from reporter import (
    Format,
    FormatError,
    build_history,
    compare_runs,
    load_run,
    merge_runs,
    render_compare,
    render_history,
    render_merge,
    render_summary,
    summarize,
    write_report,
)

MakeRun = Callable[..., Any]


@pytest.fixture
def two_runs(make_run: MakeRun, t0: datetime) -> tuple[Any, Any]:
    a = make_run("before", start=t0)
    a.package("six", "pass", duration=3)
    a.package("lxml", "pass", duration=40)
    a.package("pyyaml", "fail")
    a.package("attrs", "config_error", reason="ModuleNotFoundError: No module named 'hypothesis'")
    a.package("gpu", "skipped", reason="needs a GPU")
    a.finish()
    b = make_run("after", start=t0 + timedelta(days=1))
    b.package("six", "crash", bucket="c0ffee", duration=2)
    b.package("lxml", "crash", bucket="c0ffee", reproducible=False, duration=20)
    b.package("pyyaml", "timeout", reason="timed out after 600 s")
    b.package("attrs", "config_error", reason="ModuleNotFoundError: No module named 'hypothesis'")
    b.package("gpu", "skipped", reason="needs a GPU")
    b.package("bad|pipe", "fail", reason="x | y <b>not bold</b>")
    b.finish()
    return load_run(a.path), load_run(b.path)


def test_summary_json_is_the_documented_public_shape(two_runs: tuple[Any, Any]) -> None:
    data = json.loads(render_summary(summarize(two_runs[1]), Format.JSON))
    assert data["format"] == "apiary-report" and data["format_version"] == 1
    assert data["view"] == "summary" and data["run_id"] == "after"
    assert data["counts"]["crash"] == 2 and data["counts"]["hang"] == 0
    assert data["total"] == 6
    by_name = {r["package"]: r for r in data["results"]}
    six = by_name["six"]
    assert set(six) >= {"package", "condition", "outcome", "duration_s", "reason", "crash"}
    assert six["condition"] == "default" and six["outcome"] == "crash"
    assert set(six["crash"]) >= {"kind", "signal", "signature", "bucket", "reproducible"}
    assert six["crash"]["bucket"] == "c0ffee" and six["crash"]["signal"] == 11
    assert by_name["pyyaml"]["crash"] is None
    assert by_name["pyyaml"]["reason"] == "timed out after 600 s"
    (bucket,) = data["crash_buckets"]
    assert bucket["packages"] == ["lxml", "six"] and bucket["reproducibility"] == "mixed"
    assert data["missing_modules"] == {"hypothesis": ["attrs"]}
    assert data["skipped"] == [{"package": "gpu", "condition": "default", "reason": "needs a GPU"}]
    assert data["interpreter"]["version"] == "3.13.0"


def test_compare_and_history_json(two_runs: tuple[Any, Any]) -> None:
    a, b = two_runs
    data = json.loads(render_compare(compare_runs(a, b), Format.JSON))
    assert data["view"] == "compare" and data["a"]["run_id"] == "before"
    assert data["counts"]["regressed"] == 2 and data["counts"]["spurious"] == 1
    six = next(r for r in data["results"] if r["package"] == "six")
    assert six["category"] == "regressed" and six["source_changed"] is False
    assert six["a"]["outcome"] == "pass" and six["b"]["crash"]["bucket"] == "c0ffee"
    assert data["new_buckets"] == [
        {
            "bucket": "c0ffee",
            "signature": "SIGSEGV:c0ffee:test_x.py:test_segv",
            "packages": ["lxml", "six"],
        }
    ]
    history = json.loads(render_history(build_history([a, b]), Format.JSON))
    assert [r["run_id"] for r in history["runs"]] == ["before", "after"]
    six_h = next(p for p in history["packages"] if p["package"] == "six")
    assert six_h["outcomes"] == ["pass", "crash"] and six_h["changed"]
    assert history["buckets"][0]["first_seen"] == "after"


def _junit(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text.encode())
    assert root.tag == "testsuites"
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        for name in ("failure", "error", "skipped"):
            count = sum(1 for case in cases if case.find(name) is not None)
            attribute = {"failure": "failures", "error": "errors", "skipped": "skipped"}[name]
            assert int(suite.get(attribute, "-1")) == count
        for case in cases:
            assert case.get("classname") and case.get("name")
            float(case.get("time", "x"))
            verdicts = [c for c in case if c.tag in ("failure", "error", "skipped")]
            assert len(verdicts) <= 1
            for verdict in verdicts:
                assert verdict.get("message") is not None
    return root


def test_summary_junit_for_gitlab(two_runs: tuple[Any, Any]) -> None:
    root = _junit(render_summary(summarize(two_runs[1]), Format.JUNIT))
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert set(cases) == {"six", "lxml", "pyyaml", "attrs", "gpu", "bad|pipe"}
    assert all(case.get("classname") == "apiary.default" for case in cases.values())
    failure = cases["six"].find("failure")
    assert failure is not None and failure.get("type") == "crash"
    assert failure.get("message") == "SIGSEGV:c0ffee:test_x.py:test_segv"
    assert failure.text is not None and "reproduce.sh" in failure.text
    assert "Segmentation fault" in failure.text  # the stderr, ANSI escapes made harmless
    assert "\x1b" not in failure.text
    assert cases["six"].find("system-out") is not None
    fail = cases["bad|pipe"].find("failure")
    assert fail is not None and fail.get("message") == "x | y <b>not bold</b>"
    error = cases["pyyaml"].find("error")
    assert error is not None and error.get("type") == "timeout"
    skipped = cases["gpu"].find("skipped")
    assert skipped is not None and skipped.get("message") == "needs a GPU"
    assert cases["attrs"].find("error") is not None
    suite = root.find("testsuite")
    assert suite is not None and suite.get("failures") == "3" and suite.get("errors") == "2"


def test_compare_junit_fails_only_regressions(two_runs: tuple[Any, Any]) -> None:
    root = _junit(render_compare(compare_runs(*two_runs), Format.JUNIT))
    failed = sorted(
        c.get("name") or "" for c in root.iter("testcase") if c.find("failure") is not None
    )
    skipped = sorted(
        c.get("name") or "" for c in root.iter("testcase") if c.find("skipped") is not None
    )
    assert failed == ["lxml", "six"]
    assert skipped == ["bad|pipe"]  # missing in A


def test_junit_is_not_offered_for_history(two_runs: tuple[Any, Any]) -> None:
    with pytest.raises(FormatError, match="summary and compare"):
        render_history(build_history(list(two_runs)), Format.JUNIT)
    with pytest.raises(FormatError, match="summary and compare"):
        render_merge(merge_runs(list(two_runs)), None, Format.JUNIT)


def test_markdown_fits_a_merge_request(two_runs: tuple[Any, Any]) -> None:
    text = render_summary(summarize(two_runs[1]), Format.MARKDOWN)
    assert text.startswith("## apiary run after")
    assert "| crash | 2 | 33% |" in text
    assert "bad\\|pipe" in text and "\\<b>not bold" in text  # table cells stay cells
    assert "<details>" in text and "```text" in text  # the stderr, folded
    assert "Fatal Python error: Segmentation fault" in text
    compared = render_compare(compare_runs(*two_runs), Format.MARKDOWN)
    assert "### regressed (2)" in compared
    assert "unchanged: likely an interpreter regression" in compared
    for document in (text, compared):
        tables: list[list[str]] = [[]]
        for line in document.splitlines():
            if line.startswith("|"):
                tables[-1].append(line)
            elif tables[-1]:
                tables.append([])
        for table in filter(None, tables):
            cells = {len(re.findall(r"(?<!\\)\|", line)) for line in table}
            assert len(cells) == 1, table  # every row has as many cells as the header
    history = render_history(build_history(list(two_runs)), Format.MARKDOWN)
    assert "pass -> crash" in history


def test_text_plain_and_rich(two_runs: tuple[Any, Any]) -> None:
    summary = summarize(two_runs[1])
    plain = render_summary(summary, Format.TEXT)
    assert "\x1b[" not in plain
    assert "Crash buckets" in plain and "c0ffee" in plain
    assert re.search(r"crash\s+2\s+#+", plain)
    rich = render_summary(summary, Format.TEXT, terminal=True, width=100)
    assert "\x1b[" in rich  # colours on a terminal
    assert "c0ffee" in rich
    assert "─" in rich or "━" in rich
    assert max(len(re.sub(r"\x1b\[[0-9;]*m", "", line)) for line in rich.splitlines()) <= 100


def test_html_is_self_contained(two_runs: tuple[Any, Any]) -> None:
    pages = [
        render_summary(summarize(two_runs[1]), Format.HTML),
        render_compare(compare_runs(*two_runs), Format.HTML),
        render_history(build_history(list(two_runs)), Format.HTML),
        render_merge(merge_runs(list(two_runs)), None, Format.HTML),
    ]
    for page in pages:
        assert page.startswith("<!doctype html>")
        # no scheme anywhere (the CSP meta tag's http-equiv is the one "http" allowed)
        assert not re.search(r"(?i)(https?|ftp|wss?):", page)
        assert not re.search(r"(?i)\b(src|href|action|poster|srcset)\s*=\s*[^\"'\s>]", page)
        links = re.findall(r"(?i)\b(?:src|href|action|poster|srcset)\s*=\s*[\"']([^\"']*)", page)
        assert all(link.startswith("#") for link in links), links
        assert "@import" not in page and "url(" not in page
        assert "default-src 'none'" in page
        assert 'name="viewport"' in page
    summary_page = pages[0]
    assert "<svg" in summary_page and 'class="stack"' in summary_page
    assert 'class="sortable"' in summary_page and "Every package" in summary_page
    assert "#!/bin/sh" in summary_page  # the reproducer inline
    assert "&lt;b&gt;not bold&lt;/b&gt;" in summary_page  # text is escaped
    assert "Duration distribution" in summary_page


def test_reports_are_written_atomically(tmp_path: Path) -> None:
    target = write_report("hello\n", tmp_path / "deep" / "report.md")
    assert target.read_text() == "hello\n"
    write_report("again\n", target)
    assert target.read_text() == "again\n"
    assert [p.name for p in target.parent.iterdir()] == ["report.md"]


def test_crash_triage_shows_in_every_format_jit_only_buckets_first(make_run: MakeRun) -> None:
    run = make_run("triaged")
    jit_test = "tests/test_hot.py::TestLoop::test_sum[big ints]"
    run.package("many-a", "crash", bucket="b-not-jit")
    run.package("many-b", "crash", bucket="b-not-jit")
    run.package(
        "hot",
        "crash",
        bucket="b-jit",
        crash_facts={
            "test_id": jit_test,
            "isolated": "reproduces",
            "isolated_reason": "the pytest node id alone crashes the same way",
            "isolated_command": f"python -m pytest '{jit_test}'",
            "jit_only": True,
            "jit_only_reason": "no crash in 1 run(s) with PYTHON_JIT=0",
        },
    )
    run.finish()
    summary = summarize(load_run(run.path))
    assert [b.bucket for b in summary.buckets] == ["b-jit", "b-not-jit"]  # fewer packages, first
    data = json.loads(render_summary(summary, Format.JSON))
    first = data["crash_buckets"][0]
    assert first["jit_only"] == "yes" and first["test_ids"] == [jit_test]
    assert data["crash_buckets"][1]["jit_only"] == "unknown"
    hot = next(r for r in data["results"] if r["package"] == "hot")
    assert hot["crash"]["isolated"] == "reproduces" and hot["crash"]["test_id"] == jit_test
    text = render_summary(summary, Format.TEXT)
    assert jit_test in text and "JIT only" in text
    assert jit_test in render_summary(summary, Format.HTML)
    assert jit_test in render_summary(summary, Format.MARKDOWN)
    root = _junit(render_summary(summary, Format.JUNIT))
    case = next(c for c in root.iter("testcase") if c.get("name") == "hot")
    failure = case.find("failure")
    assert failure is not None and failure.text is not None
    assert f"crashing test: {jit_test}" in failure.text
    assert "JIT only: True" in failure.text and "test alone: reproduces" in failure.text
