"""Run then report: real `apiary run` output read back by every `apiary report` view."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
APIARY = str(Path(sys.executable).with_name("apiary"))

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]

PASSING_TESTS = "def test_ok():\n    assert 1 + 1 == 2\n"


def apiary(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [APIARY, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "CI": "1"},
    )


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of the crashing example and a passing package, then a run of the example
    alone with its crashing test deselected."""
    root = tmp_path_factory.mktemp("run-report")
    passing = root / "passing"
    (passing / "tests").mkdir(parents=True)
    (passing / "tests" / "test_ok.py").write_text(PASSING_TESTS)
    registry = root / "registry"
    (registry / "packages").mkdir(parents=True)
    for name, import_name in (("apiary-crash-example", "crash_example"), ("passing", "os")):
        (registry / "packages" / f"{name}.yaml").write_text(
            f"package: {name}\nrepo: null\ninstall_command: pip install pytest\n"
            "test_command: python -m pytest -q -p no:cacheprovider tests\n"
            f"enriched: true\nimport_name: {import_name}\n"
        )
    (registry / "index.yaml").write_text("packages: []\n")
    common = [
        "run",
        "--registry-dir",
        str(registry),
        "--results-dir",
        str(root / "results"),
        "--work-dir",
        str(root / "work"),
        "--repo-override",
        f"apiary-crash-example={REPO / 'examples' / 'crash-example'}",
        "--repo-override",
        f"passing={passing}",
    ]
    first = apiary(*common, "--run-id", "a", cwd=root)
    assert first.returncode == 0, first.stderr
    second = apiary(
        *common,
        "--run-id",
        "b",
        "--packages",
        "apiary-crash-example",
        "--test-command-suffix",
        "-k checksum",
        cwd=root,
    )
    assert second.returncode == 0, second.stderr
    return root / "results"


def test_summary_json_is_the_public_shape(two_runs: Path) -> None:
    done = apiary("report", "summary", str(two_runs / "a"), "--format", "json", cwd=two_runs)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["run_id"] == "a"
    assert data["counts"]["crash"] == 1 and data["counts"]["pass"] == 1
    results = {r["package"]: r for r in data["results"]}
    crash = results["apiary-crash-example"]["crash"]
    assert crash["kind"] == "segfault" and crash["signal"] == 11
    assert crash["reproducible"] is True and len(crash["bucket"]) >= 8
    assert results["passing"]["crash"] is None and results["passing"]["outcome"] == "pass"


def test_junit_marks_the_crash_as_a_failure_with_its_signature(two_runs: Path) -> None:
    out = two_runs / "junit.xml"
    done = apiary(
        "report", "summary", str(two_runs / "a"), "--format", "junit", "-o", str(out), cwd=two_runs
    )
    assert done.returncode == 0, done.stderr
    cases = {case.get("name"): case for case in ET.parse(out).getroot().iter("testcase")}
    failure = cases["apiary-crash-example"].find("failure")
    assert failure is not None and "segfault" in (failure.get("message") or "") + (
        failure.text or ""
    )
    assert cases["passing"].find("failure") is None


def test_compare_sees_the_crash_fixed(two_runs: Path) -> None:
    done = apiary(
        "report",
        "compare",
        str(two_runs / "a"),
        str(two_runs / "b"),
        "--format",
        "json",
        cwd=two_runs,
    )
    assert done.returncode == 0, done.stderr
    pairs = {p["package"]: p for p in json.loads(done.stdout)["results"]}
    assert pairs["apiary-crash-example"]["category"] == "fixed"
    assert pairs["passing"]["category"] == "missing"  # not run the second time


def test_html_report_is_one_self_contained_file(two_runs: Path) -> None:
    out = two_runs / "report.html"
    done = apiary(
        "report", "summary", str(two_runs / "a"), "--format", "html", "-o", str(out), cwd=two_runs
    )
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert "apiary-crash-example" in html and "reproduce.sh" in html
    assert "http://" not in html and "https://" not in html.replace("https://www.w3.org", "")
