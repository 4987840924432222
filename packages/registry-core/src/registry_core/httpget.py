"""HTTP(S) GETs with a size cap and a total deadline: what a package index sends is untrusted.

A per-read socket timeout does not bound a server that trickles one byte every few
seconds, so a watchdog shuts the connection's socket down when the deadline passes,
whatever http.client is waiting for (headers or body). Only http and https are spoken:
no ``file://``, ``ftp://`` or ``data:`` URL, and no redirect to one.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from registry_core.errors import FetchError

_CHUNK = 1 << 16


@dataclass(frozen=True)
class FetchLimits:
    """How much an answer may weigh and how long it may take, all of it."""

    max_bytes: int
    deadline_s: float
    read_timeout_s: float = 30.0


def human_size(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


class _Watchdog:
    """Shuts down every socket it was given once the deadline has passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.fired:
                _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _watched(base: type[http.client.HTTPConnection], watchdog: _Watchdog) -> Any:
    class Watched(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            super().connect()
            watchdog.watch(self.sock)

    return Watched


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self.watchdog = watchdog

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched(http.client.HTTPConnection, self.watchdog), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self.watchdog = watchdog

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = _watched(http.client.HTTPSConnection, self.watchdog)
        return self.do_open(connection, req, context=getattr(self, "_context", None))


def _opener(watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        _HTTPHandler(watchdog),
        _HTTPSHandler(watchdog),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def check_http_url(url: str, what: str = "URL") -> str:
    """``url`` when it is an absolute http(s) URL with a host; FetchError otherwise."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchError(f"{what} {url!r:.200}", "not an http:// or https:// URL", final=True)
    if any(ch in url for ch in "\r\n\t\x00 "):
        reason = "blanks or control characters in the URL"
        raise FetchError(f"{what} {url!r:.200}", reason, final=True)
    return url


def fetch(
    url: str,
    limits: FetchLimits,
    sink: Callable[[bytes], None],
    headers: dict[str, str] | None = None,
) -> int:
    """GET ``url`` and hand its body to ``sink`` chunk by chunk; return its size.

    Raises FetchError (one line; ``status`` set for an HTTP error answer) when the URL is
    not http(s), the answer is an error, larger than ``limits.max_bytes`` or not complete
    within ``limits.deadline_s`` seconds.
    """
    check_http_url(url)
    watchdog = _Watchdog(limits.deadline_s)
    started = time.monotonic()
    received = 0
    try:
        request = urllib.request.Request(url, headers=headers or {})  # noqa: S310
        with _opener(watchdog).open(request, timeout=limits.read_timeout_s) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limits.max_bytes:
                raise _too_large(url, limits)
            while chunk := response.read1(_CHUNK):
                received += len(chunk)
                if received > limits.max_bytes:
                    raise _too_large(url, limits)
                if watchdog.fired:
                    break
                sink(chunk)
            if declared.isdigit() and received < int(declared) and not watchdog.fired:
                reason = f"the connection closed after {received} of {declared} bytes"
                raise FetchError(url, reason)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise FetchError(url, f"HTTP {exc.code}", status=exc.code) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        if watchdog.fired:
            raise _too_slow(url, limits, received) from None
        reason = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
        raise FetchError(url, reason, unreachable=received == 0) from None
    finally:
        watchdog.cancel()
    if watchdog.fired or time.monotonic() - started > limits.deadline_s:
        raise _too_slow(url, limits, received)
    return received


def fetch_bytes(url: str, limits: FetchLimits, headers: dict[str, str] | None = None) -> bytes:
    """The whole body of ``url`` (see :func:`fetch`)."""
    parts: list[bytes] = []
    fetch(url, limits, parts.append, headers)
    return b"".join(parts)


def _too_large(url: str, limits: FetchLimits) -> FetchError:
    reason = f"the answer is larger than the {human_size(limits.max_bytes)} limit"
    return FetchError(url, reason, final=True)


def _too_slow(url: str, limits: FetchLimits, received: int) -> FetchError:
    reason = f"no complete answer within {limits.deadline_s:g} s ({received} bytes received)"
    return FetchError(url, reason)
