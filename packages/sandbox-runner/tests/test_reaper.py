from __future__ import annotations

import signal
import subprocess

from sandbox_runner.reaper import ReaperChannel, parse_report


def test_parse_report() -> None:
    report = parse_report(b"2816 204800 0.500000 0.250000\n")
    assert report is not None
    assert report.returncode == 11  # 2816 = exit status 11 << 8
    assert report.usage.maxrss_kib == 204800
    assert report.usage.cpu_s == 0.75
    killed = parse_report(f"{signal.SIGSEGV} 10 0 0\n".encode())
    assert killed is not None and killed.returncode == -signal.SIGSEGV
    assert parse_report(b"") is None
    assert parse_report(b"12 34") is None
    assert parse_report(b"a b c d") is None


def test_the_reaper_reports_the_command_and_exits_like_it() -> None:
    # Outside any namespace (so no stop request here: that kills every process it may).
    channel = ReaperChannel()
    try:
        argv = channel.wrap(["sh", "-c", "head -c 1000000 /dev/zero | wc -c; kill -SEGV $$"])
        proc = subprocess.Popen(argv, pass_fds=channel.child_fds, stdout=subprocess.PIPE)
        channel.started()
        out, _ = proc.communicate(timeout=60)
        report = channel.read_report()
    finally:
        channel.close()
    assert out.strip() == b"1000000"
    assert proc.returncode == -signal.SIGSEGV
    assert report is not None
    assert report.returncode == -signal.SIGSEGV
    assert report.usage.maxrss_kib > 0


def test_the_reaper_says_when_a_command_cannot_start() -> None:
    channel = ReaperChannel()
    try:
        argv = channel.wrap(["/nonexistent/program"])
        proc = subprocess.run(
            argv, pass_fds=channel.child_fds, capture_output=True, timeout=60, check=False
        )
        channel.started()
        report = channel.read_report()
    finally:
        channel.close()
    assert proc.returncode == 127
    assert b"cannot execute /nonexistent/program" in proc.stderr
    assert report is not None and report.returncode == 127
