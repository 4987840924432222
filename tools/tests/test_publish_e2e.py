"""End to end: publish the five packages live to a GitLab-layout index on 127.0.0.1.

One module-scoped flow, in order: publish, install with pip and with PDM, re-run (nothing
uploaded), complete an interrupted set, refuse a changed file, never print the password.

The stand-in for GitLab is pypiserver under GitLab's URL layout
(`/api/v4/projects/42/packages/pypi`), htpasswd users, authentication on upload AND on
reading (like a private project), no overwrite, no fallback to pypi.org (GitLab's
forwarding turned off, as docs/monorepo-packages.md says it must be). It holds only what
the publisher uploaded. Third-party dependencies (pydantic, typer, ...) come from a second
local index standing in for pypi.org: their wheels are downloaded from PyPI once into
.tools/wheelhouse. That second index also serves a fake `reporter` at the snapshot
version, the dependency-confusion attack the docs warn about: the hash-checked pip install
and PDM's include_packages must both ignore it.
"""

from __future__ import annotations

import email
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from runner_core.tooling import find_uv
from snapshot_publisher.building import BOOTSTRAP_UV

pytestmark = [pytest.mark.xdist_group("publish"), pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
PUBLISHER = ["-m", "snapshot_publisher"]
SNAPSHOT = 73519200
PROJECT = 42
NAMES = ["normalized-events", "registry-core", "sandbox-runner", "reporter", "runner-core"]
VERSION = f"0.1.0.dev{SNAPSHOT}"
FAKE_MARK = "FAKE-PUBLIC-REPORTER"


@dataclass
class World:
    tmp: Path
    root: Path  # the monorepo copy being published
    out: Path
    password: str
    gl: Any  # PypiServer of conftest
    public: Any
    kit: Any
    outputs: list[str] = field(default_factory=list)

    def publisher_env(self, password: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITLAB_", "CI_"))}
        env.update(
            GITLAB_BASE_URL=self.gl.base,
            GITLAB_PYPI_PROJECT_ID=str(PROJECT),
            GITLAB_PYPI_USERNAME="alice",
            GITLAB_PYPI_PASSWORD=password or self.password,
            MONOREPO_SNAPSHOT_ID=str(SNAPSHOT),
            MONOREPO_SOURCE_URL="https://gitlab.example.invalid/apiary/-/tree/{sha}",
        )
        return env

    def run(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=600, check=False, **kwargs
        )
        self.outputs += [done.stdout, done.stderr]
        return done

    def publish(self, password: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.run(
            [
                sys.executable,
                *PUBLISHER,
                "--confirm-live-publish",
                "--root",
                str(self.root),
                "--out-dir",
                str(self.out),
            ],
            env=self.publisher_env(password),
            cwd=REPO,
        )

    def index_files(self) -> dict[str, float]:
        return {p.name: p.stat().st_mtime for p in self.gl.directory.iterdir()}


def _fake_reporter_wheel(directory: Path) -> Path:
    """A public `reporter` at our snapshot version: what dependency confusion would serve."""
    wheel = directory / f"reporter-{VERSION}-py3-none-any.whl"
    info = f"reporter-{VERSION}.dist-info"
    files = {
        "reporter/__init__.py": f"__version__ = {VERSION!r}\nMARK = {FAKE_MARK!r}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: reporter\nVersion: {VERSION}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr(
            f"{info}/RECORD", "".join(f"{n},,\n" for n in files) + f"{info}/RECORD,,\n"
        )
    return wheel


def _third_party_requirements(out: Path) -> list[str]:
    found: set[str] = set()
    for wheel in out.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            message = email.message_from_bytes(archive.read(meta))
        for raw in message.get_all("Requires-Dist") or []:
            name = re.split(r"[\[<>=!~; (]", raw, maxsplit=1)[0]
            if name.lower() not in NAMES:
                found.add(raw)
    return sorted(found)


def _wheelhouse(requirements: list[str]) -> Path:
    """Third-party wheels for this interpreter, downloaded from PyPI once and kept."""
    key = hashlib.sha256(("\n".join(requirements) + sys.version).encode()).hexdigest()[:12]
    house = REPO / ".tools" / "wheelhouse" / key
    stamp = house / ".complete"
    if not stamp.exists():
        house.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--only-binary",
                ":all:",
                "--dest",
                str(house),
                *requirements,
            ],
            check=True,
            timeout=600,
        )
        stamp.write_text("\n".join(requirements) + "\n")
    return house


def _hashed_lock(house: Path) -> str:
    """What a consumer's own lock of the third-party set looks like (pins with hashes)."""
    lines = []
    for wheel in sorted(house.glob("*.whl")):
        name, version = wheel.name.split("-")[:2]
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        lines.append(f"{name}=={version} --hash=sha256:{digest}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, publish_kit: Any) -> Iterator[World]:
    from passlib.apache import HtpasswdFile

    tmp = tmp_path_factory.mktemp("publish-e2e")
    password = "pw-" + secrets.token_urlsafe(18)
    htpasswd = HtpasswdFile(str(tmp / "htpasswd"), new=True)
    htpasswd.set_password("alice", password)
    htpasswd.save()
    root = publish_kit.copy_committed_monorepo(tmp / "monorepo")
    for name in ("gitlab", "public", "fake"):
        (tmp / name).mkdir()
    _fake_reporter_wheel(tmp / "fake")
    prefix = publish_kit.gitlab_path.format(project=PROJECT)
    with (
        publish_kit.run_pypiserver(
            tmp / "gitlab",
            tmp / "gitlab.log",
            htpasswd=tmp / "htpasswd",
            authenticate="update,download,list",
            prefix=prefix,
        ) as gl,
        publish_kit.run_pypiserver(tmp / "public", tmp / "public.log") as public,
    ):
        yield World(tmp, root, tmp / "out", password, gl, public, publish_kit)


def test_live_publish_uploads_all_five_in_order(world: World) -> None:
    done = world.publish()
    assert done.returncode == 0, done.stderr
    uploaded = re.findall(r"^upload  (\S+)", done.stdout, re.MULTILINE)
    stems = [n.replace("-", "_") for n in NAMES]
    expected = [f"{s}-{VERSION}{ext}" for s in stems for ext in (".tar.gz", "-py3-none-any.whl")]
    assert uploaded == expected  # topological order, the sdist then the wheel
    assert sorted(world.index_files()) == sorted(expected)
    manifest = json.loads((world.out / "snapshot-manifest.json").read_text())
    head = subprocess.run(
        ["git", "-C", str(world.root), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert manifest["git_commit"] == head and manifest["snapshot_id"] == SNAPSHOT
    wheel = world.gl.directory / f"runner_core-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"runner_core-{VERSION}.dist-info/METADATA").decode()
    assert f"Project-URL: Snapshot source, https://gitlab.example.invalid/apiary/-/tree/{head}" in (
        metadata
    )
    assert [p["name"] for p in manifest["packages"]] == NAMES
    for package in manifest["packages"]:
        assert package["version"] == VERSION
        for entry in package["files"]:
            on_index = world.gl.directory / entry["filename"]
            assert hashlib.sha256(on_index.read_bytes()).hexdigest() == entry["sha256"]
    constraints = (world.out / f"constraints-{SNAPSHOT}.txt").read_text()
    assert constraints.count("--hash=sha256:") == 10
    assert all(f"{name}=={VERSION}" in constraints for name in NAMES)


def test_wrong_password_is_one_line_naming_the_variables(world: World) -> None:
    wrong = "not-the-" + secrets.token_urlsafe(12)
    done = world.publish(password=wrong)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert re.search(r"HTTP 40[13]", lines[0])
    assert "GITLAB_PYPI_USERNAME and GITLAB_PYPI_PASSWORD" in lines[0]
    assert wrong not in done.stdout + done.stderr


def test_pip_installs_runner_core_from_the_index(world: World) -> None:
    house = _wheelhouse(_third_party_requirements(world.out))
    assert not [w for w in house.iterdir() if w.name.split("-")[0].replace("_", "-") in NAMES]
    for wheel in house.glob("*.whl"):
        (world.public.directory / wheel.name).write_bytes(wheel.read_bytes())
    venv = world.tmp / "pip-venv"
    _venv(venv, with_pip=True)
    env = world.kit.clean_pip_env()
    # Our names come from the GitLab-layout index only; --find-links holds third-party only.
    done = world.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--no-compile",
            "--index-url",
            world.gl.simple_url_with("alice", world.password),
            "--find-links",
            str(house),
            "--report",
            str(world.tmp / "pip-report.json"),
            f"runner-core=={VERSION}",
        ],
        env=env,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((world.tmp / "pip-report.json").read_text())
    origins = {item["metadata"]["name"]: item["download_info"]["url"] for item in report["install"]}
    gl_host = world.gl.base.removeprefix("http://")
    for name in NAMES:
        assert gl_host in origins[name] and world.gl.prefix in origins[name], origins[name]
    assert all(origins[n].startswith("file:") for n in origins if n not in NAMES)
    versions = world.run([str(venv / "bin" / "apiary"), "--version"])
    assert versions.returncode == 0, versions.stderr
    assert set(versions.stdout.splitlines()) == {f"{name} {VERSION}" for name in NAMES}


def test_pip_with_hashes_ignores_a_public_package_of_the_same_name(world: World) -> None:
    # The public stand-in now also serves a fake `reporter` at the snapshot version.
    for wheel in (world.tmp / "fake").glob("*.whl"):
        (world.public.directory / wheel.name).write_bytes(wheel.read_bytes())
    house = _wheelhouse(_third_party_requirements(world.out))
    third_party = world.tmp / "third-party.txt"
    third_party.write_text(_hashed_lock(house))
    venv = world.tmp / "pip-hash-venv"
    _venv(venv, with_pip=True)
    done = world.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--no-compile",
            "--require-hashes",
            "--index-url",
            world.gl.simple_url_with("alice", world.password),
            "--extra-index-url",
            world.public.simple_url,
            "-r",
            str(world.out / f"constraints-{SNAPSHOT}.txt"),
            "-r",
            str(third_party),
        ],
        env=world.kit.clean_pip_env(),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    probe = world.run(
        [str(venv / "bin" / "python"), "-c", "import reporter; print(vars(reporter))"]
    )
    assert FAKE_MARK not in probe.stdout
    versions = world.run([str(venv / "bin" / "apiary"), "--version"])
    assert set(versions.stdout.splitlines()) == {f"{name} {VERSION}" for name in NAMES}


def test_pdm_installs_with_include_packages(world: World) -> None:
    pdm = _pdm(world)
    consumer = world.tmp / "consumer"
    consumer.mkdir()
    ours = ", ".join(f'"{n}"' for n in NAMES)
    url = world.gl.simple_url.replace("http://", "http://alice:${GL_TOKEN}@", 1)
    (consumer / "pyproject.toml").write_text(
        f"""[project]
name = "consumer"
version = "0"
requires-python = ">=3.11"
dependencies = ["runner-core=={VERSION}"]

[tool.pdm]
distribution = false

[[tool.pdm.source]]
name = "apiary"
url = "{url}"
include_packages = [{ours}]

[[tool.pdm.source]]
name = "pypi"
url = "{world.public.simple_url}"
"""
    )
    _venv(consumer / ".venv", with_pip=False)
    env = {
        **world.kit.clean_pip_env(),
        "GL_TOKEN": world.password,
        "PDM_HOME": str(world.tmp / "pdm-home"),
        "PDM_CACHE_DIR": str(world.tmp / "pdm-cache"),
        "PDM_CHECK_UPDATE": "false",
        "PDM_PYTHON": str(consumer / ".venv" / "bin" / "python"),
        "NO_COLOR": "1",
    }
    lock = world.run(
        [pdm, "lock", "--python", "==3.11.*", "--platform", "linux", "--implementation", "cpython"],
        cwd=consumer,
        env=env,
    )
    assert lock.returncode == 0, lock.stdout[-2000:] + lock.stderr[-2000:]
    install = world.run([pdm, "install", "--frozen-lockfile"], cwd=consumer, env=env)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    versions = world.run([str(consumer / ".venv" / "bin" / "apiary"), "--version"])
    assert set(versions.stdout.splitlines()) == {f"{name} {VERSION}" for name in NAMES}
    locked = (consumer / "pdm.lock").read_text()
    assert world.password not in locked
    wheel = world.gl.directory / f"reporter-{VERSION}-py3-none-any.whl"
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() in locked  # ours, not the fake
    probe = world.run(
        [str(consumer / ".venv" / "bin" / "python"), "-c", "import reporter; print(vars(reporter))"]
    )
    assert probe.returncode == 0 and FAKE_MARK not in probe.stdout


def _venv(path: Path, *, with_pip: bool) -> None:
    """A fresh venv for a consumer (uv when present: seconds faster than python -m venv)."""
    uv = find_uv(fallbacks=(REPO / BOOTSTRAP_UV,))
    if uv:
        seed = ["--seed"] if with_pip else []
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        subprocess.run(
            [uv, "venv", "--quiet", *seed, "--python", sys.executable, str(path)],
            check=True,
            env=env,
        )
    else:
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)


def _pdm(world: World) -> str:
    """PDM in a throwaway venv under .tools/ (pdm[locked] pins a working set)."""
    venv = REPO / ".tools" / "pdm"
    pdm = venv / "bin" / "pdm"
    if not pdm.exists():
        uv = find_uv(fallbacks=(REPO / BOOTSTRAP_UV,))
        if uv:
            subprocess.run(
                [uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True
            )
            install = [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
        else:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            install = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*install, "pdm[locked]"], check=True, timeout=600)
    return str(pdm)


def test_rerun_with_the_same_snapshot_uploads_nothing(world: World) -> None:
    before = world.index_files()
    done = world.publish()
    assert done.returncode == 0, done.stderr
    assert "0 uploaded, 10 already there" in done.stdout
    assert world.index_files() == before
    manifest = json.loads((world.out / "snapshot-manifest.json").read_text())
    assert manifest["published"]["uploaded"] == []
    assert len(manifest["published"]["already_there"]) == 10


def test_rerun_completes_an_interrupted_set(world: World) -> None:
    # As if the first run had stopped after reporter's sdist: the rest is missing.
    missing = [
        f"reporter-{VERSION}-py3-none-any.whl",
        f"runner_core-{VERSION}.tar.gz",
        f"runner_core-{VERSION}-py3-none-any.whl",
    ]
    for name in missing:
        (world.gl.directory / name).unlink()
    done = world.publish()
    assert done.returncode == 0, done.stderr
    assert re.findall(r"^upload  (\S+)", done.stdout, re.MULTILINE) == missing
    assert "3 uploaded, 7 already there" in done.stdout


def test_rerun_after_a_change_is_refused_and_names_the_file(world: World) -> None:
    before = world.index_files()
    source = world.root / "packages" / "reporter" / "src" / "reporter" / "__init__.py"
    source.write_text(source.read_text() + "\n# changed after publishing\n")
    done = world.publish()
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"reporter-{VERSION}" in lines[0] and "different" in lines[0]
    assert "src/reporter/__init__.py" in lines[0]
    assert world.index_files() == before  # refused before anything was uploaded


def test_no_password_in_any_output(world: World) -> None:
    assert len(world.outputs) >= 10
    for text in world.outputs:
        assert world.password not in text
    for log in (world.tmp / "gitlab.log", world.tmp / "public.log"):
        assert world.password not in log.read_text()
    for path in world.out.iterdir():
        assert world.password.encode() not in path.read_bytes()
