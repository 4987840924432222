"""The install's last command, in the sandbox: the venv's inventory and pytest's bytecode."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from normalized_events import PackageFinished, StepFinished, read_events
from runner_core.inventory import INVENTORY, read_inventory
from runner_fixtures import pyenv_python, run_apiary, run_args


def _compiled(root: Path, package: str) -> list[Path]:
    return [p for p in root.rglob("*.pyc") if f"/{package}/" in str(p)]


@pytest.mark.slow
def test_uv_install_records_the_venv_and_compiles_pytest_not_the_package(
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
    assert INVENTORY in install.command
    (venv,) = (tmp_path / "work" / "cache" / "packages" / "passing-pkg" / "venvs").iterdir()
    # The venv lies in the package's cache folder, one mount for the install: uv linked
    # what it installed out of its cache instead of copying it.
    (installed,) = venv.glob("lib/python*/site-packages/_pytest/python.py")
    cached = {p.stat().st_ino for p in venv.parents[1].glob("uv/**/_pytest/python.py")}
    assert installed.stat().st_ino in cached
    # What the venv holds, as the sandboxed command found it, is what the events say.
    assert finished.installed == read_inventory(venv)
    assert "pytest" in {name.lower() for name in finished.installed}
    # pytest's modules and its own plugins, for this interpreter, compiled at install ...
    compiled = _compiled(venv, "_pytest")
    assert any(p.name.startswith("python.cpython-313") for p in compiled)
    assert any(p.name.startswith("junitxml.cpython-313") for p in compiled)
    # ... and nothing in the package's source tree (its tests ran without writing any).
    sources = tmp_path / "work" / "sources"
    assert list(sources.rglob("*.pyc")) == []


@pytest.mark.slow
def test_pip_install_is_recorded_too(fixture_registry: Callable[..., Path], tmp_path: Path) -> None:
    registry = fixture_registry("passing-pkg")
    done = run_apiary(*run_args(registry, tmp_path, "p", "--installer", "pip"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    events = read_events(tmp_path / "results" / "p" / "events.jsonl").known()
    (finished,) = [e for e in events if isinstance(e, PackageFinished)]
    assert finished.installer == "pip"
    assert {"pip", "pytest"} <= {name.lower() for name in finished.installed}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"Zeta": "1.0", "alpha": "2"}', {"alpha": "2", "Zeta": "1.0"}),
        ("{}", {}),
        ('["pytest"]', {}),
        ('{"pytest": 9}', {}),
        ('{"pytest": "9.2.0"', {}),
        (None, {}),
    ],
)
def test_inventory_file_as_read(tmp_path: Path, text: str | None, expected: dict[str, str]) -> None:
    if text is not None:
        (tmp_path / INVENTORY).write_text(text)
    found = read_inventory(tmp_path)
    assert found == expected and list(found) == list(expected)
