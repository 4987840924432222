"""Upload verified files with twine, one at a time, in order, never twice.

Before each file the project's simple index is read: the same file name with the same
sha256 is skipped, the same name with other content is a hard error (GitLab refuses a
second upload of a name whatever its content, and twine >= 6.2 has no --skip-existing
for it). Every file is checked against the index before the first upload, so a conflict
stops the run before anything is uploaded; an interrupted run re-run with the same
snapshot id uploads only what is missing. twine gets the credentials through its
environment only, and everything it prints is scrubbed of them.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from snapshot_publisher.credentials import Scrubber, Target
from snapshot_publisher.errors import (
    AuthError,
    ConflictError,
    PublishError,
    RegistryNetworkError,
    UploadError,
    VerificationError,
)
from snapshot_publisher.index import AUTH_HINT, IndexFile, IndexReader
from snapshot_publisher.verify import VerifiedFile, sha256_of

UPLOAD_TIMEOUT = 600.0
# Passed through to twine: what it needs to reach the registry, nothing else.
_TWINE_PASSTHROUGH = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "SYSTEMROOT",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)


@dataclass
class PublishReport:
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already there, identical


def twine_environment(env: Mapping[str, str], target: Target) -> dict[str, str]:
    clean = {k: env[k] for k in _TWINE_PASSTHROUGH if k in env}
    clean.update(
        TWINE_USERNAME=target.username,
        TWINE_PASSWORD=target.password,
        TWINE_NON_INTERACTIVE="1",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        NO_COLOR="1",
        TERM="dumb",
        COLUMNS="200",
    )
    return clean


def _archive_members(name: str, data: bytes) -> dict[str, bytes]:
    try:
        if name.endswith(".whl"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            found = {}
            for member in archive.getmembers():
                handle = archive.extractfile(member) if member.isfile() else None
                if handle is not None:
                    found[member.name] = handle.read()
            return found
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError):
        return {}


def differing_members(local: Path, remote: bytes) -> list[str]:
    """Paths inside two versions of one archive whose content differs (best effort)."""
    mine = _archive_members(local.name, local.read_bytes())
    theirs = _archive_members(local.name, remote)
    if not mine or not theirs:
        return []
    return sorted(
        name
        for name in set(mine) | set(theirs)
        if mine.get(name) != theirs.get(name) and not name.endswith(("/RECORD", "/PKG-INFO"))
    )


def _conflict(file: VerifiedFile, there: IndexFile, reader: IndexReader) -> ConflictError:
    try:
        changed = differing_members(file.path, reader.download(there.url))
    except PublishError:
        changed = []
    what = f"; differs in {', '.join(changed[:5])}" if changed else ""
    return ConflictError(
        f"{file.filename}: the registry already holds a different file of this name "
        f"(sha256 {there.sha256[:12]} there, {file.sha256[:12]} here{what}); "
        "the sources changed after this snapshot id was published: publish under a new "
        "snapshot id (a new pipeline or MONOREPO_SNAPSHOT_ID), never overwrite"
    )


def classify_twine_failure(output: str, file: VerifiedFile, target: Target) -> PublishError:
    """The one-line error for a failed `twine upload` (output already scrubbed)."""
    status = re.search(r"HTTPError: (\d{3})", output)
    code = int(status.group(1)) if status else 0
    if code in (401, 403):
        return AuthError(
            f"{file.filename}: HTTP {code} uploading to {target.upload_url}: {AUTH_HINT}"
        )
    if code in (400, 409) and re.search(r"already|taken|exist|conflict", output, re.IGNORECASE):
        return ConflictError(
            f"{file.filename}: the registry refused it as a duplicate (HTTP {code}) although "
            "its index did not list it; re-run with the same snapshot id"
        )
    if re.search(r"ConnectionError|Max retries|timed out|NewConnectionError", output):
        return RegistryNetworkError(
            f"{file.filename}: cannot reach {target.upload_url}; check GITLAB_BASE_URL and the "
            "network, then re-run with the same snapshot id (uploaded files are skipped)"
        )
    lines = [x.strip() for x in output.splitlines() if x.strip()]
    detail = " ".join(lines[-3:])[:300] if lines else "no output"
    return UploadError(f"{file.filename}: twine upload failed: {detail}")


def twine_upload(
    file: VerifiedFile, target: Target, env: Mapping[str, str], scrub: Scrubber
) -> str:
    """Upload one file; returns twine's scrubbed output, raises a PublishError on failure."""
    command = [
        sys.executable,
        "-m",
        "twine",
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        target.upload_url,
        str(file.path),
    ]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=twine_environment(env, target),
            timeout=UPLOAD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RegistryNetworkError(
            f"{file.filename}: the upload to {target.upload_url} took over "
            f"{UPLOAD_TIMEOUT:.0f}s; check the network, then re-run with the same snapshot id"
        ) from None
    output = scrub(done.stdout + done.stderr)
    if done.returncode != 0:
        raise classify_twine_failure(output, file, target)
    return output


