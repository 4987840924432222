"""Reading an event log narrowly: types told without decoding, chosen types, chosen fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from normalized_events import (
    CrashInfo,
    EventWriter,
    Outcome,
    PackageFinished,
    PackageStarted,
    RaceInfo,
    line_type,
    lines_of,
    log_lines,
    narrow_model,
    read_events,
    torn_line,
    validated,
)
from pydantic import ValidationError

_FINISHED = PackageFinished(run_id="r", package="p", outcome=Outcome.PASS)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (_FINISHED.model_dump_json().encode(), "package_finished"),
        # Any key order and spacing (json.dumps puts a space after each colon).
        (b'{"run_id": "r", "seq": 3, "type": "step_finished"}', "step_finished"),
        (b'{"seq":3,"type"  :\t"package_started","run_id":"r"}', "package_started"),
        # A nested object with its own "type" key, before or after the event's.
        (b'{"env": {"type": "step_finished"}, "type": "run_started"}', "run_started"),
        (b'{"type": "run_started", "env": {"type": "step_finished"}}', "run_started"),
        # A string value that ends in "type" (its quote escaped) and names another type.
        (
            b'{"reason": "bad \\"type", "x": "step_finished", "type": "run_finished"}',
            "run_finished",
        ),
        (b'{"reason": "no key named \\"type", "x": "step_finished"}', None),
        (b'{"type": "run_\\u0066inished"}', "run_finished"),  # an escape in the value
        (b'{"type": "bisect_step"}', "bisect_step"),
        (b'{"type": "from_the_future"}', "from_the_future"),
        (b'{"type": 3}', None),
        (b'{"kind": "package_finished"}', None),
        (b'["type", "package_finished"]', None),
        (b'{"type": "package_fin', None),  # cut mid-line
        (b"not json at all", None),
        (b"", None),
    ],
)
def test_line_type(raw: bytes, expected: str | None) -> None:
    assert line_type(raw) == expected


def test_log_lines_set_a_torn_last_line_apart() -> None:
    assert log_lines(b"a\nb\n") == ([b"a", b"b"], None)
    assert log_lines(b"a\nb") == ([b"a"], b"b")
    assert log_lines(b"") == ([], None)
    assert torn_line(b"a\n{") == b"{"
    assert torn_line(b"a\n") is None


def _write(path: Path) -> list[str]:
    """A log of mixed types, hand-written lines among them; returns each line's type."""
    with EventWriter(path, run_id="r") as log:
        log.emit(PackageStarted(run_id="r", package="a"))
        log.emit(PackageFinished(run_id="r", package="a", outcome=Outcome.FAIL))
    with path.open("a") as handle:
        # Mentions package_finished without being one; then one with its keys reordered.
        handle.write(json.dumps({"type": "package_started", "package": "package_finished"}))
        handle.write("\n\n")
        finished = {"outcome": "pass", "package": "b", "type": "package_finished"}
        handle.write(json.dumps({**finished, "run_id": "r", "ts": "2025-01-01T00:00:00Z"}))
        handle.write("\n")
        handle.write('{"type": "package_finished", "package": "c"')  # torn
    return ["package_started", "package_finished", "package_started", "", "package_finished"]


def test_lines_of_picks_the_chosen_types_with_their_numbers(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    types = _write(path)
    picked = lines_of(path.read_bytes(), ("package_finished",))
    assert [number for number, _ in picked] == [
        n for n, kind in enumerate(types, start=1) if kind == "package_finished"
    ]
    both = lines_of(path.read_bytes(), ("package_finished", "package_started"))
    assert [number for number, _ in both] == [1, 2, 3, 5]
    unnumbered = lines_of(
        path.read_bytes(), ("package_finished", "package_started"), numbered=False
    )
    assert unnumbered == [(0, line) for _, line in both]


def test_read_events_of_chosen_types_only(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    _write(path)
    everything = read_events(path)
    finished = read_events(path, types=("package_finished",))
    assert finished.torn_tail and everything.torn_tail
    assert [e.package for e in finished.known() if isinstance(e, PackageFinished)] == ["a", "b"]
    assert finished.known() == [e for e in everything.known() if isinstance(e, PackageFinished)]
    # The package_started line without a run_id is a problem only when it is read.
    assert [p.line for p in everything.problems] == [3]
    assert finished.problems == []


def test_a_narrow_model_keeps_the_contract_types_of_its_fields() -> None:
    narrow = narrow_model(
        PackageFinished, ("package", "outcome", "crash.bucket", "races.signature")
    )
    assert set(narrow.model_fields) == {"package", "outcome", "crash", "races"}
    event = PackageFinished(
        run_id="r",
        package="p",
        outcome=Outcome.CRASH,
        crash=CrashInfo(kind="segfault", bucket="b1", frames=["f"] * 50),
        races=[RaceInfo(kind="data race", signature="s1", bucket="r1")],
    )
    read = narrow.model_validate_json(event.model_dump_json())
    assert read.model_dump() == {
        "package": "p",
        "outcome": Outcome.CRASH,
        "crash": {"bucket": "b1"},
        "races": [{"signature": "s1"}],
    }
    with pytest.raises(ValidationError, match="outcome"):
        narrow.model_validate_json(b'{"package": "p", "outcome": "exploded"}')
    with pytest.raises(ValidationError, match="package"):
        narrow.model_validate_json(b'{"outcome": "pass"}')  # required there, required here


def test_a_narrow_model_names_a_field_the_contract_lacks() -> None:
    with pytest.raises(ValueError, match="PackageFinished has no field 'outcomes'"):
        narrow_model(PackageFinished, ("outcomes",))
    with pytest.raises(ValueError, match=r"PackageFinished.package does not hold"):
        narrow_model(PackageFinished, ("package.name",))


def test_validated_leaves_out_lines_that_are_not_the_model() -> None:
    lines = [(1, _FINISHED.model_dump_json().encode()), (2, b'{"type": "x"}'), (3, b"{")]
    assert validated(PackageFinished, lines) == [_FINISHED]
