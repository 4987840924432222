"""The typed event contract every apiary run writes as JSONL and every report reads."""

from importlib.metadata import version

from normalized_events.jsonl import (
    EventLogError,
    EventWriter,
    LineProblem,
    ReadResult,
    iter_events,
    parse_event,
    read_events,
)
from normalized_events.models import (
    DEFAULT_CONDITION,
    SCHEMA_VERSION,
    AnyEvent,
    Condition,
    CrashInfo,
    Event,
    EventBase,
    HostInfo,
    InterpreterInfo,
    IsolatedStatus,
    Outcome,
    PackageFinished,
    PackageStarted,
    RegistryInfo,
    RunFinished,
    RunOptions,
    RunStarted,
    Step,
    StepFinished,
    UnknownEvent,
)

__version__ = version("normalized-events")

__all__ = [
    "DEFAULT_CONDITION",
    "SCHEMA_VERSION",
    "AnyEvent",
    "Condition",
    "CrashInfo",
    "Event",
    "EventBase",
    "EventLogError",
    "EventWriter",
    "HostInfo",
    "InterpreterInfo",
    "IsolatedStatus",
    "LineProblem",
    "Outcome",
    "PackageFinished",
    "PackageStarted",
    "ReadResult",
    "RegistryInfo",
    "RunFinished",
    "RunOptions",
    "RunStarted",
    "Step",
    "StepFinished",
    "UnknownEvent",
    "__version__",
    "iter_events",
    "parse_event",
    "read_events",
]
