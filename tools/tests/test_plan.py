"""The publish plan: statuses, snapshot ids and versions, rewrites, order, and the CLI modes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version
from snapshot_publisher.discover import DiscoveryError, discover
from snapshot_publisher.errors import LocalPathDependencyError, PlanError, SnapshotIdError
from snapshot_publisher.graph import CycleError, topological_order
from snapshot_publisher.plan import make_plan
from snapshot_publisher.rewrite import internal_for, rewrite_pyproject
from snapshot_publisher.versioning import SnapshotId, snapshot_id, snapshot_version

REPO = Path(__file__).resolve().parents[2]
PUBLISHER = ["-m", "snapshot_publisher"]
SNAP = SnapshotId(735192004101, "MONOREPO_SNAPSHOT_ID")


def write_package(
    root: Path,
    name: str,
    *,
    deps: list[str] | None = None,
    status: str | None = '"incubator"',
    version: str = "0.1.0",
    extra: str = "",
) -> Path:
    directory = root / "packages" / name
    directory.mkdir(parents=True)
    lines = ",\n".join(f"    {json.dumps(d)}" for d in deps or [])
    status_table = f"\n[tool.monorepo]\nstatus = {status}\n" if status is not None else ""
    (directory / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"  # keep this comment\nversion = "{version}"\n'
        f"dependencies = [\n{lines}\n]\n{extra}{status_table}"
    )
    return directory / "pyproject.toml"


# --- snapshot ids and versions --------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected", "source"),
    [
        (
            {"MONOREPO_SNAPSHOT_ID": "12", "GITHUB_RUN_ID": "5", "CI_PIPELINE_ID": "9"},
            12,
            "MONOREPO_SNAPSHOT_ID",
        ),
        ({"MONOREPO_SNAPSHOT_ID": "abc", "GITHUB_RUN_ID": "5"}, 501, "GITHUB_RUN_ID"),
        ({"GITHUB_RUN_ID": "7351920041", "GITHUB_RUN_ATTEMPT": "1"}, 735192004101, "GITHUB_RUN_ID"),
        (
            {"GITHUB_RUN_ID": "5", "GITHUB_RUN_ATTEMPT": "3", "CI_PIPELINE_ID": "9"},
            503,
            "GITHUB_RUN_ID",
        ),
        ({"CI_PIPELINE_ID": "987654"}, 987654, "CI_PIPELINE_ID"),
        ({"CI_PIPELINE_ID": "x1"}, 1_700_000_000, "time"),
        ({}, 1_700_000_000, "time"),
    ],
)
def test_snapshot_id_priority(env: dict[str, str], expected: int, source: str) -> None:
    found = snapshot_id(env, clock=lambda: 1_700_000_000.7)
    assert (found.value, found.source) == (expected, source)


def test_non_numeric_ids_are_reported_as_ignored() -> None:
    found = snapshot_id({"MONOREPO_SNAPSHOT_ID": "abc", "CI_PIPELINE_ID": "4"})
    assert found.ignored == ("MONOREPO_SNAPSHOT_ID",)


def test_a_bad_run_attempt_names_the_variable() -> None:
    with pytest.raises(SnapshotIdError, match="GITHUB_RUN_ATTEMPT"):
        snapshot_id({"GITHUB_RUN_ID": "5", "GITHUB_RUN_ATTEMPT": "first"})


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("0.1.0", "0.1.0.dev735192004101"),
        ("2.0", "2.0.dev735192004101"),
        ("1.2.3rc1", "1.2.3.dev735192004101"),
        ("1!1.0", "1!1.0.dev735192004101"),
    ],
)
def test_snapshot_version(base: str, expected: str) -> None:
    version = snapshot_version(base, 735192004101)
    assert str(version) == expected
    assert version < Version(base.replace("rc1", "")) or "rc" in base
    assert version.is_devrelease and version.local is None


def test_an_invalid_base_version_names_the_file(tmp_path: Path) -> None:
    write_package(tmp_path, "alpha", version="not.a.version")
    with pytest.raises(DiscoveryError, match=r"packages/alpha/pyproject.toml.*not.a.version"):
        make_plan(tmp_path, SNAP)
    with pytest.raises(PlanError, match=r"x/pyproject\.toml"):
        snapshot_version("1.0+local", 3, "x/pyproject.toml")


# --- statuses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ('"experimental"', "must be one of internal, incubator, supported, stable"),
        ("3", "must be a string"),
        ("true", "must be a string"),
        (None, "is missing"),
    ],
)
def test_bad_status_names_the_file(tmp_path: Path, status: str | None, message: str) -> None:
    pyproject = write_package(tmp_path, "alpha", status=status)
    with pytest.raises(DiscoveryError) as caught:
        discover(tmp_path)
    assert str(pyproject) in str(caught.value) and message in str(caught.value)


def test_internal_packages_are_never_published(tmp_path: Path) -> None:
    write_package(tmp_path, "alpha", status='"internal"')
    write_package(tmp_path, "beta")
    plan = make_plan(tmp_path, SNAP)
    assert plan.order == ["beta"] and [p.name for p in plan.skipped] == ["alpha"]


def test_publishable_depending_on_internal_names_both(tmp_path: Path) -> None:
    write_package(tmp_path, "alpha", status='"internal"')
    write_package(tmp_path, "beta", deps=["alpha>=0.1"])
    with pytest.raises(PlanError, match=r"beta is published but depends on alpha.*internal"):
        make_plan(tmp_path, SNAP)


# --- order ----------------------------------------------------------------------------


def test_order_is_topological_and_stable() -> None:
    graph = {
        "runner": {"events", "reporter", "sandbox"},
        "reporter": {"events"},
        "events": set(),
        "sandbox": set(),
    }
    assert topological_order(graph) == ["events", "sandbox", "reporter", "runner"]


def test_a_cycle_is_shown_as_a_path(tmp_path: Path) -> None:
    write_package(tmp_path, "a", deps=["b"])
    write_package(tmp_path, "b", deps=["c"])
    write_package(tmp_path, "c", deps=["a"])
    with pytest.raises(CycleError, match=r"a -> b -> c -> a"):
        make_plan(tmp_path, SNAP)
    with pytest.raises(CycleError, match=r": a -> b -> a$"):
        topological_order({"a": {"b"}, "b": {"a"}})


# --- rewrites -------------------------------------------------------------------------


def test_rewrite_pins_internal_requirements_and_keeps_formatting(tmp_path: Path) -> None:
    write_package(tmp_path, "normalized-events")
    pyproject = write_package(
        tmp_path,
        "runner",
        deps=[
            "Normalized_Events[fast,json] ; python_version >= '3.11'",
            "pydantic>=2.6",
        ],
        extra='\n[project.optional-dependencies]\nreport = ["normalized.events>=0.1"]\n',
    )
    plan = make_plan(tmp_path, SNAP)
    text = next(p for p in plan.packages if p.name == "runner").rewrite.text
    version = "0.1.0.dev735192004101"
    assert f'version = "{version}"' in text
    data = tomllib.loads(text)
    assert data["project"]["dependencies"] == [
        f'normalized-events[fast,json]=={version}; python_version >= "3.11"',
        "pydantic>=2.6",
    ]
    assert data["project"]["optional-dependencies"]["report"] == [f"normalized-events=={version}"]
    assert '"pydantic>=2.6"' in text
    assert '[project]\nname = "runner"  # keep this comment' in text
    assert pyproject.read_text().count("0.1.0.dev") == 0  # the tree is never touched


def test_path_requirements_to_a_monorepo_package_are_pinned(tmp_path: Path) -> None:
    write_package(tmp_path, "alpha")
    beta = write_package(
        tmp_path,
        "beta",
        deps=[f"alpha @ file://{tmp_path}/packages/alpha"],
        extra=(
            '\n[tool.uv.sources]\nalpha = { path = "../alpha", editable = true }\n'
            'requests = { git = "https://example.invalid/requests" }\n'
            '\n[dependency-groups]\ndev = ["pytest", "alpha @ file:///${PROJECT_ROOT}/../alpha"]\n'
        ),
    )
    packages = discover(tmp_path)
    assert next(p for p in packages if p.name == "beta").internal_deps == ("alpha",)
    versions = {"alpha": Version("0.1.0.dev5"), "beta": Version("0.1.0.dev5")}
    result = rewrite_pyproject(
        beta.read_text(),
        pyproject=beta,
        version=versions["beta"],
        internal=internal_for(packages, versions),
    )
    assert '"alpha==0.1.0.dev5"' in result.text
    assert "path =" not in result.text and "file:" not in result.text
    assert 'requests = { git = "https://example.invalid/requests" }' in result.text
    assert '"pytest"' in result.text
    assert any("removed" in str(change) for change in result.changes)


def test_other_local_paths_are_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    pyproject = write_package(tmp_path, "alpha", deps=[f"helper @ file://{tmp_path}/elsewhere"])
    with pytest.raises(LocalPathDependencyError) as caught:
        make_plan(tmp_path, SNAP)
    assert str(pyproject) in str(caught.value) and "local path" in str(caught.value)


def test_a_specifier_that_excludes_the_monorepo_version_is_an_error(tmp_path: Path) -> None:
    write_package(tmp_path, "alpha", version="0.1.0")
    write_package(tmp_path, "beta", deps=["alpha>=0.2"])
    with pytest.raises(PlanError, match=r"beta/pyproject.toml.*excludes alpha 0.1.0"):
        make_plan(tmp_path, SNAP)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"CI_PROJECT_URL": "https://gl.example.invalid/g/apiary/"},
            "https://gl.example.invalid/g/apiary/-/tree/{sha}",
        ),
        (
            {"GITHUB_SERVER_URL": "https://gh.example.invalid", "GITHUB_REPOSITORY": "o/apiary"},
            "https://gh.example.invalid/o/apiary/tree/{sha}",
        ),
        (
            {"MONOREPO_SOURCE_URL": "https://src.example.invalid/{sha}"},
            "https://src.example.invalid/{sha}",
        ),
        ({}, ""),
    ],
)
def test_the_commit_is_traceable_from_the_metadata(
    tmp_path: Path, publish_kit: Any, env: dict[str, str], expected: str
) -> None:
    write_package(tmp_path, "alpha")
    publish_kit.git_commit_all(tmp_path)
    sha = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    [planned] = make_plan(tmp_path, SNAP, env).packages
    urls = tomllib.loads(planned.rewrite.text)["project"].get("urls", {})
    assert urls.get("Snapshot source", "") == expected.replace("{sha}", sha)


def test_this_monorepos_plan() -> None:
    plan = make_plan(REPO, SNAP)
    assert plan.order[-1] == "runner-core"
    assert plan.order.index("normalized-events") < plan.order.index("reporter")
    runner = next(p for p in plan.packages if p.name == "runner-core")
    for dep in ("normalized-events", "registry-core", "sandbox-runner", "reporter"):
        assert f'"{dep}==0.1.0.dev735192004101"' in runner.rewrite.text


# --- the command line -----------------------------------------------------------------


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITLAB_", "CI_"))}
    return subprocess.run(
        [sys.executable, *PUBLISHER, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**clean, **env},
        check=False,
        timeout=120,
    )


def test_without_a_mode_it_refuses() -> None:
    done = _cli()
    assert done.returncode == 2 and "refusing to run without a mode" in done.stderr


def test_dry_run_prints_the_plan_and_builds_nothing(tmp_path: Path) -> None:
    done = _cli("--dry-run", MONOREPO_SNAPSHOT_ID="42")
    assert done.returncode == 0, done.stderr
    assert "snapshot id 42 (from MONOREPO_SNAPSHOT_ID)" in done.stdout
    assert "upload order: " in done.stdout and done.stdout.index("reporter") < done.stdout.index(
        "runner-core 0.1.0 -> 0.1.0.dev42"
    )
    assert "'reporter' -> 'reporter==0.1.0.dev42'" in done.stdout
    assert "nothing built" in done.stdout


def test_user_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    write_package(tmp_path, "alpha", status='"experimental"')
    done = _cli("--dry-run", "--root", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "packages/alpha/pyproject.toml" in done.stderr


def test_live_publish_without_credentials_names_the_variables() -> None:
    done = _cli("--confirm-live-publish", MONOREPO_SNAPSHOT_ID="42")
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "GITLAB_PYPI_USERNAME and GITLAB_PYPI_PASSWORD" in done.stderr
