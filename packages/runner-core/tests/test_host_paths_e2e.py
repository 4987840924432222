"""Install steps see the host paths they name (read-only), even under bwrap's private /tmp."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from runner_core.commands import named_host_paths
from runner_fixtures import Fixture, build_registry, package_outcomes, run_apiary, run_args

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]


def _helper(folder: Path, name: str) -> Path:
    """A tiny flit-built distribution: its build writes nothing into its own folder."""
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text(f"NAME = {name!r}\n")
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["flit_core>=3.4"]
            build-backend = "flit_core.buildapi"

            [project]
            name = "{name.replace("_", "-")}"
            version = "1.0"
            description = "a helper"
            """
        )
    )
    return folder


def test_helpers_under_tmp_install_under_bwrap(tmp_path: Path) -> None:
    assert str(tmp_path).startswith("/tmp/")  # the case bwrap's private /tmp used to hide
    helper_a = _helper(tmp_path / "helpers" / "a", "helper_a")
    helper_b = _helper(tmp_path / "helpers" / "b", "helper_b")
    user = Fixture(
        "uses-helpers",
        {
            "uses_helpers/__init__.py": "",
            "tests/test_h.py": (
                "import helper_a, helper_b\n\ndef test_h():\n"
                "    assert (helper_a.NAME, helper_b.NAME) == ('helper_a', 'helper_b')\n"
            ),
        },
        install=f"pip install {helper_a} && pip install pytest",
    )
    registry = build_registry(tmp_path, user)
    done = run_apiary(
        *run_args(
            registry,
            tmp_path,
            "paths",
            "--sandbox",
            "bwrap",
            "--extra-deps",
            f"helper-b @ file://{helper_b}",
        ),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert package_outcomes(tmp_path / "results" / "paths") == {"uses-helpers": "pass"}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("pip install {tmp}/h && pip install -e .", ["{tmp}/h"]),
        ("pip install --find-links={tmp}/h -r {tmp}/h/r.txt x", ["{tmp}/h", "{tmp}/h/r.txt"]),
        ("pip install 'h @ file://{tmp}/h'", ["{tmp}/h"]),
        ("pip install /tmp /home / {home}/.ssh /etc/ssh /root -e .", []),
        ("pip install {tmp}/missing", []),
        (
            "pip install {tmp}/to-etc -r {tmp}/to-etc/passwd {tmp}/to-home {tmp}/to-h",
            ["{tmp}/to-h"],
        ),
    ],
)
def test_which_named_paths_are_bound(tmp_path: Path, command: str, expected: list[str]) -> None:
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "r.txt").write_text("six\n")
    # links a package's code could have planted in the work folder
    (tmp_path / "to-etc").symlink_to("/etc")
    (tmp_path / "to-home").symlink_to(Path.home())
    (tmp_path / "to-h").symlink_to(tmp_path / "h")
    values = {"tmp": str(tmp_path), "home": str(Path.home())}
    found = named_host_paths(command.format(**values))
    assert found == [Path(e.format(**values)) for e in expected]
