"""verify with a project whose own build needs a header the machine lacks: a real sdist
from an index on loopback, a real failed build, the released wheel from a local folder,
and the sdist's tests run against the installed wheel, not the source tree's copy."""

from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_index import HostileIndex, hostile_index, sdist
from registry_core import load_registry
from runner_core.enrich.verify import VerifyOptions, verify

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("enrich")]

NAME, MODULE, VERSION = "apiary-wheel-demo", "apiary_wheel_demo", "1.0"
SOURCE = {
    "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
    'build-backend = "setuptools.build_meta"\n',
    "setup.py": "from setuptools import Extension, setup\n\n"
    f"setup(name={NAME!r}, version={VERSION!r}, packages=[{MODULE!r}],\n"
    f"      ext_modules=[Extension('{MODULE}._speed', ['{MODULE}/_speed.c'])])\n",
    f"{MODULE}/_speed.c": "#include <apiary_no_such_header.h>\n",
    # the source tree's copy needs the extension: importing it instead of the wheel fails
    f"{MODULE}/__init__.py": "from ._speed import ANSWER\n",
    "tests/__init__.py": "",
    "tests/test_it.py": f"import {MODULE}\n\n\ndef test_the_installed_wheel():\n"
    f"    assert {MODULE}.ANSWER == 42\n    assert 'site-packages' in {MODULE}.__file__\n",
}
INSTALL = "pip install -e . && pip install pytest"
TEST = "python -m pytest -q -p no:cacheprovider tests"


def _wheel(folder: Path) -> Path:
    """The released wheel: the same project and version, pure Python."""
    info = f"{MODULE}-{VERSION}.dist-info"
    files = {
        f"{MODULE}/__init__.py": "ANSWER = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={_digest(text.encode())},{len(text.encode())}"
        for path, text in files.items()
    ]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    path = folder / f"{MODULE}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HostileIndex]:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels)
    monkeypatch.setenv("UV_FIND_LINKS", str(wheels))
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    with hostile_index() as served:
        monkeypatch.setenv("APIARY_PYPI_URL", served.url)
        served.release(NAME, VERSION, f"{NAME}-{VERSION}.tar.gz", sdist(NAME, VERSION, SOURCE))
        yield served


def _registry(tmp_path: Path) -> Path:
    registry = tmp_path / "registry"
    (registry / "packages").mkdir(parents=True)
    (registry / "packages" / f"{NAME}.yaml").write_text(
        f"package: {NAME}\nextension_type: extensions\ninstall_command: {INSTALL}\n"
        f"test_command: {TEST}\nnotes: ''\nenriched: false\n"
    )
    (registry / "index.yaml").write_text("last_updated: '2026-01-01T00:00:00'\npackages: []\n")
    return registry


def test_a_build_needing_a_missing_header_is_verified_on_the_released_wheel(
    index: HostileIndex, tmp_path: Path
) -> None:
    registry = _registry(tmp_path)
    options = VerifyOptions(
        registry_dir=registry,
        results_dir=tmp_path / "results",
        work_dir=tmp_path / "work",
        pythons=(sys.executable,),
        source="sdist",
        idle_timeout_s=300,
        run_prefix="w",
        write=True,
    )
    (item,) = verify([NAME], options)
    outcomes = [next(iter(a.results.values())) for a in item.attempts]
    assert [r.outcome.value for r in outcomes] == ["install_error", "pass"], item.summary()
    assert outcomes[0].reason is not None and "apiary_no_such_header.h" in outcomes[0].reason
    description = (
        f"{NAME} does not build here (a system library or header is missing) -> "
        f"the released wheel of {NAME}=={VERSION}"
    )
    assert item.tried == [description]
    entry = load_registry(registry, use_cache=False).entries[NAME]
    # recorded in the entry, so that `apiary run` installs the wheel too
    assert entry.enriched is True
    assert entry.install_command == (
        f"pip install --only-binary={NAME} {NAME}=={VERSION} && pip install pytest"
    )
    assert entry.test_command == f"PYTHONSAFEPATH=1 {TEST} --import-mode=append"
    assert f"Tried: {description}." in entry.notes
