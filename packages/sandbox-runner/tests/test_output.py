"""The capped log: head written as it comes, a marker, the tail always kept."""

from __future__ import annotations

from pathlib import Path

from sandbox_runner.output import RECENT_BYTES, CappedLog


def test_under_the_cap_everything_is_kept(tmp_path: Path) -> None:
    log = CappedLog(tmp_path / "a" / "out.log", cap=4096)
    for i in range(10):
        log.write(f"line {i}\n".encode())
    log.close()
    assert (tmp_path / "a" / "out.log").read_text() == "".join(f"line {i}\n" for i in range(10))
    assert not log.truncated
    assert log.last_lines(3) == ["line 7", "line 8", "line 9"]


def test_exactly_at_the_cap_is_not_truncated(tmp_path: Path) -> None:
    log = CappedLog(tmp_path / "out.log", cap=2048)
    log.write(b"x" * 2048)
    log.close()
    assert not log.truncated
    assert (tmp_path / "out.log").read_bytes() == b"x" * 2048


def test_over_the_cap_the_middle_goes_and_the_tail_stays(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    log = CappedLog(path, cap=10_000)
    lines = [f"{i:07d}\n".encode() for i in range(100_000)]
    for i in range(0, len(lines), 37):  # chunks that do not align with lines
        log.write(b"".join(lines[i : i + 37]))
    # while running, only the head is on disk and a bounded window in memory
    assert path.stat().st_size == log.head_budget
    log.close()
    data = path.read_bytes()
    assert log.truncated
    assert log.total == 800_000
    assert data.startswith(b"0000000\n0000001\n")
    assert data.endswith(b"0099998\n0099999\n")
    head, marker, tail = data.partition(
        b"\n[apiary sandbox: output passed the cap of 10000 bytes; "
    )
    assert marker
    dropped = int(tail.split(b" bytes omitted")[0])
    kept_tail = tail.split(b"follows]\n", 1)[1]
    assert len(head) + dropped + len(kept_tail) == 800_000
    assert kept_tail.startswith(b"00")  # the tail opens on a whole line
    assert len(data) <= 10_000 + 200
    assert log.last_lines(2) == ["0099998", "0099999"]


def test_last_lines_drop_a_cut_first_line(tmp_path: Path) -> None:
    log = CappedLog(tmp_path / "out.log", cap=1024 * 1024)
    log.write(b"y" * (RECENT_BYTES + 10) + b"\nend\n")
    log.close()
    assert log.last_lines(5) == ["end"]
    assert log.last_lines(0) == []


def test_undecodable_bytes_do_not_break_the_tail(tmp_path: Path) -> None:
    log = CappedLog(tmp_path / "out.log", cap=4096)
    log.write(b"ok\n\xff\xfe broken\n")
    log.close()
    assert log.last_lines(2) == ["ok", "\ufffd\ufffd broken"]
