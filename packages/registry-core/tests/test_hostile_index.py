"""`registry resolve` against an index that trickles, or answers 3 GB: one line per name."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"


def _trickle(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    ends = time.monotonic() + 60
    try:
        while time.monotonic() < ends:
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.5)
    except OSError:
        return


def _endless(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Connection", "close")
    handler.end_headers()
    chunk = b"[" + b"0," * (1 << 19)
    try:
        for _ in range((3 << 30) // len(chunk)):
            handler.wfile.write(chunk)
    except OSError:
        return


def _declared(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(3 << 30))
    handler.end_headers()


def _deep(handler: BaseHTTPRequestHandler) -> None:
    body = b"[" * 200_000
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


ROUTES = {"slow": _trickle, "huge": _endless, "declared": _declared, "deep": _deep}


@pytest.fixture
def hostile_pypi(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            name = self.path.strip("/").split("/")[1]
            route = ROUTES.get(name)
            if route is not None:
                route(self)
                return
            body = (DATA / "pypi" / "six.json").read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("APIARY_PYPI_URL", url)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def test_resolve_survives_a_trickling_and_a_huge_index(
    cli: Any, hostile_pypi: str, empty_registry: Path
) -> None:
    done = cli(
        "resolve", "slow", "huge", "declared", "deep", "six",
        "--timeout", "2", "--retries", "0", "--registry-dir", empty_registry,
    )  # fmt: skip
    assert done.exit_code == 1
    assert done.stdout == "created six: pure, https://github.com/benjaminp/six\n"
    lines = done.stderr.splitlines()
    assert lines[0].startswith(
        f"failed slow: PyPI at {hostile_pypi}/pypi/slow/json: no complete answer within 2 s"
    )
    assert lines[1:] == [
        f"failed huge: PyPI at {hostile_pypi}/pypi/huge/json:"
        " the answer is larger than the 64 MiB limit",
        f"failed declared: PyPI at {hostile_pypi}/pypi/declared/json:"
        " the answer is larger than the 64 MiB limit",
        f"failed deep: PyPI sent a document that is not JSON ({hostile_pypi}/pypi/deep/json)",
    ]
