"""Whether a test command keeps pytest-xdist from spreading a suite over workers.

A crash is only seen when the suite runs in the interpreter under test, in one process:
`-p no:xdist` unloads the plugin, `-n 0` keeps it loaded (its markers stay known) with no
workers. Both the registry's checks and the runner ask this one question here.
"""

from __future__ import annotations

import itertools
import shlex

_ONE_PROCESS_PAIRS = {("-p", "no:xdist"), ("-n", "0"), ("--numprocesses", "0")}
_ONE_PROCESS_TOKENS = {"-pno:xdist", "-n0", "--numprocesses=0"}
_QUOTING = str.maketrans("", "", "\"'\\\n")


def in_one_process(command: str) -> bool:
    """True when ``command`` runs pytest without xdist workers."""
    bare = command.translate(_QUOTING)
    if "-n" not in bare and "xdist" not in bare:
        return False  # no token can hold them: splitting drops only quotes and escapes
    try:
        tokens = shlex.split(command)
    except ValueError:
        return False
    if _ONE_PROCESS_TOKENS & set(tokens):
        return True
    return bool(_ONE_PROCESS_PAIRS & set(itertools.pairwise(tokens)))
