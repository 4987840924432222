"""Target and credentials, scrubbing, reading a simple index, classifying twine's failures."""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from snapshot_publisher.credentials import Scrubber, Target, target_from_env, without_secrets
from snapshot_publisher.errors import (
    AuthError,
    ConflictError,
    RegistryNetworkError,
    TargetError,
    UploadError,
)
from snapshot_publisher.index import IndexReader, parse_simple_page
from snapshot_publisher.upload import classify_twine_failure, publish_files
from snapshot_publisher.verify import VerifiedFile

# --- target and credentials -----------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "url", "user", "where"),
    [
        (
            {
                "GITLAB_PYPI_PROJECT_ID": "42",
                "GITLAB_PYPI_USERNAME": "u",
                "GITLAB_PYPI_PASSWORD": "p",
            },
            "https://gitlab.com/api/v4/projects/42/packages/pypi",
            "u",
            "GITLAB_PYPI_USERNAME",
        ),
        (
            {
                "GITLAB_BASE_URL": "https://git.example.invalid/",
                "GITLAB_PYPI_PROJECT_ID": "group/apiary",
                "GITLAB_PYPI_USERNAME": "u",
                "GITLAB_PYPI_PASSWORD": "p",
            },
            "https://git.example.invalid/api/v4/projects/group%2Fapiary/packages/pypi",
            "u",
            "GITLAB_PYPI_USERNAME",
        ),
        (
            {
                "GITLAB_CI": "true",
                "CI_API_V4_URL": "https://ci.example.invalid/api/v4",
                "CI_PROJECT_ID": "7",
                "CI_JOB_TOKEN": "jt",
            },
            "https://ci.example.invalid/api/v4/projects/7/packages/pypi",
            "gitlab-ci-token",
            "CI_JOB_TOKEN",
        ),
        (
            {
                "GITLAB_CI": "true",
                "CI_API_V4_URL": "https://ci.example.invalid/api/v4",
                "CI_PROJECT_ID": "7",
                "CI_JOB_TOKEN": "jt",
                "GITLAB_PYPI_PROJECT_ID": "9",
                "GITLAB_PYPI_USERNAME": "deploy",
                "GITLAB_PYPI_PASSWORD": "p",
            },
            "https://ci.example.invalid/api/v4/projects/9/packages/pypi",
            "deploy",
            "GITLAB_PYPI_USERNAME",
        ),
    ],
)
def test_target_from_env(env: dict[str, str], url: str, user: str, where: str) -> None:
    target = target_from_env(env)
    assert (target.upload_url, target.username) == (url, user)
    assert where in target.where
    assert target.password not in repr(target) or len(target.password) < 3


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GITLAB_PYPI_PROJECT_ID": "1"}, "GITLAB_PYPI_USERNAME and GITLAB_PYPI_PASSWORD"),
        ({"GITLAB_PYPI_USERNAME": "u", "GITLAB_PYPI_PROJECT_ID": "1"}, "GITLAB_PYPI_PASSWORD"),
        ({"GITLAB_PYPI_USERNAME": "u", "GITLAB_PYPI_PASSWORD": "p"}, "GITLAB_PYPI_PROJECT_ID"),
        ({"CI_JOB_TOKEN": "t", "CI_PROJECT_ID": "1"}, "no credentials"),  # not inside GitLab CI
        (
            {
                "GITLAB_BASE_URL": "ftp://x",
                "GITLAB_PYPI_PROJECT_ID": "1",
                "GITLAB_PYPI_USERNAME": "u",
                "GITLAB_PYPI_PASSWORD": "p",
            },
            "GITLAB_BASE_URL",
        ),
    ],
)
def test_target_errors_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(TargetError, match=message):
        target_from_env(env)


def test_without_secrets_and_scrubber() -> None:
    env = {
        "PATH": "/bin",
        "GITLAB_BASE_URL": "https://git.example.invalid",
        "GITLAB_PYPI_PASSWORD": "s3cr3t/pass",
        "CI_JOB_TOKEN": "jobtoken",
        "AWS_SECRET_ACCESS_KEY": "aws",
        "UV_INDEX_URL": "https://me:urlpass@host/simple",
        "HOME": "/root",
    }
    assert without_secrets(env) == {"PATH": "/bin", "HOME": "/root"}
    scrub = Scrubber.from_env(env)
    text = "s3cr3t/pass s3cr3t%2Fpass jobtoken urlpass https://git.example.invalid"
    assert scrub(text) == "**** **** **** **** https://git.example.invalid"


