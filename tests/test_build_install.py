"""Every package builds, and the built wheels install together into a fresh venv."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from snapshot_publisher.discover import discover
from uv import find_uv_bin

REPO = Path(__file__).resolve().parents[1]
PACKAGES = discover(REPO)
UV = find_uv_bin()  # the dev environment's uv (a dependency of runner-core)

pytestmark = pytest.mark.xdist_group("build")


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    for package in PACKAGES:
        subprocess.run(
            [UV, "build", "--quiet", "--out-dir", str(out), str(package.directory)],
            check=True,
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )
    return out


def test_each_package_has_an_sdist_and_a_wheel(dists: Path) -> None:
    for package in PACKAGES:
        stem = package.name.replace("-", "_")
        assert list(dists.glob(f"{stem}-{package.base_version}.tar.gz")), package.name
        assert list(dists.glob(f"{stem}-{package.base_version}-py3-none-any.whl")), package.name


def test_wheels_name_internal_dependencies_plainly(dists: Path) -> None:
    internal = {p.key for p in PACKAGES}
    for wheel in dists.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            meta_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            metadata = email.message_from_bytes(archive.read(meta_name))
        for requirement in metadata.get_all("Requires-Dist") or []:
            assert "file:" not in requirement and "@" not in requirement, (wheel.name, requirement)
            name = requirement.split(";")[0].split("[")[0].split("=")[0].split(">")[0].strip()
            if name in internal:
                assert requirement.strip() == name, (wheel.name, requirement)


def test_wheels_install_together_into_a_fresh_venv(dists: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": str(venv)}
    subprocess.run(
        [UV, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env
    )
    # Our own packages come only from the local wheel files given by path.
    wheels = sorted(str(w) for w in dists.glob("*.whl"))
    subprocess.run([UV, "pip", "install", "--quiet", *wheels], check=True, env=env)
    imports = "; ".join(f"import {p.name.replace('-', '_')}" for p in PACKAGES)
    subprocess.run([str(venv / "bin" / "python"), "-c", imports], check=True)
    done = subprocess.run(
        [str(venv / "bin" / "apiary"), "--version"], capture_output=True, text=True, check=True
    )
    expected = {f"{p.name} {p.base_version}" for p in PACKAGES}
    assert set(done.stdout.splitlines()) == expected


def test_the_sandbox_wheel_ships_the_c_reaper_source(dists: Path) -> None:
    (wheel,) = dists.glob("sandbox_runner-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "sandbox_runner/reaper.c" in archive.namelist()
