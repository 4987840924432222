"""Verify built files before anything is uploaded; what is verified is what gets uploaded.

Checks, each ending in one line that names the file:
- `twine check --strict`;
- each wheel's METADATA and each sdist's PKG-INFO carry the snapshot version, pin every
  internal dependency exactly `==<snapshot>` and name no file/path URL; the sdist's
  pyproject.toml keeps no checkout-only path;
- no secrets-shaped file (by name or content) in any archive;
- the whole set installs together into a fresh venv from the local files (our packages
  never come from an index), and each package imports and reports the snapshot version.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version
from runner_core.tooling import find_uv

from snapshot_publisher.building import BOOTSTRAP_UV, Built
from snapshot_publisher.credentials import Scrubber, without_secrets
from snapshot_publisher.discover import normalize
from snapshot_publisher.errors import VerificationError
from snapshot_publisher.plan import Plan

# File names that look like credentials or private keys.
SECRET_FILE_NAMES = re.compile(
    r"^(\.env(\..*)?|\.pypirc|\.netrc|_netrc|\.npmrc|\.git-credentials|\.htpasswd|htpasswd"
    r"|id_(rsa|dsa|ecdsa|ed25519)(\.pub)?|credentials(\.json)?|secrets?\.(json|ya?ml|toml|env)"
    r"|.*\.(pem|key|p12|pfx|jks|keystore|kdbx|ppk|gpg|asc))$",
    re.IGNORECASE,
)
# Content that is a credential whatever the file is called.
SECRET_CONTENT = re.compile(
    rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"
    rb"|glpat-[A-Za-z0-9_\-]{20,}|pypi-AgE[A-Za-z0-9_\-]{50,}|gh[pousr]_[A-Za-z0-9]{36,}"
    rb"|AKIA[0-9A-Z]{16}"
)
SECRET_DIRS = {".git", ".ssh", ".aws", ".gnupg", ".docker"}
INSTALL_TIMEOUT = 900.0


@dataclass(frozen=True)
class VerifiedFile:
    path: Path
    package: str  # normalised name
    version: str
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return self.path.name


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _members(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, content) of every regular file in a wheel or sdist."""
    try:
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if not info.is_dir():
                        yield info.filename, archive.read(info)
        else:
            with tarfile.open(path, "r:gz") as archive:
                for member in archive.getmembers():
                    if member.isfile():
                        handle = archive.extractfile(member)
                        yield member.name, handle.read() if handle else b""
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise VerificationError(f"{path}: not a readable archive ({exc})") from None


