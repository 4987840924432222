"""Crash forensics: a crashed process's output and status as a typed record, signed and bucketed.

`parse_crash(output, exit_code=..., signal=...)` gives a `CrashRecord` (None when nothing
crashed); `signature(record)` the key of its crash site and `bucket(record)` a short hash
of that key.
"""

from normalized_events import CrashKind

from runner_core.crash.parse import parse_crash, scan_output
from runner_core.crash.record import CFrame, CrashRecord, PythonFrame, ThreadStack
from runner_core.crash.signals import describe_signal, signal_name, status_signal
from runner_core.crash.signature import (
    bucket,
    crash_info,
    describe,
    is_harness_frame,
    normalise,
    signature,
    top_frames,
)

__all__ = [
    "CFrame",
    "CrashKind",
    "CrashRecord",
    "PythonFrame",
    "ThreadStack",
    "bucket",
    "crash_info",
    "describe",
    "describe_signal",
    "is_harness_frame",
    "normalise",
    "parse_crash",
    "scan_output",
    "signal_name",
    "signature",
    "status_signal",
    "top_frames",
]
