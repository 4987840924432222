from __future__ import annotations

import json
import multiprocessing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from normalized_events import (
    BisectFinished,
    BisectStarted,
    BisectStep,
    CrashInfo,
    CrashKind,
    EventLogError,
    EventWriter,
    HostInfo,
    InterpreterInfo,
    Outcome,
    PackageFinished,
    PackageStarted,
    RegistryInfo,
    RunFinished,
    RunStarted,
    Step,
    StepFinished,
    UnknownEvent,
    read_events,
)
from normalized_events.schema import render
from pydantic import ValidationError

REPO = Path(__file__).resolve().parents[3]


def run_started(run_id: str = "r1") -> RunStarted:
    return RunStarted(
        run_id=run_id,
        apiary_version="0.1.0",
        interpreter=InterpreterInfo(path="/usr/bin/python3", version="3.13.0"),
        host=HostInfo(hostname="h", platform="linux", cpu_count=2),
        registry=RegistryInfo(path="registry"),
    )


def test_outcome_set_is_closed_and_complete() -> None:
    assert {o.value for o in Outcome} == {
        "pass",
        "fail",
        "crash",
        "timeout",
        "hang",
        "oom",
        "install_error",
        "import_error",
        "source_error",
        "config_error",
        "skipped",
        "error",
    }
    with pytest.raises(ValidationError):
        PackageFinished(run_id="r", package="p", outcome="exploded")  # type: ignore[arg-type]


def test_timestamps_are_utc_and_must_be_aware() -> None:
    cet = timezone(timedelta(hours=1))
    event = PackageStarted(run_id="r", package="p", ts=datetime(2026, 1, 1, 12, tzinfo=cet))
    assert event.ts.utcoffset() == timedelta(0)
    assert event.ts.hour == 11
    with pytest.raises(ValidationError):
        PackageStarted(run_id="r", package="p", ts=datetime(2026, 1, 1))


def test_writer_assigns_seq_and_reader_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path, run_id="r1") as log:
        log.emit(run_started())
        log.emit(PackageStarted(run_id="r1", package="six", source_kind="sdist"))
        log.emit(
            StepFinished(
                run_id="r1",
                package="six",
                step=Step.TEST,
                exit_code=-11,
                signal=11,
                last_lines=["Fatal Python error: Segmentation fault"],
            )
        )
        log.emit(
            PackageFinished(
                run_id="r1",
                package="six",
                outcome=Outcome.CRASH,
                crash=CrashInfo(kind="segfault", signal=11, signature="s", bucket="b"),
            )
        )
        log.emit(RunFinished(run_id="r1", wall_s=1.5, counts={Outcome.CRASH: 1}))
    result = read_events(path)
    assert result.problems == [] and not result.torn_tail
    assert [e.seq for e in result.events] == [0, 1, 2, 3, 4]
    assert [e.type for e in result.events] == [
        "run_started",
        "package_started",
        "step_finished",
        "package_finished",
        "run_finished",
    ]
    finished = result.events[3]
    assert isinstance(finished, PackageFinished) and finished.crash is not None
    assert finished.crash.kind == "segfault"


def test_seq_continues_when_a_run_is_resumed(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path, run_id="r1") as log:
        log.emit(run_started())
    with EventWriter(path, run_id="r1") as log:
        assert log.emit(PackageStarted(run_id="r1", package="a")).seq == 1


def test_torn_last_line_is_reported_and_dropped_before_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path, run_id="r1") as log:
        log.emit(run_started())
    with path.open("ab") as handle:
        handle.write(b'{"type": "package_started", "run_id": "r1", "pack')
    result = read_events(path)
    assert result.torn_tail and result.problems == [] and len(result.events) == 1
    with EventWriter(path, run_id="r1") as log:
        log.emit(PackageStarted(run_id="r1", package="a"))
    result = read_events(path)
    assert not result.torn_tail and [e.seq for e in result.events] == [0, 1]


def test_corrupt_line_is_reported_by_number_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    good = run_started().model_dump_json()
    bad_type = json.dumps(
        {"type": "package_finished", "run_id": "r", "package": "p", "outcome": "exploded"}
    )
    path.write_text(f"{good}\nnot json at all\n[1, 2]\n{bad_type}\n{good}\n")
    result = read_events(path)
    assert len(result.events) == 2
    assert [p.line for p in result.problems] == [2, 3, 4]
    assert "outcome" in result.problems[2].message


