"""The monorepo's shape: statuses, build backend, typing marker, README, versions, graph."""

from __future__ import annotations

import importlib
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from snapshot_publisher.discover import STATUSES, discover

REPO = Path(__file__).resolve().parents[1]

EXPECTED_GRAPH = {
    "normalized-events": set(),
    "registry-core": set(),
    "sandbox-runner": set(),
    "reporter": {"normalized-events"},
    "runner-core": {"registry-core", "sandbox-runner", "normalized-events", "reporter"},
}

PACKAGES = discover(REPO)


def test_the_five_packages_exist() -> None:
    assert {p.key for p in PACKAGES} == set(EXPECTED_GRAPH)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_package_shape(package) -> None:  # type: ignore[no-untyped-def]
    data = tomllib.loads(package.pyproject.read_text())
    assert package.status in STATUSES
    assert data["build-system"]["build-backend"] == "pdm.backend"
    assert data["project"]["requires-python"] == ">=3.11"
    assert not package.base_version.is_prerelease and not package.base_version.local
    import_name = package.name.replace("-", "_")
    src = package.directory / "src" / import_name
    assert (src / "py.typed").is_file()
    # The version comes from the installed metadata, however the module spells it.
    module = importlib.import_module(import_name)
    assert module.__version__ == metadata.version(package.name)
    readme = (package.directory / "README.md").read_text()
    first_paragraph = readme.split("\n\n")[1]
    assert "depends on" in first_paragraph, f"{package.name}: README must say what it depends on"
    assert list((package.directory / "tests").glob("test_*.py")), f"{package.name} has no tests"
    for raw in data["project"].get("dependencies", []):
        assert "file:" not in raw and "/" not in raw.split(";")[0], f"{package.name}: {raw}"


def test_internal_dependency_graph_is_exactly_the_documented_one() -> None:
    graph = {p.key: set(p.internal_deps) for p in PACKAGES}
    assert graph == EXPECTED_GRAPH


def test_workspace_declares_every_package_as_a_local_source() -> None:
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    sources = root["tool"]["uv"]["sources"]
    # The packages, and the publisher in tools/ (a member of the workspace, never published).
    members = set(EXPECTED_GRAPH) | {"snapshot-publisher"}
    assert {name for name, spec in sources.items() if spec == {"workspace": True}} == members
    assert set(root["project"]["dependencies"]) == members
