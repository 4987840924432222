"""The wheel carries the registry: built from a checkout, and from the sdist alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]
REPO = PACKAGE.parents[1]


def _uv() -> str:
    """The uv binary of the dev environment (the `uv` package is one of its dependencies)."""
    from uv import find_uv_bin

    return find_uv_bin()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, sample_source: Path) -> Path:
    """registry-core built (sdist, then the wheel from the sdist) in a checkout whose
    registry/ holds the laruche sample."""
    checkout = tmp_path_factory.mktemp("checkout")
    shutil.copytree(
        PACKAGE,
        checkout / "packages" / "registry-core",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"),
    )
    shutil.copytree(sample_source, checkout / "registry", ignore=shutil.ignore_patterns("LICENSE"))
    out = checkout / "dist"
    subprocess.run(
        [
            _uv(),
            "build",
            "--quiet",
            "--out-dir",
            str(out),
            str(checkout / "packages" / "registry-core"),
        ],
        check=True,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    return out


pytestmark = pytest.mark.slow


def test_the_wheel_bundles_every_registry_file(built: Path) -> None:
    (wheel,) = built.glob("registry_core-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    bundled = {n for n in names if n.startswith("registry_core/_registry/")}
    assert "registry_core/_registry/index.yaml" in bundled
    assert len([n for n in bundled if n.startswith("registry_core/_registry/packages/")]) == 29


def test_the_sdist_is_self_contained(built: Path) -> None:
    (sdist,) = built.glob("registry_core-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"pdm_build.py", "registry/index.yaml", "registry/packages/six.yaml"} <= names


def test_installed_wheel_uses_its_bundled_registry(built: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": str(venv)}
    env.pop("APIARY_REGISTRY", None)
    subprocess.run(
        [_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env
    )
    (wheel,) = built.glob("registry_core-*.whl")
    subprocess.run([_uv(), "pip", "install", "--quiet", str(wheel)], check=True, env=env)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "registry_core", "validate"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env={k: v for k, v in env.items() if k != "VIRTUAL_ENV"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "registry_core/_registry" in done.stderr and str(venv) in done.stderr
    assert "29 valid package(s), 0 problem(s)" in done.stderr
