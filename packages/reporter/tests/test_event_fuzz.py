"""Generated hostile event lines: both readers give problems, never a traceback, within a
memory budget, and a good result among them is still read."""

from __future__ import annotations

import json
import shutil
import tempfile
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from normalized_events import read_events
from reporter.model.load import load_run

FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MEMORY_BUDGET = 64 << 20
GOOD = {
    "type": "package_finished",
    "run_id": "r1",
    "seq": 1,
    "ts": "2026-01-01T00:00:00Z",
    "package": "good",
    "outcome": "pass",
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
types = st.sampled_from(
    ["package_finished", "package_started", "step_finished", "run_started", "run_finished", "x"]
)
lines = st.one_of(
    st.builds(
        lambda t, extra: json.dumps({"type": t, **extra}),
        types,
        st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    ),
    st.builds(
        lambda t, n: f'{{"type":"{t}","x":{"[" * n + "]" * n}}}', types, st.integers(1, 200_000)
    ),
    st.integers(1, 200_000).map(lambda n: "{" * n),
    st.integers(1, 6_000).map(lambda n: '{"type":"package_finished","seq":1' + "0" * n + "}"),
    json_values.map(json.dumps),
    st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
)


@FUZZ
@given(
    before=st.lists(lines, max_size=5),
    after=st.lists(lines, max_size=5),
    tail=st.sampled_from(["", "\n"]),
)
def test_hostile_lines_never_hide_a_good_result(
    before: list[str], after: list[str], tail: str
) -> None:
    root = Path(tempfile.mkdtemp(prefix="events-fuzz-"))
    try:
        body = "\n".join([*before, json.dumps(GOOD), *after]).replace("\r", "")
        text = body + tail if after else body + "\n"
        (root / "events.jsonl").write_bytes(text.encode("utf-8", "surrogatepass"))
        tracemalloc.start()
        try:
            result = read_events(root / "events.jsonl")
            loaded = load_run(root)
            loaded.package_events()
            loaded.validate()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert any(getattr(e, "package", None) == "good" for e in result.events)
        assert ("good", "default") in loaded.results
        assert peak < MEMORY_BUDGET, peak
    finally:
        shutil.rmtree(root)
