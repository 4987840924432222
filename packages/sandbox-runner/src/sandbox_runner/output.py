"""Streaming a command's output to a log file under a cap, keeping the tail.

Test suites of real packages run for minutes and print megabytes. Output goes to the log
as it arrives; once a stream passes its cap, the head stays in the file, the middle is
dropped, and only a bounded window of the most recent bytes is held in memory. On close
the log gets a marker line saying how much was dropped, then that tail. So the end of the
output (the crash dump, the summary line) is always in the log.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

# The tail kept past the cap: half the cap, at most this much (memory held per stream).
MAX_TAIL_BYTES = 1024 * 1024
# Always remembered for the last lines of the result, even under the cap.
RECENT_BYTES = 64 * 1024
# How far into the kept tail to look for a line start, so the tail opens on a whole line.
_ALIGN_WINDOW = 4096


def truncation_marker(dropped: int, cap: int) -> bytes:
    return (
        f"\n[apiary sandbox: output passed the cap of {cap} bytes; "
        f"{dropped} bytes omitted here, the end of the output follows]\n"
    ).encode()


class _Window:
    """The last `size` bytes written, as a deque of chunks."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._chunks: deque[bytes] = deque()
        self._held = 0
        self.dropped = 0

    def add(self, data: bytes) -> None:
        self._chunks.append(data)
        self._held += len(data)
        while self._held - len(self._chunks[0]) >= self.size:
            gone = self._chunks.popleft()
            self._held -= len(gone)
            self.dropped += len(gone)

    def bytes(self) -> bytes:
        joined = b"".join(self._chunks)
        extra = len(joined) - self.size
        if extra > 0:
            self.dropped += extra
            joined = joined[extra:]
            self._chunks = deque([joined])
            self._held = len(joined)
        return joined


class CappedLog:
    """One output stream written to `path`, at most about `cap` bytes of it."""

    def __init__(self, path: Path, cap: int) -> None:
        path = Path.cwd() / path  # absolute, symlinks kept as given
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.cap = cap
        self.tail_budget = min(cap // 2, MAX_TAIL_BYTES)
        self.head_budget = cap - self.tail_budget
        self.total = 0
        self._written = 0
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        self._over: _Window | None = None
        self._recent = _Window(RECENT_BYTES)
        self._closed = False

    @property
    def truncated(self) -> bool:
        return self._over is not None and self._over.dropped > 0

    def write(self, data: bytes) -> None:
        self.total += len(data)
        self._recent.add(data)
        room = self.head_budget - self._written
        if room > 0:
            head = data[:room]
            _write_all(self._fd, head)
            self._written += len(head)
            data = data[room:]
        if data:
            if self._over is None:
                self._over = _Window(self.tail_budget)
            self._over.add(data)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._over is not None:
                tail = self._over.bytes()
                if self._over.dropped:
                    tail, skipped = _align_to_line(tail)
                    self._over.dropped += skipped
                    _write_all(self._fd, truncation_marker(self._over.dropped, self.cap))
                _write_all(self._fd, tail)
        finally:
            os.close(self._fd)

    def last_lines(self, count: int) -> list[str]:
        if count <= 0:
            return []
        recent = self._recent.bytes()
        lines = recent.decode("utf-8", errors="replace").splitlines()
        if self._recent.dropped and lines:
            lines = lines[1:]  # the first one is probably cut
        return lines[-count:]


def _align_to_line(tail: bytes) -> tuple[bytes, int]:
    newline = tail.find(b"\n", 0, _ALIGN_WINDOW)
    if newline < 0:
        return tail, 0
    return tail[newline + 1 :], newline + 1


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        done = os.write(fd, view)
        view = view[done:]
