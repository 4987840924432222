"""The pids cgroups of concurrent apiary processes never sweep each other's fresh groups."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sandbox_runner.pidlimit import pids_group

SWEEP_IN_ANOTHER_PROCESS = "from sandbox_runner.pidlimit import _base; print(_base())"


def test_a_fresh_empty_group_survives_another_process_starting() -> None:
    group = pids_group(100, "apiary-test-fresh-group")
    if group is None:
        pytest.skip("no writable pids cgroup here (not root, or no cgroup v1 pids controller)")
    try:
        # another worker (or apiary) starts: its first use of the cgroups sweeps leftovers
        subprocess.run([sys.executable, "-c", SWEEP_IN_ANOTHER_PROCESS], check=True)
        assert group.path.is_dir()  # still there for the command about to join it
    finally:
        group.remove()
