"""Event logs as a copied, cut or hostile run directory leaves them."""

from __future__ import annotations

from pathlib import Path

from normalized_events import (
    EventWriter,
    HostInfo,
    InterpreterInfo,
    Outcome,
    PackageFinished,
    PackageStarted,
    RegistryInfo,
    RunStarted,
    read_events,
    torn_path,
)


def _started() -> RunStarted:
    return RunStarted(
        run_id="r1",
        apiary_version="0.1.0",
        interpreter=InterpreterInfo(path="/usr/bin/python3", version="3.13.0"),
        host=HostInfo(hostname="h", platform="linux", cpu_count=2),
        registry=RegistryInfo(path="registry"),
    )


def test_a_finished_line_without_its_newline_is_not_done_and_never_lost(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path, run_id="r1") as log:
        log.emit(_started())
        finished = log.emit(PackageFinished(run_id="r1", package="a", outcome=Outcome.PASS))
    torn = finished.model_dump_json().encode()
    path.write_bytes(path.read_bytes()[:-1])  # the final newline never made it to disk
    result = read_events(path)
    assert result.torn_tail and result.problems == []
    assert [e.type for e in result.events] == ["run_started"]
    with EventWriter(path, run_id="r1") as log:
        log.emit(PackageStarted(run_id="r1", package="a"))
    assert torn_path(path).read_bytes() == torn + b"\n"
    again = read_events(path)
    assert not again.torn_tail and [e.type for e in again.events] == [
        "run_started",
        "package_started",
    ]


def test_deeply_nested_lines_are_problems_not_crashes(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path, run_id="r1") as log:
        log.emit(_started())
    deep = b'{"type":"package_finished","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    unknown = b'{"type":"cosmic","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    with path.open("ab") as handle:
        handle.write(deep + unknown + b"[" * 100_000 + b"\n")
    result = read_events(path)
    assert [p.line for p in result.problems] == [2, 3, 4]
    assert all("nested too deeply" in p.message for p in result.problems)
    with EventWriter(path, run_id="r1") as log:  # the writer reads the last seq past them
        assert log.emit(PackageStarted(run_id="r1", package="a")).seq == 1