def _metadata_name(path: Path, names: list[str]) -> str:
    if path.name.endswith(".whl"):
        found = [n for n in names if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
    else:
        found = [n for n in names if re.fullmatch(r"[^/]+/PKG-INFO", n)]
    if len(found) != 1:
        what = "METADATA" if path.name.endswith(".whl") else "PKG-INFO"
        raise VerificationError(f"{path}: has {len(found)} {what} files, expected one")
    return found[0]


def check_metadata(
    path: Path, metadata: bytes, expected_name: str, versions: Mapping[str, Version]
) -> None:
    """Name, snapshot version, and exact internal pins in a METADATA / PKG-INFO."""
    message = email.parser.BytesParser().parsebytes(metadata)
    name = message.get("Name", "")
    if normalize(name) != expected_name:
        raise VerificationError(f"{path}: metadata names {name!r}, expected {expected_name}")
    version = message.get("Version", "")
    expected = str(versions[expected_name])
    if version != expected:
        raise VerificationError(f"{path}: metadata version is {version!r}, expected {expected}")
    for raw in message.get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(raw)
        except InvalidRequirement:
            raise VerificationError(f"{path}: Requires-Dist {raw!r} is not valid") from None
        if requirement.url is not None and (
            urlsplit(requirement.url).scheme in ("file", "") or "${" in requirement.url
        ):
            raise VerificationError(f"{path}: Requires-Dist {raw!r} is a local path or file URL")
        key = normalize(requirement.name)
        if key in versions:
            pin = f"=={versions[key]}"
            if requirement.url is not None or str(requirement.specifier) != pin:
                raise VerificationError(
                    f"{path}: Requires-Dist {raw!r} must pin {requirement.name} exactly {pin}"
                )


def check_sdist_pyproject(path: Path, text: bytes) -> None:
    """The sdist's pyproject.toml keeps no checkout-only path (uv sources, dev paths)."""
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise VerificationError(f"{path}: pyproject.toml is not valid TOML ({exc})") from None
    uv = data.get("tool", {}).get("uv", {})
    for name, spec in (uv.get("sources") or {}).items():
        if isinstance(spec, dict) and {"path", "workspace"} & set(spec):
            raise VerificationError(f"{path}: pyproject.toml keeps [tool.uv.sources] {name}")
    groups = dict(data.get("dependency-groups") or {})
    groups.update(data.get("tool", {}).get("pdm", {}).get("dev-dependencies") or {})
    for group, entries in groups.items():
        for entry in entries:
            if isinstance(entry, str) and ("file:" in entry or "${PROJECT_ROOT}" in entry):
                raise VerificationError(
                    f"{path}: pyproject.toml keeps the local path {entry!r} in group {group}"
                )


def check_archive(path: Path, key: str, versions: Mapping[str, Version]) -> None:
    """Metadata, checkout leftovers and secrets of one wheel or sdist."""
    members = dict(_members(path))
    for name, content in members.items():
        parts = PurePosixPath(name).parts
        if SECRET_DIRS & set(parts) or SECRET_FILE_NAMES.match(parts[-1]):
            raise VerificationError(f"{path}: contains {name}, a secrets-shaped file")
        if SECRET_CONTENT.search(content):
            raise VerificationError(f"{path}: {name} contains something shaped like a secret")
    meta = _metadata_name(path, list(members))
    check_metadata(path, members[meta], key, versions)
    if not path.name.endswith(".whl"):
        top = meta.split("/", 1)[0]
        pyproject = members.get(f"{top}/pyproject.toml")
        if pyproject is None:
            raise VerificationError(f"{path}: has no pyproject.toml")
        check_sdist_pyproject(path, pyproject)


def twine_check(files: list[Path], env: Mapping[str, str], scrub: Scrubber) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, files)],
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": "1", "TERM": "dumb"},
        check=False,
    )
    if done.returncode == 0:
        return
    output = scrub(done.stdout + done.stderr)
    failed = [
        line.split()[1]
        for line in output.splitlines()
        if line.startswith("Checking ") and ("FAILED" in line or "WARNING" in line)
    ]
    details = " ".join(
        x.strip() for x in output.splitlines() if x.strip().startswith(("ERROR", "WARNING"))
    )
    where = ", ".join(failed) or ", ".join(p.name for p in files)
    raise VerificationError(f"twine check --strict failed for {where}: {details[:300]}")


def top_level_modules(wheel: Path) -> list[str]:
    names = {
        PurePosixPath(n).parts[0]
        for n, _ in _members(wheel)
        if not PurePosixPath(n).parts[0].endswith((".dist-info", ".data"))
    }
    return sorted(n.removesuffix(".py") for n in names if n.isidentifier() or n.endswith(".py"))


_PROBE = r"""
import importlib, importlib.metadata as md, json, pathlib, sys
report = {}
for name, modules in json.loads(sys.argv[1]).items():
    dist = md.distribution(name)
    direct = dist.read_text("direct_url.json")
    report[name] = {
        "version": dist.version,
        "url": json.loads(direct)["url"] if direct else None,
        "modules": {m: getattr(importlib.import_module(m), "__version__", None) for m in modules},
    }
print(json.dumps(report))
"""


