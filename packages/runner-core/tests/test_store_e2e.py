"""The shared store every package's uv cache starts from: filled by apiary, copied."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from runner_core import store
from runner_core.environment import store_env
from runner_core.interpreter import Interpreter, probe_interpreter
from runner_core.tooling import find_uv
from runner_core.workdir import WorkLayout
from runner_fixtures import pyenv_python

# A uv configuration a package could write in its home: it names an index that answers
# nothing, so a fill that read it would fail.
_HOSTILE_CONFIG = 'index-url = "http://127.0.0.1:9/simple"\n'


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test as a new apiary process: no store known yet."""
    monkeypatch.setattr(store, "_known", {})


@pytest.fixture
def interpreter() -> Interpreter:
    return probe_interpreter(str(pyenv_python("3.13") or sys.executable))


@pytest.fixture
def uv() -> str:
    found = find_uv()
    assert found is not None
    return found


def _hostile_home(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for config in (root / ".config" / "uv", root / "xdg" / "uv"):
        config.mkdir(parents=True)
        (config / "uv.toml").write_text(_HOSTILE_CONFIG)
    monkeypatch.setenv("HOME", str(root))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "xdg"))


@pytest.mark.slow
def test_the_store_is_compiled_and_each_package_gets_its_own_copy(
    tmp_path: Path, interpreter: Interpreter, uv: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hostile_home(tmp_path / "home", monkeypatch)
    layout = WorkLayout(tmp_path / "work")
    # uv looks for a configuration file in the folders above where it runs, too.
    layout.root.mkdir()
    (layout.root / "uv.toml").write_text(_HOSTILE_CONFIG)
    first, second = (layout.package_cache(name) / "uv" for name in ("one", "two"))
    week_ago = time.time() - 8 * 24 * 3600
    for name in ("unused", "recent"):
        (layout.store / name).mkdir(parents=True)
        (layout.store / name / "ready.json").write_text("{}")
    for path in (layout.store / "unused" / "ready.json", layout.store / "unused"):
        os.utime(path, (week_ago, week_ago))

    assert store.seed_package_cache(layout, interpreter, uv, first)
    assert store.seed_package_cache(layout, interpreter, uv, second)

    found = store.ready_store(layout, interpreter, uv)
    assert found is not None and found.is_relative_to(layout.store)
    tag = f"cpython-{interpreter.minor.replace('.', '')}"
    compiled = {p.parent.parent.name for p in found.glob(f"archive-v0/*/*/__pycache__/*.{tag}*")}
    # The build backend and pytest's own modules, for this interpreter, and nothing
    # else: pytest's dependencies are each install's to fetch, uncompiled as before.
    assert {"setuptools", "_pytest"} <= compiled
    held = {p.name for p in found.glob("archive-v0/*/*") if p.is_dir()}
    assert not held & {"pluggy", "pygments", "iniconfig", "packaging"}
    # Each package has a copy: its own files, which its build backend may write freely.
    (shared,) = found.glob("archive-v0/*/_pytest/python.py")
    (own,) = first.glob("archive-v0/*/_pytest/python.py")
    assert own.read_bytes() == shared.read_bytes()
    assert own.stat().st_ino != shared.stat().st_ino
    assert own.stat().st_mtime == shared.stat().st_mtime  # so the copied bytecode is valid
    own.write_text("raise SystemExit('planted')\n")
    assert b"planted" not in shared.read_bytes()
    assert b"planted" not in next(second.glob("archive-v0/*/_pytest/python.py")).read_bytes()
    # Another interpreter's store unused for a week is removed by the fill, not others.
    assert not (layout.store / "unused").exists()
    assert (layout.store / "recent" / "ready.json").exists()
    # A cache that exists is the package's: it is never replaced.
    assert not store.seed_package_cache(layout, interpreter, uv, first)
    assert b"planted" in own.read_bytes()


@pytest.fixture
def offline_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WorkLayout:
    """A work directory whose index answers nothing: no store can be filled."""
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    return WorkLayout(tmp_path / "work")


@pytest.mark.slow
def test_a_store_that_cannot_be_filled_is_tried_once_and_installs_go_on(
    offline_layout: WorkLayout, interpreter: Interpreter, uv: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = offline_layout
    cache = layout.package_cache("one") / "uv"

    assert not store.seed_package_cache(layout, interpreter, uv, cache)
    assert not cache.exists()
    (folder,) = (p for p in layout.store.iterdir() if p.is_dir())
    assert "--only-binary :all:" in (folder / "fill.log").read_text()
    assert not (folder / "uv").exists()

    # Another process within the hour does not try again.
    monkeypatch.setattr(store, "_known", {})
    failed_at = (folder / "failed").stat().st_mtime
    assert store.ready_store(layout, interpreter, uv) is None
    assert (folder / "failed").stat().st_mtime == failed_at


def test_the_store_key_follows_the_interpreter_uv_and_the_index(
    interpreter: Interpreter, uv: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UV_INDEX_URL", raising=False)
    key = store.store_key(interpreter, uv)
    assert store.store_key(interpreter, uv) == key
    other = Interpreter(interpreter.path, interpreter.info, interpreter.minor, "another build")
    assert store.store_key(other, uv) != key
    newer_uv = tmp_path / "uv"
    newer_uv.write_bytes(Path(uv).read_bytes()[:1000])
    assert store.store_key(interpreter, str(newer_uv)) != key
    monkeypatch.setenv("UV_INDEX_URL", "https://mirror.example/simple")
    assert store.store_key(interpreter, uv) != key


def test_the_fill_reads_no_configuration_and_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hostile_home(tmp_path / "home", monkeypatch)
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-secret")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    env = store_env(tmp_path / "cache", tmp_path / "own-home")
    assert env["UV_NO_CONFIG"] == "1"
    assert env["HOME"] == str(tmp_path / "own-home")
    assert env["UV_CACHE_DIR"] == str(tmp_path / "cache")
    assert "GITLAB_TOKEN" not in env and "PYTHONPATH" not in env
    assert "glpat-secret" not in " ".join(env.values())
    assert os.environ["HOME"] != env["HOME"]


@pytest.mark.slow
def test_yesterdays_store_serves_while_a_new_fill_fails(
    offline_layout: WorkLayout, interpreter: Interpreter, uv: str
) -> None:
    layout = offline_layout
    folder = layout.store / store.store_key(interpreter, uv)
    (folder / "uv" / "archive-v0").mkdir(parents=True)
    (folder / "ready.json").write_text("{}")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(folder / "ready.json", (two_days_ago, two_days_ago))

    assert store.ready_store(layout, interpreter, uv) == folder / "uv"
    assert (folder / "failed").is_file()
    assert "--only-binary :all:" in (folder / "fill.log").read_text()
    assert (folder / "uv" / "archive-v0").is_dir()