def test_unknown_future_event_types_and_fields_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    future = {"type": "hunt_paused", "run_id": "r", "seq": 7, "commit": "abc"}
    extra = json.loads(PackageStarted(run_id="r", package="p").model_dump_json())
    extra["new_field"] = {"x": 1}
    path.write_text(json.dumps(future) + "\n" + json.dumps(extra) + "\n")
    result = read_events(path)
    assert result.problems == []
    unknown, started = result.events
    assert isinstance(unknown, UnknownEvent) and unknown.raw["commit"] == "abc"
    assert unknown.seq == 7
    assert isinstance(started, PackageStarted)
    assert started.model_dump()["new_field"] == {"x": 1}


def _append_many(path: str, worker: int, count: int) -> None:
    with EventWriter(path, run_id="r1") as log:
        for index in range(count):
            log.emit(
                PackageFinished(
                    run_id="r1",
                    package=f"w{worker}-{index}",
                    outcome=Outcome.PASS,
                    reason="x" * 300,
                )
            )


def test_several_processes_append_to_one_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_append_many, args=(str(path), w, 40)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
        assert process.exitcode == 0
    result = read_events(path)
    assert result.problems == [] and not result.torn_tail
    seqs = [e.seq for e in result.events]
    assert seqs == list(range(160))
    assert len({e.package for e in result.known() if isinstance(e, PackageFinished)}) == 160


def test_missing_directory_is_created_and_unusable_path_is_one_clear_error(
    tmp_path: Path,
) -> None:
    EventWriter(tmp_path / "a" / "b" / "events.jsonl", run_id="r").close()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(EventLogError, match=r"a-file/events.jsonl: cannot open event log"):
        EventWriter(blocker / "events.jsonl", run_id="r")


def test_published_json_schema_matches_the_models() -> None:
    published = REPO / "docs" / "reference" / "events.schema.json"
    assert published.read_text() == render(), (
        "docs/reference/events.schema.json is stale: "
        "run `python -m normalized_events.schema docs/reference/events.schema.json`"
    )
    schema = json.loads(published.read_text())
    mapping = schema["discriminator"]["mapping"]
    assert set(mapping) == {
        "run_started",
        "package_started",
        "step_finished",
        "package_finished",
        "run_finished",
        "bisect_started",
        "bisect_step",
        "bisect_finished",
    }


@pytest.mark.parametrize(
    ("outcome", "families"),
    [
        (Outcome.PASS, {"tested", "verified"}),
        (Outcome.FAIL, {"tested", "verified"}),
        (Outcome.CRASH, set()),
        (Outcome.TIMEOUT, {"spurious"}),
        (Outcome.HANG, {"spurious"}),
        (Outcome.OOM, {"spurious"}),
        (Outcome.INSTALL_ERROR, {"untestable", "fixable"}),
        (Outcome.IMPORT_ERROR, {"untestable", "fixable"}),
        (Outcome.CONFIG_ERROR, {"untestable", "fixable"}),
        (Outcome.SOURCE_ERROR, {"untestable"}),
        (Outcome.ERROR, {"untestable"}),
        (Outcome.SKIPPED, set()),
    ],
)
def test_outcome_families_are_facts_of_the_outcome(outcome: Outcome, families: set[str]) -> None:
    names = ("tested", "untestable", "spurious", "verified", "fixable")
    assert {name for name in names if getattr(outcome, name)} == families


def test_a_crash_kind_this_version_does_not_know_is_kept_as_text() -> None:
    assert CrashInfo.model_validate_json('{"kind": "segfault"}').kind is CrashKind.SEGFAULT
    assert CrashInfo.model_validate_json('{"kind": "from_the_future"}').kind == "from_the_future"


def test_bisect_events_round_trip_and_refuse_an_unknown_verdict(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path, run_id="b") as log:
        log.emit(
            BisectStarted(
                run_id="b",
                target="package",
                package="p",
                repository="/r",
                good="a",
                bad="c",
                commits=2,
            )
        )
        log.emit(BisectStep(run_id="b", commit="c", verdict="bad", tries=2, bucket="0123"))
        log.emit(BisectFinished(run_id="b", first_bad="c", candidates=["c"], steps=1))
    started, step, finished = read_events(path).known()
    assert isinstance(started, BisectStarted) and started.tries == 1
    assert isinstance(step, BisectStep) and (step.verdict, step.tries) == ("bad", 2)
    assert isinstance(finished, BisectFinished) and finished.first_bad == "c"
    line = json.loads(path.read_text().splitlines()[1])
    line["verdict"] = "maybe"
    path.write_text(json.dumps(line) + "\n")
    (problem,) = read_events(path).problems
    assert "verdict" in problem.message
