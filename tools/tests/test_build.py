"""Building and verifying: no credentials in builds, reproducible files, archive checks."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version
from snapshot_publisher.building import build_all
from snapshot_publisher.errors import VerificationError
from snapshot_publisher.plan import make_plan
from snapshot_publisher.verify import check_archive, check_metadata, install_together, verify
from snapshot_publisher.versioning import SnapshotId

pytestmark = pytest.mark.xdist_group("publish-build")

SECRETS = {
    "GITLAB_PYPI_PASSWORD": "glpat-aaaaaaaaaaaaaaaaaaaa1",
    "GITLAB_PYPI_USERNAME": "deployer",
    "CI_JOB_TOKEN": "job-token-value-2",
    "TWINE_PASSWORD": "twine-password-3",
    "MY_SERVICE_API_TOKEN": "service-token-4",
    "DEPLOY_PASSWORD": "deploy-password-5",
    "PIP_INDEX_URL": "https://someone:url-password-6@pypi.example.invalid/simple",
}

SPY_BACKEND = '''
"""A build backend that records the environment it runs in, then defers to pdm-backend."""
import json, os
from pathlib import Path
from pdm.backend import build_sdist as _sdist, build_wheel as _wheel
from pdm.backend import get_requires_for_build_sdist, get_requires_for_build_wheel  # noqa

def _record(kind):
    out = Path(os.environ["APIARY_SPY_DIR"]) / f"{kind}-{os.getpid()}.json"
    out.write_text(json.dumps(dict(os.environ)))

def build_sdist(directory, config_settings=None):
    _record("sdist")
    return _sdist(directory, config_settings)

def build_wheel(directory, config_settings=None, metadata_directory=None):
    _record("wheel")
    return _wheel(directory, config_settings, metadata_directory)
'''


def _package(root: Path, name: str, deps: list[str], backend: str = "pdm.backend") -> Path:
    directory = root / "packages" / name
    module = directory / "src" / name
    module.mkdir(parents=True)
    (module / "__init__.py").write_text(
        f'from importlib.metadata import version\n\n__version__ = version("{name}")\n'
    )
    (directory / "README.md").write_text(f"# {name}\n\nA test package.\n")
    extra = ""
    if backend != "pdm.backend":
        (directory / "_backend").mkdir()
        (directory / "_backend" / "spy.py").write_text(SPY_BACKEND)
        extra = 'backend-path = ["_backend"]\n'
    (directory / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0.3.0"\ndescription = "test"\n'
        'readme = "README.md"\nrequires-python = ">=3.11"\n'
        f"dependencies = {json.dumps(deps)}\n\n"
        f'[build-system]\nrequires = ["pdm-backend>=2.3"]\nbuild-backend = "{backend}"\n{extra}\n'
        '[tool.pdm.build]\nsource-includes = ["_backend/"]\n\n'
        '[tool.monorepo]\nstatus = "incubator"\n'
    )
    return directory


@pytest.fixture(scope="module")
def monorepo(tmp_path_factory: pytest.TempPathFactory, publish_kit: Any) -> Path:
    root = tmp_path_factory.mktemp("mono")
    _package(root, "alpha", [], backend="spy")
    _package(root, "beta", ["alpha"])
    publish_kit.git_commit_all(root)
    return root


@pytest.fixture(scope="module")
def built(monorepo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    spy = tmp_path_factory.mktemp("spy")
    env = {**os.environ, **SECRETS, "APIARY_SPY_DIR": str(spy)}
    plan = make_plan(monorepo, SnapshotId(77, "test"))
    runs = []
    for attempt in range(2):
        out = tmp_path_factory.mktemp(f"out{attempt}")
        work = tmp_path_factory.mktemp(f"work{attempt}")
        runs.append(build_all(plan, work=work, out_dir=out, env=env))
    return {"plan": plan, "runs": runs, "spy": spy, "env": env}


def test_builds_see_no_credential(built: dict[str, Any]) -> None:
    records = [json.loads(p.read_text()) for p in built["spy"].glob("*.json")]
    assert {"sdist", "wheel"} <= {p.name.split("-")[0] for p in built["spy"].glob("*.json")}
    assert len(records) >= 4  # two runs, sdist and wheel each
    for environ in records:
        for name, value in SECRETS.items():
            assert name not in environ
            secret = value.split(":")[-1].split("@")[0] if "@" in value else value
            assert all(secret not in v for v in environ.values()), name
        assert environ["SOURCE_DATE_EPOCH"].isdigit()


def test_the_same_commit_builds_the_same_bytes(built: dict[str, Any]) -> None:
    first, second = built["runs"]
    for a, b in zip(first, second, strict=True):
        for x, y in zip(a.files, b.files, strict=True):
            assert x.name == y.name
            assert (
                hashlib.sha256(x.read_bytes()).digest() == hashlib.sha256(y.read_bytes()).digest()
            )


def test_verify_accepts_the_built_set_and_pins_exactly(built: dict[str, Any]) -> None:
    files = verify(built["plan"], built["runs"][0], env=built["env"])
    assert [f.filename for f in files] == [
        "alpha-0.3.0.dev77.tar.gz",
        "alpha-0.3.0.dev77-py3-none-any.whl",
        "beta-0.3.0.dev77.tar.gz",
        "beta-0.3.0.dev77-py3-none-any.whl",
    ]
    beta = built["runs"][0][1].wheel
    with zipfile.ZipFile(beta) as archive:
        metadata = archive.read("beta-0.3.0.dev77.dist-info/METADATA").decode()
    assert "Requires-Dist: alpha==0.3.0.dev77" in metadata


def test_the_install_check_refuses_a_set_that_does_not_fit(
    built: dict[str, Any], tmp_path: Path
) -> None:
    # beta alone: its pin on alpha cannot be met from the local files (nor from an index).
    beta = built["runs"][0][1].wheel
    with pytest.raises(VerificationError, match="does not install together"):
        install_together(
            {"beta": beta},
            {"beta": Version("0.3.0.dev77")},
            root=tmp_path,
            env={**built["env"], "UV_INDEX_URL": "http://127.0.0.1:9/simple", "UV_OFFLINE": "1"},
        )


# --- archive checks, on crafted archives ----------------------------------------------

VERSIONS = {"alpha": Version("0.3.0.dev77"), "beta": Version("0.3.0.dev77")}


def _metadata(version: str = "0.3.0.dev77", *requires: str) -> bytes:
    lines = ["Metadata-Version: 2.3", "Name: beta", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (_metadata("0.3.0", "alpha==0.3.0.dev77"), "metadata version is '0.3.0'"),
        (_metadata("0.3.0.dev77", "alpha"), "must pin alpha exactly ==0.3.0.dev77"),
        (_metadata("0.3.0.dev77", "alpha>=0.3.0.dev77"), "must pin alpha exactly"),
        (_metadata("0.3.0.dev77", "alpha==0.3.0.dev76"), "must pin alpha exactly"),
        (_metadata("0.3.0.dev77", "alpha @ file:///src/alpha"), "local path or file URL"),
        (_metadata("0.3.0.dev77", "helper @ file:///src/helper"), "local path or file URL"),
    ],
)
def test_metadata_checks(metadata: bytes, message: str) -> None:
    with pytest.raises(VerificationError, match=message):
        check_metadata(Path("beta.whl"), metadata, "beta", VERSIONS)


def test_metadata_with_exact_pins_and_extras_passes() -> None:
    meta = _metadata("0.3.0.dev77", 'alpha[x]==0.3.0.dev77; python_version >= "3.11"', "rich>=13")
    check_metadata(Path("beta.whl"), meta, "beta", VERSIONS)


def _wheel(path: Path, extra: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("beta/__init__.py", "")
        archive.writestr("beta-0.3.0.dev77.dist-info/METADATA", _metadata())
        for name, content in extra.items():
            archive.writestr(name, content)
    return path


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("beta/.env", b"X=1"),
        ("beta/id_rsa", b"key"),
        ("beta/certs/server.pem", b"cert"),
        ("beta/.pypirc", b"[pypi]"),
        ("beta/notes.txt", b"token: glpat-abcdefghijklmnopqrstuv"),
        ("beta/conf.py", b"-----BEGIN OPENSSH PRIVATE KEY-----\n"),
    ],
)
def test_secrets_shaped_files_are_refused(tmp_path: Path, name: str, content: bytes) -> None:
    wheel = _wheel(tmp_path / "beta-0.3.0.dev77-py3-none-any.whl", {name: content})
    with pytest.raises(VerificationError) as caught:
        check_archive(wheel, "beta", VERSIONS)
    assert str(wheel) in str(caught.value) and name in str(caught.value)


def test_a_corrupt_archive_is_one_line_naming_it(tmp_path: Path) -> None:
    wheel = tmp_path / "beta-0.3.0.dev77-py3-none-any.whl"
    wheel.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(VerificationError, match=r"beta-0.3.0.dev77-py3-none-any.whl: not a"):
        check_archive(wheel, "beta", VERSIONS)
    sdist = tmp_path / "beta-0.3.0.dev77.tar.gz"
    sdist.write_bytes(b"\x1f\x8b\x08 truncated")
    with pytest.raises(VerificationError, match=r"beta-0.3.0.dev77.tar.gz: not a readable"):
        check_archive(sdist, "beta", VERSIONS)


def test_an_sdist_keeping_a_checkout_path_is_refused(tmp_path: Path) -> None:
    sdist = tmp_path / "beta-0.3.0.dev77.tar.gz"
    pyproject = b'[project]\nname = "beta"\n[tool.uv.sources]\nalpha = { path = "../alpha" }\n'
    with tarfile.open(sdist, "w:gz") as archive:
        for name, content in (
            ("beta-0.3.0.dev77/PKG-INFO", _metadata()),
            ("beta-0.3.0.dev77/pyproject.toml", pyproject),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    with pytest.raises(VerificationError, match=r"keeps \[tool.uv.sources\] alpha"):
        check_archive(sdist, "beta", VERSIONS)


def test_the_tree_is_never_touched(monorepo: Path, built: dict[str, Any]) -> None:
    status = subprocess.run(
        ["git", "-C", str(monorepo), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""
