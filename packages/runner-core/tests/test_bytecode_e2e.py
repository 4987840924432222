"""The install compiles pytest in the venv once; the package's tree stays without bytecode."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from normalized_events import PackageFinished, StepFinished, read_events
from runner_fixtures import pyenv_python, run_apiary, run_args

pytestmark = [pytest.mark.slow]


def _compiled(root: Path, package: str) -> list[Path]:
    return [p for p in root.rglob("*.pyc") if f"/{package}/" in str(p)]


def test_uv_install_compiles_pytest_and_not_the_package(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    python = pyenv_python("3.13")
    if python is None:
        pytest.skip("pyenv 3.13 is needed")
    registry = fixture_registry("passing-pkg")
    args = run_args(registry, tmp_path, "r1", "--installer", "uv", "--target-python", str(python))
    done = run_apiary(*args, cwd=tmp_path, env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stderr
    events = read_events(tmp_path / "results" / "r1" / "events.jsonl").known()
    (finished,) = [e for e in events if isinstance(e, PackageFinished)]
    assert finished.outcome.value == "pass"
    install = next(e for e in events if isinstance(e, StepFinished) and e.step.value == "install")
    assert "compileall" in install.command
    (venv,) = (tmp_path / "work" / "venvs").iterdir()
    # pytest's modules and its own plugins, for this interpreter, compiled at install ...
    compiled = _compiled(venv, "_pytest")
    assert any(p.name.startswith("python.cpython-313") for p in compiled)
    assert any(p.name.startswith("junitxml.cpython-313") for p in compiled)
    # ... and nothing in the package's source tree (its tests ran without writing any).
    sources = tmp_path / "work" / "sources"
    assert list(sources.rglob("*.pyc")) == []


def test_pip_install_is_left_as_pip_does_it(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("passing-pkg")
    done = run_apiary(*run_args(registry, tmp_path, "p", "--installer", "pip"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    events = read_events(tmp_path / "results" / "p" / "events.jsonl").known()
    install = next(e for e in events if isinstance(e, StepFinished) and e.step.value == "install")
    assert "compileall" not in install.command
