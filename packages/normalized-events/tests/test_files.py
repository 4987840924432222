"""The small file mechanisms of a run directory: atomic writes, tails, digests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from normalized_events.files import (
    TooLarge,
    read_head,
    read_tail,
    read_whole,
    sha256_of,
    write_atomic,
)


def test_write_atomic_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "run.json"
    write_atomic(target, "first\n")
    write_atomic(target, b"second\n")
    assert target.read_bytes() == b"second\n"
    assert target.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["run.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.mkdir()  # a folder where the file should go: the final rename fails
    (target / "inside").write_text("kept")
    with pytest.raises(OSError):
        write_atomic(target, "text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    assert (target / "inside").read_text() == "kept"


def test_tails_heads_and_digests(tmp_path: Path) -> None:
    log = tmp_path / "test.log"
    log.write_bytes(b"0123456789")
    assert read_tail(log, 4) == (b"6789", 10)
    assert read_tail(log, 40) == (b"0123456789", 10)
    assert read_head(log, 4) == (b"0123", 10)
    assert sha256_of(log) == hashlib.sha256(b"0123456789").hexdigest()
    with pytest.raises(OSError):
        read_tail(tmp_path / "absent.log", 4)


@pytest.mark.timeout(30)
def test_links_fifos_and_folders_are_refused_never_followed_nor_waited_on(tmp_path: Path) -> None:
    secret = tmp_path / "host-secret"
    secret.write_text("root:secret-hash\n")
    (tmp_path / "link.log").symlink_to(secret)
    os.mkfifo(tmp_path / "fifo.log")  # opening it to read would wait for a writer
    (tmp_path / "folder.log").mkdir()
    for name, why in [
        ("link.log", "a symbolic link, not followed"),
        ("fifo.log", "not a regular file"),
        ("folder.log", "not a regular file"),
    ]:
        for read in (read_head, read_tail):
            with pytest.raises(OSError) as refused:
                read(tmp_path / name, 100)
            assert refused.value.strerror == why


def test_a_whole_read_is_refused_past_its_limit_before_reading(tmp_path: Path) -> None:
    small = tmp_path / "small.json"
    small.write_bytes(b"{}")
    assert read_whole(small, 2) == b"{}"
    with pytest.raises(TooLarge) as refused:
        read_whole(small, 1)
    assert refused.value.size == 2 and refused.value.strerror == "2 bytes, over the 1 limit"
    os.mkfifo(tmp_path / "fifo.json")
    with pytest.raises(OSError, match="not a regular file"):
        read_whole(tmp_path / "fifo.json", 10)


def test_run_json_keeps_only_what_was_set_and_what_it_does_not_know() -> None:
    from normalized_events.runrecord import RunRecord

    merged = RunRecord(run_id="m", status="merged", merged_from=["a", "b"])
    assert merged.as_json() == {"run_id": "m", "status": "merged", "merged_from": ["a", "b"]}
    newer = RunRecord.model_validate({"run_id": "r", "status": "finished", "gpu": "none"})
    assert newer.as_json()["gpu"] == "none"
