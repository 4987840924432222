"""How a command ended, read from real-world exit statuses: a table."""

from __future__ import annotations

import signal

import pytest
from sandbox_runner import decode_status, signal_name
from sandbox_runner.status import suspect_oom


@pytest.mark.parametrize(
    ("returncode", "expected"),
    [
        (0, (0, None)),
        (1, (1, None)),
        (2, (2, None)),  # pytest: interrupted / collection error
        (5, (5, None)),  # pytest: no tests collected
        (127, (127, None)),  # shell: command not found
        (128, (128, None)),
        (-11, (-11, signal.SIGSEGV)),  # subprocess: the child died of SIGSEGV
        (-6, (-6, signal.SIGABRT)),
        (-9, (-9, signal.SIGKILL)),
        (139, (139, signal.SIGSEGV)),  # sh -c / bwrap: 128 + 11
        (134, (134, signal.SIGABRT)),
        (135, (135, signal.SIGBUS)),
        (136, (136, signal.SIGFPE)),
        (132, (132, signal.SIGILL)),
        (137, (137, signal.SIGKILL)),
        (152, (152, signal.SIGXCPU)),
        (192, (192, 64)),
        (193, (193, None)),
        (255, (255, None)),
        (-100, (-100, None)),
    ],
)
def test_decode_status(returncode: int, expected: tuple[int, int | None]) -> None:
    assert decode_status(returncode) == expected


def test_signal_names() -> None:
    assert signal_name(11) == "SIGSEGV"
    assert signal_name(6) == "SIGABRT"
    assert signal_name(None) is None
    assert signal_name(64) in ("SIGRTMAX", "SIG64")


@pytest.mark.parametrize(
    ("tail", "signum", "peak", "by_us", "expected"),
    [
        (["Traceback (most recent call last):", "MemoryError"], None, 10, False, True),
        (["fatal error: Cannot allocate memory"], None, 10, False, True),
        (["terminate called after throwing an instance of 'std::bad_alloc'"], 6, 10, False, True),
        (["memory allocation of 1048576 bytes failed"], 6, 10, False, True),
        ([], signal.SIGKILL, 10, False, True),  # the kernel's OOM killer
        ([], signal.SIGKILL, 10, True, False),  # apiary's own timeout kill
        ([], signal.SIGSEGV, 95, False, True),  # crashed at the limit
        ([], signal.SIGSEGV, 10, False, False),  # crashed far below it
        (["1 failed, 20 passed"], None, 10, False, False),
    ],
)
def test_suspect_oom(
    tail: list[str], signum: int | None, peak: int, by_us: bool, expected: bool
) -> None:
    found = suspect_oom(
        memory_limit=100, peak_rss_bytes=peak, signal_number=signum, killed_by_us=by_us, tail=tail
    )
    assert found is expected