def _run(
    command: list[str], *, env: Mapping[str, str], cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=dict(env),
            cwd=cwd,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise VerificationError(
            f"installing the built set into a fresh venv took over {INSTALL_TIMEOUT:.0f}s "
            f"({Path(command[0]).name} {command[1]}); check the network and the index"
        ) from None


def install_together(
    wheels: Mapping[str, Path],
    versions: Mapping[str, Version],
    *,
    root: Path,
    env: Mapping[str, str],
    python: str = sys.executable,
) -> None:
    """Install every wheel into a fresh venv at once and check what each one reports."""
    clean = {**without_secrets(env), "UV_PYTHON_DOWNLOADS": "never"}
    clean.pop("VIRTUAL_ENV", None)
    clean.pop("PYTHONPATH", None)
    uv = find_uv(clean, fallbacks=(root / BOOTSTRAP_UV,))
    with tempfile.TemporaryDirectory(prefix="apiary-verify-") as tmp:
        venv = Path(tmp) / "venv"
        vpython = str(venv / "bin" / "python")
        if uv:
            create = [uv, "venv", "--quiet", "--python", python, str(venv)]
            install = [uv, "pip", "install", "--quiet", "--python", vpython]
        else:
            create = [python, "-m", "venv", str(venv)]
            install = [vpython, "-m", "pip", "install", "--quiet"]
        for step in (create, install + [str(w) for w in wheels.values()]):
            done = _run(step, env=clean)
            if done.returncode != 0:
                lines = [x for x in (done.stderr or done.stdout).splitlines() if x.strip()]
                detail = " ".join(lines[-3:])[:400] if lines else f"exit {done.returncode}"
                raise VerificationError(
                    f"the built set does not install together into a fresh venv: {detail}"
                )
        modules = {key: top_level_modules(wheel) for key, wheel in wheels.items()}
        probe = _run(
            [vpython, "-c", _PROBE, json.dumps(modules)],
            env={**clean, "PYTHONNOUSERSITE": "1"},
            cwd=tmp,
        )
        if probe.returncode != 0:
            last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
            raise VerificationError(f"importing the installed set failed: {last}")
        report = json.loads(probe.stdout)
    for key, wheel in wheels.items():
        entry = report[key]
        expected = str(versions[key])
        url = entry["url"] or ""
        if not url.startswith("file:") or Path(unquote(urlsplit(url).path)).name != wheel.name:
            raise VerificationError(
                f"{key}: was installed from {url or 'an index'}, not from {wheel.name}"
            )
        if entry["version"] != expected:
            raise VerificationError(f"{wheel}: installs as {entry['version']}, not {expected}")
        for module, reported in entry["modules"].items():
            if reported is not None and reported != expected:
                raise VerificationError(
                    f"{wheel}: {module}.__version__ is {reported!r}, expected {expected}"
                )


def verify(
    plan: Plan,
    built: list[Built],
    *,
    env: Mapping[str, str] | None = None,
    scrub: Scrubber | None = None,
    install: bool = True,
) -> list[VerifiedFile]:
    """Every check above; returns the files (upload order) with the sha256 they had."""
    base_env = dict(os.environ if env is None else env)
    scrub = scrub or Scrubber.from_env(base_env)
    versions = plan.versions()
    files: list[VerifiedFile] = []
    for item in built:
        for path in item.files:
            check_archive(path, item.key, versions)
            files.append(
                VerifiedFile(
                    path=path,
                    package=item.key,
                    version=str(versions[item.key]),
                    sha256=sha256_of(path),
                    size=path.stat().st_size,
                )
            )
    twine_check([f.path for f in files], without_secrets(base_env), scrub)
    if install:
        install_together(
            {item.key: item.wheel for item in built}, versions, root=plan.root, env=base_env
        )
    for verified in files:  # nothing may have changed while the set was being installed
        if sha256_of(verified.path) != verified.sha256:
            raise VerificationError(f"{verified.path}: changed during verification")
    return files
