"""Which spinning frames stand on a long loop's back-edge, asked of real interpreters."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from normalized_events import InterpreterInfo, Outcome, Step
from runner_core.crash.backedge import long_backedges
from runner_core.crash.hang import ProcessStacks, hang_record
from runner_core.crash.record import CrashRecord, PythonFrame
from runner_core.evidence.gather import Evidence
from runner_core.outcomes import Verdict
from runner_core.steps import StepOutcome
from runner_core.suite import Attempt
from runner_core.triage import triage_hang
from runner_fixtures import pyenv_python

PAD = "\n".join(["        x = G"] * 50)
SOURCE = f"""G = 0


def long_loop(n):
    x = 0
    for i in range(n):
{PAD}
    return x


def short_loop(n):
    for i in range(n):
        pass
"""
# the last line of the long loop's body carries its back-edge
LONG_END = SOURCE.splitlines().index("    for i in range(n):") + 1 + 50
SHORT_LINE = SOURCE.splitlines().index("        pass") + 1


def _interpreters() -> list[Path]:
    found = [Path(sys.executable)]
    newer = pyenv_python("3.13")
    return [*found, newer] if newer is not None else found


@pytest.mark.parametrize("python", _interpreters(), ids=lambda p: p.name)
def test_only_a_loop_long_enough_for_extended_arg_is_named(tmp_path: Path, python: Path) -> None:
    module = tmp_path / "spin.py"
    module.write_text(SOURCE)
    frames = [
        PythonFrame(file=str(module), line=LONG_END, function="long_loop"),
        PythonFrame(file=str(module), line=SHORT_LINE, function="short_loop"),
        PythonFrame(file=str(tmp_path / "gone.py"), line=3, function="f"),
        PythonFrame(file=str(module), line=None, function="f"),
    ]
    assert long_backedges(python, frames) == [f"spin.py:{LONG_END}"]


def test_the_file_is_compiled_never_run(tmp_path: Path) -> None:
    module = tmp_path / "boom.py"
    marker = tmp_path / "ran"
    module.write_text(f"open({str(marker)!r}, 'w').close()\n" + SOURCE)
    frame = PythonFrame(file=str(module), line=LONG_END + 1, function="long_loop")
    assert long_backedges(Path(sys.executable), [frame]) == [f"boom.py:{LONG_END + 1}"]
    assert not marker.exists()


def test_what_the_output_names_is_never_blocked_on_nor_read_past_a_module_size(
    tmp_path: Path,
) -> None:
    """The frames' paths come from the suite's own output: a FIFO, a device or a huge
    file is passed over, and the real frame beside them still answers."""

    module = tmp_path / "spin.py"
    module.write_text(SOURCE)
    fifo = tmp_path / "fifo.py"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.py"
    huge.write_text(SOURCE + "#" * (9 * 1024**2))
    frames = [
        PythonFrame(file=str(fifo), line=LONG_END, function="long_loop"),
        PythonFrame(file="/dev/zero", line=LONG_END, function="long_loop"),
        PythonFrame(file=str(huge), line=LONG_END, function="long_loop"),
        PythonFrame(file=str(tmp_path), line=LONG_END, function="long_loop"),
        PythonFrame(file=str(module), line=LONG_END, function="long_loop"),
    ]
    assert long_backedges(Path(sys.executable), frames) == [f"spin.py:{LONG_END}"]


def test_a_file_that_does_not_compile_leaves_the_others_answered(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def (:\n")
    module = tmp_path / "spin.py"
    module.write_text(SOURCE)
    frames = [
        PythonFrame(file=str(broken), line=1, function="f"),
        PythonFrame(file=str(module), line=LONG_END, function="long_loop"),
    ]
    assert long_backedges(Path(sys.executable), frames, "require") == [f"spin.py:{LONG_END}"]


def test_a_hang_that_did_not_recur_still_names_the_back_edge_it_spun_on(tmp_path: Path) -> None:
    """isort's hang on the JIT build did not come back on its rerun: the livelock needs a
    collection due at one exact count. jit_only stays unknown; the reason names the site."""
    module = tmp_path / "settings.py"
    module.write_text(SOURCE)
    dump = (
        "Current thread 0x00007f0000000001 (most recent call first):\n"
        f'  File "{module}", line {LONG_END} in long_loop\n'
        '  File "/src/tests/test_settings.py", line 5 in test_it\n'
    )
    hang = hang_record([ProcessStacks(3, dump, threads=1, running_threads=1)])
    assert hang is not None
    first = _attempt(tmp_path, Verdict(outcome=Outcome.HANG, reason="hung"), hang)
    asked: list[tuple[Step, Mapping[str, str]]] = []

    def rerun(step: Step, command: str, changes: Mapping[str, str]) -> Attempt:
        asked.append((step, changes))
        return _attempt(tmp_path, Verdict(outcome=Outcome.PASS, reason="12 passed"), None)

    interpreter = InterpreterInfo(path=sys.executable, version="3.13.5", jit_available=True)
    found = triage_hang(first, rerun, suite_command="pytest", interpreter=interpreter, env={})
    assert asked == [(Step.RERUN, {})]  # no run without the JIT: nothing to compare
    assert found.reproducible is False and found.jit.only is None
    assert found.jit.reason.startswith("the rerun with the JIT on: pass (12 passed); spinning")
    assert f"JUMP_BACKWARD at settings.py:{LONG_END}" in found.jit.reason
    assert found.jit.reason.endswith("re-optimization livelock (gh-126127)")


def _attempt(folder: Path, verdict: Verdict, hang: CrashRecord | None) -> Attempt:
    step = StepOutcome(Step.TEST, verdict.outcome is Outcome.PASS, 1.0, folder / "test.log")
    return Attempt("pytest", verdict, "", Evidence(), step, hang)