# --- the simple index -----------------------------------------------------------------

PYPISERVER_PAGE = """<html><body><h1>Links for reporter</h1>
<a href="/api/v4/projects/42/packages/pypi/packages/reporter-0.1.0.dev5.tar.gz#sha256=AB12">
reporter-0.1.0.dev5.tar.gz</a><br>
<a href="/api/v4/projects/42/packages/pypi/packages/reporter-0.1.0.dev5-py3-none-any.whl\
#sha256=cd34">x</a>
</body></html>"""
GITLAB_PAGE = """<!DOCTYPE html><html><body><h1>Links for reporter</h1>
<a href="https://gitlab.example.invalid/api/v4/projects/42/packages/pypi/files/9f86/\
reporter-0.1.0.dev5.tar.gz#sha256=9f86" data-requires-python="&gt;=3.11">\
reporter-0.1.0.dev5.tar.gz</a><br>
</body></html>"""


def test_parse_simple_pages() -> None:
    base = "http://127.0.0.1:1/api/v4/projects/42/packages/pypi/simple/reporter/"
    files = {f.filename: f for f in parse_simple_page(PYPISERVER_PAGE, base)}
    assert files["reporter-0.1.0.dev5.tar.gz"].sha256 == "ab12"
    assert files["reporter-0.1.0.dev5-py3-none-any.whl"].url.startswith("http://127.0.0.1:1/")
    [gitlab] = parse_simple_page(GITLAB_PAGE, base)
    assert (gitlab.filename, gitlab.sha256) == ("reporter-0.1.0.dev5.tar.gz", "9f86")


class _Registry(BaseHTTPRequestHandler):
    """Answers like a GitLab project registry would, per path; records what it was sent."""

    seen: list[tuple[str, str]] = []  # noqa: RUF012 (per-test, reset by the fixture)
    other_port = 0

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization", "")))
        if self.path.endswith("/simple/denied/"):
            self.send_response(403)
            self.end_headers()
        elif self.path.endswith("/simple/forwarded/"):
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.2:{self.other_port}/simple/forwarded/")
            self.end_headers()
        elif self.path.endswith("/simple/nohash/"):
            body = b'<a href="../../files/nohash-1.0.tar.gz">nohash-1.0.tar.gz</a>'
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)
        elif self.path.endswith("/files/nohash-1.0.tar.gz"):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"content")
        else:
            self.send_response(404)
            self.end_headers()

    posts = 0

    def do_POST(self) -> None:
        # The first upload is accepted, every later one refused: an interrupted publish.
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).posts += 1
        self.send_response(200 if type(self).posts == 1 else 400)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def registry() -> Iterator[tuple[Target, list[tuple[str, str]]]]:
    other = ThreadingHTTPServer(("127.0.0.2", 0), _Registry)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    _Registry.seen = []
    _Registry.posts = 0
    _Registry.other_port = other.server_address[1]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (server, other)]
    for thread in threads:
        thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/api/v4/projects/42/packages/pypi"
    try:
        yield Target(base, "alice", "pw-secret", "test"), _Registry.seen
    finally:
        for s in (server, other):
            s.shutdown()
            s.server_close()


def test_index_reader_statuses(registry: tuple[Target, list[tuple[str, str]]]) -> None:
    target, seen = registry
    reader = IndexReader(target, timeout=10)
    assert reader.files("Missing_Name") == {}
    assert seen[-1][0].endswith("/simple/missing-name/") and seen[-1][1].startswith("Basic ")
    with pytest.raises(AuthError, match=r"HTTP 403.*GITLAB_PYPI_USERNAME and GITLAB_PYPI_PASSWORD"):
        reader.files("denied")
    # GitLab forwarding a name it does not hold: not in the project, and no credentials
    # travel to the other host.
    assert reader.files("forwarded") == {}
    assert not any(path == "/simple/forwarded/" for path, _ in seen)
    files = reader.files("nohash")
    assert files["nohash-1.0.tar.gz"].sha256 == (
        "ed7002b439e9ac845f22357d822bac1444730fbdb6016d3ec9432297b9ec9f73"
    )


