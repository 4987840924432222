"""The import check on real interpreters, over distributions laid out as installers do."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from registry_core import PackageEntry
from runner_core.import_check import import_check_argv
from runner_fixtures import package_outcomes, pyenv_python, run_apiary, run_args


def _site(tmp_path: Path, files: dict[str, str]) -> Path:
    site = tmp_path / "site"
    for rel, text in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return site


def _dist(record: list[str], top_level: str | None = None) -> dict[str, str]:
    info = "demo_dist-1.0.dist-info"
    files = {
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: demo-dist\nVersion: 1.0\n",
        f"{info}/RECORD": "".join(f"{line},,\n" for line in [*record, f"{info}/RECORD"]),
    }
    if top_level is not None:
        files[f"{info}/top_level.txt"] = top_level
    return files


def _check(
    site: Path, entry: PackageEntry, python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        import_check_argv(python, entry),
        cwd=site.parent,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


ENTRY = PackageEntry(package="demo-dist")
RENAMED = {"realmod/__init__.py": "", "realmod/core.py": ""}


def test_the_modules_the_distribution_lists_stand_in_for_a_wrong_guess(tmp_path: Path) -> None:
    site = _site(tmp_path, {**RENAMED, **_dist(["realmod/__init__.py"], "realmod\n")})
    done = _check(site, ENTRY)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "apiary: no module demo_dist; demo-dist provides realmod\n"


def test_without_top_level_txt_the_file_list_tells(tmp_path: Path) -> None:
    record = ["realmod/__init__.py", "realmod/core.py", "_speedups.so", "tests/test_a.py"]
    site = _site(tmp_path, {**RENAMED, "_speedups.so": "", **_dist(record)})
    done = _check(site, ENTRY)
    assert done.returncode == 0, done.stderr
    # public modules only, never the tests it shipped by mistake
    assert done.stdout.endswith("provides realmod\n")


def test_a_module_that_fails_to_import_is_the_package_s_failure(tmp_path: Path) -> None:
    broken = {"realmod/__init__.py": "import apiary_absent_dependency\n"}
    site = _site(tmp_path, {**broken, **_dist(["realmod/__init__.py"], "realmod\n")})
    done = _check(site, ENTRY)
    assert done.returncode == 1
    assert "No module named 'apiary_absent_dependency'" in done.stderr


def test_a_guess_that_exists_but_misses_a_dependency_is_not_replaced(tmp_path: Path) -> None:
    files = {"demo_dist.py": "import apiary_absent_dependency\n", **RENAMED}
    site = _site(tmp_path, {**files, **_dist(["realmod/__init__.py"], "realmod\n")})
    done = _check(site, ENTRY)
    assert done.returncode == 1
    assert "No module named 'apiary_absent_dependency'" in done.stderr
    assert "apiary:" not in done.stdout


def test_no_distribution_no_stand_in(tmp_path: Path) -> None:
    site = _site(tmp_path, RENAMED)
    done = _check(site, ENTRY)
    assert done.returncode == 1
    assert "No module named 'demo_dist'" in done.stderr


def test_a_named_import_is_imported_as_named(tmp_path: Path) -> None:
    site = _site(tmp_path, {**RENAMED, **_dist(["realmod/__init__.py"], "realmod\n")})
    named = PackageEntry(package="demo-dist", import_name="realmod.core")
    assert import_check_argv("python", named) == ("python", "-c", "import realmod.core")
    assert _check(site, named).returncode == 0
    wrong = PackageEntry(package="demo-dist", import_name="demo_dist")
    assert _check(site, wrong).returncode == 1


@pytest.mark.parametrize("minor", ["3.8", "3.13"])
def test_the_check_runs_on_the_oldest_and_newest_pythons(tmp_path: Path, minor: str) -> None:
    python = pyenv_python(minor)
    if python is None:
        pytest.skip(f"pyenv {minor} is needed")
    site = _site(tmp_path, {**RENAMED, **_dist(["realmod/__init__.py"])})
    done = _check(site, ENTRY, str(python))
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("provides realmod\n")


@pytest.mark.slow
def test_a_package_installed_under_another_module_name_passes_its_check(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("renamed-dist")
    done = run_apiary(*run_args(registry, tmp_path, "r"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "results" / "r"
    assert package_outcomes(run_dir) == {"renamed-dist": "pass"}
    log = (run_dir / "logs" / "renamed-dist" / "import_check.log").read_text()
    assert "apiary: no module renamed_dist; renamed-dist provides othermod" in log


def test_an_editable_install_s_path_file_tells_what_it_provides(tmp_path: Path) -> None:
    """hatchling's and flit's editable installs: a `.pth` in site-packages naming the source
    folder, no top_level.txt (opentelemetry-instrumentation's `src/`)."""
    source = tmp_path / "checkout" / "src"
    (source / "realmod").mkdir(parents=True)
    (source / "realmod" / "__init__.py").write_text("")
    (source / "tests").mkdir()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = venv.glob("lib/python3*/site-packages")
    for rel, text in {"_demo_dist.pth": f"{source}\n", **_dist(["_demo_dist.pth"])}.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    done = subprocess.run(
        import_check_argv(str(venv / "bin" / "python"), ENTRY),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "apiary: no module demo_dist; demo-dist provides realmod\n"
