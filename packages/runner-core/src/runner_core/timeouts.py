"""The time limits of a package's tests, scaled for an interpreter that runs slower.

A debug or sanitizer build runs a suite several times slower than the release build the
registry's timeouts were measured on; unscaled, the hunt on such a build would stop
suites as timeouts that are only slow. `--timeout-scale` sets the factor (a loaded machine
may want one too); by default it comes from what the interpreter is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from normalized_events import InterpreterInfo

# (what makes a build slower, by how much, what to call it); the largest factor applies
_SLOWER: tuple[tuple[Callable[[InterpreterInfo], bool], float, str], ...] = (
    (lambda info: bool(info.debug_build), 4.0, "debug build"),
    (lambda info: bool(info.asan_build), 3.0, "AddressSanitizer build"),
)


@dataclass(frozen=True)
class Scale:
    factor: float
    why: str


def timeout_scale(info: InterpreterInfo, asked: float | None) -> Scale:
    """The factor for the tests' time limits: ``asked``, else the build's own."""
    if asked is not None:
        return Scale(asked, "--timeout-scale")
    found = [(factor, why) for slower, factor, why in _SLOWER if slower(info)]
    if not found:
        return Scale(1.0, "release build")
    factor, why = max(found)
    return Scale(factor, why)


@dataclass(frozen=True)
class SuiteLimits:
    timeout_s: float
    idle_timeout_s: float | None


def suite_limits(
    entry_timeout: int | None, run_timeout_s: float, idle_s: float | None, scale: Scale
) -> SuiteLimits:
    """The tests' wall-clock and idle limits: the entry's timeout (else the run's), scaled."""
    base = float(entry_timeout) if entry_timeout else run_timeout_s
    return SuiteLimits(
        timeout_s=base * scale.factor,
        idle_timeout_s=idle_s * scale.factor if idle_s is not None else None,
    )


def scale_line(scale: Scale) -> str | None:
    """The line a run prints when its tests' time limits are not the registry's."""
    if scale.factor == 1.0:
        return None
    return f"{scale.why}: the tests' time limits are multiplied by {scale.factor:g}"
