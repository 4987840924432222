"""Address-space randomisation off for a command, as ThreadSanitizer wants it.

TSan maps its shadow memory at fixed addresses; with ASLR on, a 6.x kernel's wider
mmap randomisation can land the program there and TSan dies at start-up
("FATAL: ThreadSanitizer: unexpected memory mapping"). `setarch <arch> -R` runs a
command with ADDR_NO_RANDOMIZE; whether the machine allows it (the personality call may
be refused in a container) is probed once.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from functools import cache

from runner_core.commands import CommandStep


def _prefix() -> tuple[str, ...]:
    return ("setarch", platform.machine(), "-R")


@cache
def aslr_can_be_disabled() -> bool:
    """Whether `setarch -R` exists and works here."""
    if shutil.which("setarch") is None:
        return False
    try:
        done = subprocess.run([*_prefix(), "true"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def without_aslr(steps: Sequence[CommandStep]) -> list[CommandStep]:
    """The same steps, each run under `setarch <arch> -R`."""
    wrapped = []
    for step in steps:
        if step.shell is not None:
            wrapped.append(
                replace(step, argv=(*_prefix(), "/bin/sh", "-c", step.shell), shell=None)
            )
        else:
            wrapped.append(replace(step, argv=(*_prefix(), *step.argv)))
    return wrapped