def _upload_one(
    file: VerifiedFile,
    target: Target,
    env: Mapping[str, str],
    scrub: Scrubber,
    reader: IndexReader,
    check: Callable[[VerifiedFile, Mapping[str, IndexFile]], bool],
    report: PublishReport,
    echo: Callable[[str], None],
) -> None:
    if check(file, reader.files(file.package)):
        report.skipped.append(file.filename)
        echo(f"skip    {file.filename} (already in the registry, same sha256)")
        return
    if sha256_of(file.path) != file.sha256:
        raise VerificationError(f"{file.path}: changed after verification; not uploaded")
    try:
        twine_upload(file, target, env, scrub)
    except (ConflictError, UploadError):
        # A refused upload may mean another run uploaded it meanwhile: the index says.
        if check(file, reader.files(file.package)):
            report.skipped.append(file.filename)
            echo(f"skip    {file.filename} (uploaded meanwhile, same sha256)")
            return
        raise
    report.uploaded.append(file.filename)
    echo(f"upload  {file.filename} sha256={file.sha256[:12]}")


def publish_files(
    files: list[VerifiedFile],
    target: Target,
    *,
    env: Mapping[str, str] | None = None,
    scrub: Scrubber | None = None,
    echo: Callable[[str], None] = print,
    reader: IndexReader | None = None,
) -> PublishReport:
    """Upload ``files`` in order: skip identical ones, refuse conflicting ones."""
    base_env = dict(os.environ if env is None else env)
    scrub = scrub or Scrubber.from_env(base_env, [target.password])
    reader = reader or IndexReader(target)
    report = PublishReport()

    def check(file: VerifiedFile, held: Mapping[str, IndexFile]) -> bool:
        """True when the file is already there, identical; raises on a conflict."""
        there = held.get(file.filename)
        if there is None:
            return False
        if there.sha256 != file.sha256:
            raise _conflict(file, there, reader)
        return True

    # Every file is checked before the first upload: a conflict leaves no half set.
    packages = list(dict.fromkeys(f.package for f in files))
    held = {package: reader.files(package) for package in packages}
    for file in files:
        check(file, held[file.package])

    for file in files:
        try:
            _upload_one(file, target, base_env, scrub, reader, check, report, echo)
        except PublishError as exc:
            done = len(report.uploaded) + len(report.skipped)
            if done == 0:
                raise
            # Say so: a partial set must never be left silently.
            raise type(exc)(
                f"{exc} [snapshot incomplete: {done} of {len(files)} files are in the "
                "registry; re-run with the same snapshot id to upload the rest]"
            ) from None

    final = {package: reader.files(package) for package in packages}
    for file in files:
        if not check(file, final[file.package]):
            raise UploadError(
                f"{file.filename}: uploaded but not listed by {target.simple_url}; "
                "re-run with the same snapshot id"
            )
    return report