def test_an_unreachable_registry_is_one_line() -> None:
    target = Target("http://127.0.0.1:9/api/v4/projects/1/packages/pypi", "u", "p", "test")
    with pytest.raises(RegistryNetworkError, match=r"cannot reach .*GITLAB_BASE_URL"):
        IndexReader(target, timeout=5).files("reporter")


# --- twine's failures, as twine 7 prints them -----------------------------------------

TWINE_400 = """Uploading distributions to
http://127.0.0.1:18123/api/v4/projects/42/packages/pypi
Uploading normalized_events-0.1.0-py3-none-any.whl
WARNING  Error during upload. Retry with the --verbose option for more details.
ERROR    HTTPError: 400 Bad Request from
         http://127.0.0.1:18123/api/v4/projects/42/packages/pypi
         Bad Request"""
GITLAB_400 = TWINE_400 + '\n{"message":"Validation failed: File name has already been taken"}'
TWINE_403 = TWINE_400.replace("400 Bad Request", "403 Forbidden").replace(
    "Bad Request", "Forbidden"
)
TWINE_401 = TWINE_400.replace("400 Bad Request", "401 Unauthorized")
TWINE_NETWORK = """WARNING  Retrying (Retry(total=5, connect=0, read=None, redirect=None,
         status=None)) after connection broken by
         'NewConnectionError("HTTPConnection(host='127.0.0.1', port=18124):
requests.exceptions.ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=18124): Max
retries exceeded with url: /api/v4/projects/42/packages/pypi"""
TWINE_500 = TWINE_400.replace("400 Bad Request", "500 Internal Server Error")


@pytest.mark.parametrize(
    ("output", "error", "words"),
    [
        (TWINE_401, AuthError, "HTTP 401"),
        (TWINE_403, AuthError, "GITLAB_PYPI_USERNAME and GITLAB_PYPI_PASSWORD"),
        (GITLAB_400, ConflictError, "duplicate"),
        (TWINE_NETWORK, RegistryNetworkError, "cannot reach"),
        (TWINE_500, UploadError, "500 Internal Server Error"),
        (TWINE_400, UploadError, "Bad Request"),
    ],
)
def test_classify_twine_failures(output: str, error: type[Exception], words: str) -> None:
    file = VerifiedFile(Path("/d/x-1.0.tar.gz"), "x", "1.0", "ab" * 32, 1)
    target = Target("https://gitlab.example.invalid/api/v4/projects/1/packages/pypi", "u", "p", "t")
    found = classify_twine_failure(output, file, target)
    assert type(found) is error
    assert words in str(found) and "x-1.0.tar.gz" in str(found)
    assert "\n" not in str(found)


def _dist(directory: Path, name: str) -> VerifiedFile:
    path = directory / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}/__init__.py", "")
        archive.writestr(
            f"{name}-1.0.dist-info/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        )
        archive.writestr(f"{name}-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
        archive.writestr(f"{name}-1.0.dist-info/RECORD", "")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return VerifiedFile(path, name, "1.0", digest, path.stat().st_size)


def test_an_interrupted_upload_says_the_set_is_incomplete(
    registry: tuple[Target, list[tuple[str, str]]], tmp_path: Path
) -> None:
    target, _ = registry
    files = [_dist(tmp_path, "first"), _dist(tmp_path, "second")]
    lines: list[str] = []
    with pytest.raises(UploadError) as caught:
        publish_files(files, target, env=dict(os.environ), echo=lines.append)
    message = str(caught.value)
    assert message.startswith("second-1.0-py3-none-any.whl: twine upload failed")
    assert "snapshot incomplete: 1 of 2 files" in message and "same snapshot id" in message
    assert lines == [f"upload  first-1.0-py3-none-any.whl sha256={files[0].sha256[:12]}"]
    assert "pw-secret" not in message
