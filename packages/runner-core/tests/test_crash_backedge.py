"""Which spinning frames stand on a long loop's back-edge, asked of real interpreters."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from runner_core.crash.backedge import long_backedges
from runner_core.crash.record import PythonFrame
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
