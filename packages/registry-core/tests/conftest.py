"""Fixtures: a private copy of the laruche sample, a private load cache, a local PyPI."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

# A copy of real laruche registry files (MIT, see its LICENSE), kept with the tests so
# that they run in any checkout.
SAMPLE = Path(__file__).resolve().parent / "data" / "laruche-sample"
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own load cache and no registry from the environment."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("APIARY_CACHE_DIR", str(cache))
    monkeypatch.delenv("APIARY_NO_CACHE", raising=False)
    monkeypatch.delenv("APIARY_REGISTRY", raising=False)
    monkeypatch.delenv("APIARY_PYPI_URL", raising=False)
    return cache


@pytest.fixture(scope="session")
def sample_source() -> Path:
    """The laruche sample itself (read only)."""
    if not SAMPLE.is_dir():
        pytest.fail(f"the laruche sample is missing: {SAMPLE}")
    return SAMPLE


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of the laruche sample (mtimes kept, so the cache trusts its files)."""
    if not SAMPLE.is_dir():
        pytest.fail(f"the laruche sample is missing: {SAMPLE}")
    return Path(shutil.copytree(SAMPLE, tmp_path / "registry"))


@pytest.fixture
def empty_registry(tmp_path: Path) -> Path:
    root = tmp_path / "empty-registry"
    (root / "packages").mkdir(parents=True)
    return root


@dataclass
class Invocation:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None


@pytest.fixture
def cli() -> Any:
    """Run ``registry`` commands in-process; stdout and stderr kept apart."""
    from registry_core.cli import app

    runner = CliRunner()

    def invoke(*args: str | Path) -> Invocation:
        result = runner.invoke(app, [str(a) for a in args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Invocation(result.exit_code, result.stdout, result.stderr, result.exception)

    return invoke


# --- file opens, seen through the interpreter's audit hook -------------------------------

_recording = threading.local()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open":
        seen = getattr(_recording, "opened", None)
        if seen is not None and isinstance(args[0], str | bytes | Path):
            seen.append(str(args[0] if not isinstance(args[0], bytes) else args[0].decode()))


sys.addaudithook(_audit)


@pytest.fixture
def opened_files() -> Any:
    """A context manager listing every file this thread opens inside it."""

    @contextlib.contextmanager
    def record() -> Iterator[list[str]]:
        _recording.opened = []
        try:
            yield _recording.opened
        finally:
            _recording.opened = None

    return record


# --- a local PyPI JSON API -----------------------------------------------------------------


@dataclass
class FakePyPI:
    """Serves ``/pypi/<name>/json`` from tests/data/pypi; special names misbehave."""

    url: str
    requests: list[str] = field(default_factory=list)


def _handler(state: FakePyPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            state.requests.append(self.path)
            parts = self.path.strip("/").split("/")
            if len(parts) != 3 or parts[0] != "pypi" or parts[2] != "json":
                self._send(404, b"{}")
                return
            name = parts[1]
            if name == "server-error":
                self._send(503, b"busy")
            elif name == "not-json":
                self._send(200, b"<html>surprise</html>", "text/html")
            elif name == "no-info":
                self._send(200, json.dumps({"urls": []}).encode())
            elif (DATA / "pypi" / f"{name}.json").is_file():
                self._send(200, (DATA / "pypi" / f"{name}.json").read_bytes())
            else:
                self._send(404, b'{"message": "Not Found"}')

    return Handler


@pytest.fixture
def fake_pypi(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePyPI]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = FakePyPI(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("APIARY_PYPI_URL", state.url)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def trust_fresh_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cache files however recently they changed (the copies a test makes are seconds old).

    Edits made after this still change the file's size or ctime, so they are seen.
    """
    from registry_core import cache

    monkeypatch.setattr(cache, "RACY_WINDOW_NS", 0)
