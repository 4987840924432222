"""`in_one_process` answers without splitting a command that cannot name xdist's flags."""

from __future__ import annotations

import itertools
import shlex

from hypothesis import given, settings
from hypothesis import strategies as st
from registry_core.xdist import in_one_process

PAIRS = {("-p", "no:xdist"), ("-n", "0"), ("--numprocesses", "0")}
TOKENS = {"-pno:xdist", "-n0", "--numprocesses=0"}
PIECES = ["-", "-n", "n", "0", "-p", " ", "no:", "xdist", "x", "=", "'", '"', "\\", "\n",
          "--numprocesses", "pytest", "\t"]  # fmt: skip


def split_answer(command: str) -> bool:
    """The answer from the command's words, every time."""
    try:
        tokens = shlex.split(command)
    except ValueError:
        return False
    return bool(TOKENS & set(tokens) or PAIRS & set(itertools.pairwise(tokens)))


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
def test_the_quick_answer_is_the_split_answer(command: str) -> None:
    assert in_one_process(command) == split_answer(command)


def test_quoted_and_escaped_flags_still_count() -> None:
    for command in ("pytest '-n' 0", 'pytest -"n"0', "pytest -\\n0", "pytest -p 'no:xd'ist"):
        assert in_one_process(command), command
    assert not in_one_process("python -m pytest tests -x")
