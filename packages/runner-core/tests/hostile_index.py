"""A package index on 127.0.0.1 that misbehaves on request, and archives to serve."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class HostileIndex:
    """``routes`` maps a path (``/pypi/x/json``, ``/files/x.tar.gz``) to its answer."""

    url: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def project(self, name: str, document: dict[str, Any]) -> None:
        self.routes[f"/pypi/{name}/json"] = answer(json.dumps(document).encode())

    def release(self, name: str, version: str, filename: str, data: bytes, url: str = "") -> None:
        """A project whose latest release has one sdist, served at /files/<filename>."""
        self.routes[f"/files/{filename}"] = answer(data, "application/octet-stream")
        document = release_document(
            name, version, filename, url or f"/files/{filename}", sha256(data)
        )
        self.project(name, document)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def release_document(name: str, version: str, filename: str, url: str, digest: str) -> Any:
    return {
        "info": {"name": name, "version": version},
        "urls": [
            {
                "packagetype": "sdist",
                "filename": filename,
                "url": url,
                "digests": {"sha256": digest},
            }
        ],
    }


def answer(body: bytes, kind: str = "application/json") -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def trickle(every_s: float = 0.5, for_s: float = 120.0) -> Route:
    """Headers at once, then one byte of a long body every ``every_s`` seconds."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000000")
        handler.end_headers()
        _drip(handler, b"{" + b" " * 1_000_000, every_s, for_s)

    return route


def trickle_headers(every_s: float = 0.5, for_s: float = 120.0) -> Route:
    """Even the status line comes one byte at a time."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        _drip(handler, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000, every_s, for_s)

    return route


def _drip(handler: BaseHTTPRequestHandler, data: bytes, every_s: float, for_s: float) -> None:
    ends = time.monotonic() + for_s
    try:
        for byte in data:
            if time.monotonic() > ends:
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(every_s)
    except OSError:
        return


def endless(declared: int | None = None) -> Route:
    """A JSON-looking answer of ``declared`` bytes (3 GB) or of no stated end, sent as
    fast as the client reads until it hangs up."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        if declared is not None:
            handler.send_header("Content-Length", str(declared))
        else:
            handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = b"[" + b"0," * (1 << 19)
        try:
            for _ in range((3 << 30) // len(chunk)):
                handler.wfile.write(chunk)
        except OSError:
            return

    return route


@contextmanager
def hostile_index() -> Iterator[HostileIndex]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    state = HostileIndex(url=f"http://127.0.0.1:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            state.requests.append(self.path)
            route = state.routes.get(self.path)
            if route is None:
                body = b'{"message": "Not Found"}'
                self.send_response(404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            route(self)

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def sdist(name: str, version: str, files: dict[str, str]) -> bytes:
    """A small real .tar.gz sdist: ``<name>-<version>/`` with ``files`` and a PKG-INFO."""
    buffer = io.BytesIO()
    root = f"{name}-{version}"
    contents = {"PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"}
    contents.update(files)
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for rel, text in contents.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{root}/{rel}")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def bomb(members: int, member_bytes: int, root: str = "bomb-1.0") -> bytes:
    """A real .tar.gz of ``members`` files of ``member_bytes`` zeros each, made without
    ever holding (or compressing) the expanded bytes: each piece is deflated alone and
    the compressed pieces repeat. Its gzip trailer is not checked: extraction refuses the
    archive long before the end."""
    piece = 1 << 20
    assert member_bytes % piece == 0
    zeros = _deflated(b"\0" * piece)
    out = [b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"]
    for index in range(members):
        info = tarfile.TarInfo(f"{root}/data{index:05}.bin")
        info.size = member_bytes
        info.mode = 0o644
        out.append(_deflated(info.tobuf(format=tarfile.GNU_FORMAT)))
        out.append(zeros * (member_bytes // piece))
    out.append(_deflated(b"\0" * 1024))
    out.append(b"\x03\x00" + b"\0" * 8)  # the final empty block, then a dummy trailer
    return b"".join(out)


def _deflated(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)
