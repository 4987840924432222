from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from registry_core import RegistryNotFoundError
from registry_core.locate import bundled_registry, checkout_registry, locate_registry

REPO = Path(__file__).resolve().parents[3]


def test_explicit_directory_wins(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIARY_REGISTRY", "/nowhere")
    assert locate_registry(sample) == sample


def test_environment_variable(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIARY_REGISTRY", str(sample))
    assert locate_registry(None) == sample


def test_errors_name_their_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RegistryNotFoundError, match=r"^--registry-dir: .*missing does not exist"):
        locate_registry(tmp_path / "missing")
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("APIARY_REGISTRY", str(tmp_path / "file"))
    with pytest.raises(RegistryNotFoundError, match=r"^APIARY_REGISTRY: .*file is not a directory"):
        locate_registry(None)


def test_checkout_registry_from_anywhere_inside_the_checkout() -> None:
    assert checkout_registry(REPO / "packages" / "registry-core" / "tests") == REPO / "registry"
    assert locate_registry(None) == REPO / "registry"


def test_outside_a_checkout_the_source_location_still_finds_it(tmp_path: Path) -> None:
    # The editable install's source is inside the checkout, so it is found from elsewhere.
    assert checkout_registry(tmp_path) == REPO / "registry"


def test_no_bundled_registry_in_an_editable_install() -> None:
    assert bundled_registry() is None


def test_a_laruche_checkout_works_unchanged_as_a_registry(sample: Path) -> None:
    assert (sample / "LICENSE").is_file()  # a checkout has more than the registry files
    done = subprocess.run(
        [sys.executable, "-m", "registry_core", "validate", "--registry-dir", str(sample)],
        capture_output=True,
        text=True,
        env={**os.environ, "APIARY_NO_CACHE": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "29 valid package(s), 0 problem(s)" in done.stderr


def test_the_repository_registry_is_valid() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "registry_core", "validate"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "APIARY_REGISTRY"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert str(REPO / "registry") in done.stderr
