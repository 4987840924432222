"""`apiary enrich record`: a real run's verdicts become the entries' python_versions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from registry_core import load_registry
from runner_fixtures import package_outcomes, pyenv_python, run_apiary, run_args

pytestmark = [pytest.mark.slow]


def _versions(registry: Path) -> dict[str, list[str]]:
    return {n: e.python_versions for n, e in load_registry(registry).entries.items()}


def test_a_run_records_where_each_entry_reached_a_verdict(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    python = pyenv_python("3.12")
    if python is None:
        pytest.skip("no CPython 3.12 under pyenv")
    registry = fixture_registry("passing-pkg", "failing-pkg", "segv-pkg", "uninstallable")
    done = run_apiary(
        *run_args(registry, tmp_path, "r", "--target-python", str(python), "--workers", "2"),
        cwd=tmp_path,
    )
    assert done.returncode != 2, done.stderr
    run_dir = tmp_path / "results" / "r"
    outcomes = package_outcomes(run_dir)
    assert outcomes["passing-pkg"] == "pass" and outcomes["failing-pkg"] == "fail"
    assert outcomes["segv-pkg"] == "crash" and outcomes["uninstallable"] == "install_error"

    dry = run_apiary(
        "enrich", "record", str(run_dir), "--registry-dir", str(registry), cwd=tmp_path
    )
    assert dry.returncode == 0, dry.stderr
    assert "passing-pkg: would add 3.12 (pass)" in dry.stdout
    assert "failing-pkg: would add 3.12 (fail)" in dry.stdout
    assert all(v == [] for v in _versions(registry).values())

    args = ("enrich", "record", str(run_dir), "--registry-dir", str(registry), "--write")
    wrote = run_apiary(*args, cwd=tmp_path)
    assert wrote.returncode == 0, wrote.stderr
    versions = _versions(registry)
    assert versions["passing-pkg"] == ["3.12"] and versions["failing-pkg"] == ["3.12"]
    # a crash or an install error is no verdict: nothing added, nothing removed
    assert versions["segv-pkg"] == [] and versions["uninstallable"] == []
    again = run_apiary(*args, cwd=tmp_path)
    assert "0 would gain" not in again.stdout and "2 entries reached a verdict; 0 gained" in (
        again.stdout
    )


def test_a_folder_that_is_not_a_run_is_one_line(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    (registry / "packages").mkdir(parents=True)
    (registry / "index.yaml").write_text("packages: []\n")
    done = run_apiary(
        "enrich", "record", str(tmp_path), "--registry-dir", str(registry), cwd=tmp_path
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {tmp_path}: not a run directory (no events.jsonl)"
    ]


def test_a_hang_with_the_jit_on_only_counts_where_the_suite_finished_without() -> None:
    """autopep8 2.3.2 on the 3.13.5 JIT build, as verify's run recorded it: hung twice in
    pycodestyle with the JIT on, passed with PYTHON_JIT=0."""
    from normalized_events import PackageFinished
    from runner_core.enrich.from_run import jit_only_hang

    data = Path(__file__).parent / "data" / "hangs" / "autopep8-jit-only-finished.json"
    event = PackageFinished.model_validate_json(data.read_text())
    assert jit_only_hang(event) == (
        "bucket 6f74a9eb4c95, hung twice at the same place with the JIT on;"
        " with PYTHON_JIT=0 the suite finished (pass)"
    )
    assert event.crash is not None
    undecided = event.crash.model_copy(update={"jit_only": None})
    assert jit_only_hang(event.model_copy(update={"crash": undecided})) is None
