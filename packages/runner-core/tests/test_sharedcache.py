"""The shared installer cache: filled by apiary alone, copied into each package's own cache,
never writable by a package's install."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest
from normalized_events import PackageFinished, PackageStarted, read_events
from runner_core.sharedcache import (
    LIMIT_BYTES,
    build_requirements,
    give,
    index_wheels,
    keep,
    shared_cache,
)
from runner_core.tooling import find_uv
from runner_fixtures import PASSING, Fixture, build_registry, pyenv_python, run_apiary, run_args

POISON = "poisoned by aaa-poison"
# Its build backend rewrites pytest in every cache it can write to.
POISONER = Fixture(
    "aaa-poison",
    {
        "aaa_poison/__init__.py": "",
        "tests/test_ok.py": "def test_ok():\n    pass\n",
        "setup.py": textwrap.dedent(
            f"""
            import os, pathlib
            from setuptools import setup

            for path in pathlib.Path(os.environ.get("UV_CACHE_DIR", "/nonexistent")).rglob("*.py"):
                if path.parent.name == "pytest":
                    with open(path, "a") as handle:
                        handle.write("\\nraise SystemExit({POISON!r})\\n")
            setup(name="aaa-poison", version="1.0", packages=["aaa_poison"])
            """
        ),
    },
    install="pip install pytest && pip install -e .",
)


def _holds(root: Path, text: str) -> list[Path]:
    return [p for p in root.rglob("*.py") if p.is_file() and text in p.read_text(errors="replace")]


@pytest.mark.slow
def test_a_package_cannot_poison_what_the_next_one_installs(tmp_path: Path) -> None:
    python = pyenv_python("3.13")
    if python is None:
        pytest.skip("pyenv 3.13 is needed")
    registry = build_registry(tmp_path, POISONER, Fixture("passing-pkg", PASSING))
    args = run_args(registry, tmp_path, "r", "--installer", "uv", "--workers", "1")
    done = run_apiary(*args, "--target-python", str(python), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    events = read_events(tmp_path / "results" / "r" / "events.jsonl").known()
    order = [e.package for e in events if isinstance(e, PackageStarted)]
    assert order == ["aaa-poison", "passing-pkg"]
    outcomes = {e.package: e.outcome.value for e in events if isinstance(e, PackageFinished)}
    assert outcomes["passing-pkg"] == "pass", outcomes
    caches = tmp_path / "work" / "cache"
    # The attack ran, in the poisoner's own cache ...
    assert _holds(caches / "packages" / "aaa-poison", POISON)
    # ... and reached neither the shared cache nor the next package's.
    assert (caches / "shared" / "uv").is_dir()
    assert _holds(caches / "shared", POISON) == []
    assert _holds(caches / "packages" / "passing-pkg", POISON) == []
    # The next package's install took pytest from the shared cache, not the network.
    fetched = (caches / "shared" / "fetched.txt").read_text().split()
    assert any(line.startswith("pytest==") for line in fetched)
    log = tmp_path / "results" / "r" / "logs" / "passing-pkg" / "install.log"
    assert "Downloading pygments" not in log.read_text()


def _dist_info(site: Path, name: str, direct: bool = False) -> None:
    info = site / f"{name}.dist-info"
    info.mkdir(parents=True)
    if direct:
        (info / "direct_url.json").write_text("{}")


def test_only_index_distributions_with_plain_names_are_fetched(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    _dist_info(site, "pytest-9.2.0")
    _dist_info(site, "typing_extensions-4.12.2")
    _dist_info(site, "mypkg-1.0", direct=True)  # installed from a path
    _dist_info(site, "--index-url=http:__evil-1.0")  # would be an option to uv
    _dist_info(site, "odd-1.0 ; rm -rf")
    assert index_wheels(site) == ["pytest==9.2.0", "typing_extensions==4.12.2"]


@pytest.mark.parametrize(
    ("pyproject", "names"),
    [
        (None, ["setuptools"]),
        ("[project]\nname = 'x'\n", ["setuptools"]),
        (
            "[build-system]\nrequires = ['hatchling>=1.2', 'hatch-vcs']\n",
            ["hatchling", "hatch-vcs"],
        ),
        (
            "[build-system]\nrequires = ['--index-url=http://evil', ' flit_core >=3']\n",
            ["flit_core"],
        ),
        ("[build-system]\nrequires = []\n", []),
        ("[build-system\nrequires = [", []),
    ],
)
def test_build_requirement_names(tmp_path: Path, pyproject: str | None, names: list[str]) -> None:
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject)
    assert build_requirements(tmp_path) == names


def test_a_full_shared_cache_is_neither_copied_nor_grown(tmp_path: Path) -> None:
    work = tmp_path / "work"
    root = shared_cache(work)
    (root / "uv" / "archive-v0").mkdir(parents=True)
    (root / "uv" / "archive-v0" / "file").write_text("x")
    own = tmp_path / "own"
    give(work, own)
    assert (own / "uv" / "archive-v0" / "file").read_text() == "x"
    (root / "size").write_text(str(LIMIT_BYTES + 1))
    other = tmp_path / "other"
    give(work, other)
    assert not (other / "uv").exists()
    # Nothing more is fetched (with room left, this would download pytest).
    uv = find_uv()
    assert uv is not None
    assert keep(work, uv, Path(sys.executable), ["pytest==9.2.0"], dict(os.environ)) == []
