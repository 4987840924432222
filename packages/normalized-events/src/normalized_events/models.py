"""The events of an apiary run, one pydantic model per event type.

Every model accepts and keeps fields it does not know (``extra="allow"``), so a reader of
an older version loses nothing written by a newer one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = 1

DEFAULT_CONDITION = "default"


class Outcome(StrEnum):
    """The closed set of package outcomes."""

    PASS = "pass"  # noqa: S105
    FAIL = "fail"
    CRASH = "crash"
    TIMEOUT = "timeout"
    HANG = "hang"
    OOM = "oom"
    INSTALL_ERROR = "install_error"
    IMPORT_ERROR = "import_error"
    SOURCE_ERROR = "source_error"
    CONFIG_ERROR = "config_error"
    SKIPPED = "skipped"
    ERROR = "error"

    @property
    def tested(self) -> bool:
        """The test suite ran to a verdict: pass, or fail with tests that ran and failed."""
        return self in _TESTED

    @property
    def untestable(self) -> bool:
        """The tests never ran: no source, no install, no import, no start, or apiary's
        own error."""
        return self in _UNTESTABLE

    @property
    def spurious(self) -> bool:
        """Stopped by a limit (time, silence, memory): says little about the interpreter."""
        return self in _SPURIOUS

    @property
    def verified(self) -> bool:
        """An entry whose run ends so has working commands (what ``enrich verify`` wants)."""
        return self.tested

    @property
    def fixable(self) -> bool:
        """A configuration problem an entry's commands can fix (``enrich verify`` tries)."""
        return self in _FIXABLE


_TESTED = frozenset({Outcome.PASS, Outcome.FAIL})
_SPURIOUS = frozenset({Outcome.TIMEOUT, Outcome.HANG, Outcome.OOM})
_FIXABLE = frozenset({Outcome.CONFIG_ERROR, Outcome.IMPORT_ERROR, Outcome.INSTALL_ERROR})
_UNTESTABLE = _FIXABLE | {Outcome.SOURCE_ERROR, Outcome.ERROR}


class CrashKind(StrEnum):
    """How the process died, most specific evidence first."""

    SEGFAULT = "segfault"
    ABORT = "abort"
    BUS_ERROR = "bus_error"
    FPE = "fpe"
    ILLEGAL_INSTRUCTION = "illegal_instruction"
    FATAL_ERROR = "fatal_error"  # Py_FatalError: "Fatal Python error: <func>: <message>"
    C_ASSERTION = "c_assertion"  # assert() in C: "file.c:12: func: Assertion `x' failed."
    ASAN = "asan"  # an AddressSanitizer report; see the crash record's asan_error
    KILLED_BY_SIGNAL = "killed_by_signal"  # any other signal (SIGKILL, SIGTERM, ...)
    # Not deaths: a suite apiary stopped at a timeout, read from the stacks it gave first.
    DEADLOCK = "deadlock"  # every thread of every process was waiting
    BUSY_HANG = "busy_hang"  # some thread was still running (a loop that never ends)
    TSAN = "tsan"  # a ThreadSanitizer report (a data race, a lock-order inversion, ...)

    @property
    def is_stop(self) -> bool:
        """A record of a suite stopped by apiary, not of a process that died."""
        return self in (CrashKind.DEADLOCK, CrashKind.BUSY_HANG)


class Step(StrEnum):
    """The steps of one package's pipeline."""

    SOURCE = "source"
    VENV = "venv"
    INSTALL = "install"
    IMPORT_CHECK = "import_check"
    TEST = "test"
    RERUN = "rerun"
    ISOLATE = "isolate"  # the one test a crash killed, run alone
    JIT_OFF = "jit_off"  # the crash's reproducer again with PYTHON_JIT=0
    GIL_ON = "gil_on"  # the crash's reproducer again with PYTHON_GIL=1


def utc_now() -> datetime:
    return datetime.now(UTC)


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class InterpreterInfo(Model):
    """What the target interpreter is, as read from the interpreter itself."""

    path: str
    version: str
    implementation: str = "cpython"
    jit_available: bool | None = None
    jit_enabled: bool | None = None
    free_threaded: bool = False
    debug_build: bool = False
    asan_build: bool = False
    configure_flags: str = ""
    identity: str | None = Field(
        default=None,
        description="Changes when the interpreter is rebuilt, even at the same path and version "
        "(a hash of its path, full version string, build flags, binary size and mtime).",
    )
    build_name: str | None = Field(
        default=None,
        description="For an interpreter `apiary python build` made: its name (3.13.5-jit).",
    )
    build_key: str | None = Field(
        default=None, description="That build's key: source identity, flags and compilers."
    )
    build_source: str | None = Field(
        default=None,
        description="What it was built from: a tarball's sha256, a commit, a folder's digest.",
    )


class HostInfo(Model):
    hostname: str
    platform: str
    cpu_count: int | None = None


class RegistryInfo(Model):
    path: str
    revision: str | None = None
    content_hash: str | None = None


class Condition(Model):
    """One configuration a package is tested under (an interpreter plus environment)."""

    name: str = DEFAULT_CONDITION
    python: str | None = None
    env: dict[str, str] = Field(default_factory=dict)


class RunOptions(Model):
    workers: int = 1
    timeout_s: float | None = None
    idle_timeout_s: float | None = None
    shard: str | None = None
    conditions: list[Condition] = Field(default_factory=list)
    sandbox_backend: str = "auto"
    sandbox_used: str | None = Field(
        default=None, description="The backend commands got: bwrap, or none (no isolation)."
    )
    sandbox_warning: str | None = Field(
        default=None, description="Set when isolation was asked for (auto) and is missing."
    )
    network_policy: str = "off"
    installer: str = "auto"


IsolatedStatus = Literal["reproduces", "does-not-reproduce", "not-tried"]


class CrashInfo(Model):
    # A kind a newer apiary adds is kept as its text, so older readers lose nothing.
    kind: CrashKind | str = Field(
        union_mode="left_to_right", description="How the process died (a CrashKind value)."
    )
    signal: int | None = None
    headline: str = ""
    frames: list[str] = Field(default_factory=list)
    signature: str = ""
    bucket: str = ""
    reproducible: bool | None = None
    stderr_path: str | None = Field(
        default=None, description="Full stderr of the crash, relative to the run directory."
    )
    record_path: str | None = Field(
        default=None, description="The parsed crash record (JSON), relative to the run directory."
    )
    reproducer_path: str | None = Field(
        default=None, description="A script that reproduces the crash, relative to the run dir."
    )
    test_id: str | None = Field(
        default=None,
        description="The test running when the process died: a pytest node id or a "
        "unittest id; None for a plain script or a crash outside any test.",
    )
    isolated: IsolatedStatus | None = Field(
        default=None,
        description="Whether running just that test crashes the same way: "
        "reproduces, does-not-reproduce, or not-tried (isolated_reason says why).",
    )
    isolated_reason: str | None = None
    isolated_command: str | None = Field(
        default=None, description="The command that runs just that test."
    )
    jit_only: bool | None = Field(
        default=None,
        description="True when the reproducer no longer crashes with PYTHON_JIT=0, False "
        "when it still does, None when unknown (jit_only_reason says why).",
    )
    jit_only_reason: str | None = None
    gil_off_only: bool | None = Field(
        default=None,
        description="On a free-threaded build: True when the reproducer no longer crashes "
        "with PYTHON_GIL=1, False when it still does, None when unknown.",
    )
    gil_off_only_reason: str | None = None


class RaceInfo(Model):
    """One ThreadSanitizer bucket of a package: what, where, how often."""

    kind: str = Field(description="TSan's name for it: data race, lock-order-inversion, ...")
    signature: str
    bucket: str
    count: int = 1
    frames: list[str] = Field(
        default_factory=list, description="The top frame of each access's stack."
    )
    modules: list[str] = Field(
        default_factory=list, description="The shared objects the accesses are in."
    )
    log_path: str | None = Field(
        default=None, description="A report of this bucket, relative to the run directory."
    )


class EventBase(Model):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    seq: int = Field(default=0, ge=0, description="Assigned by the writer; monotonic in a run.")
    ts: AwareDatetime = Field(default_factory=utc_now)

    @field_validator("ts")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)


class RunStarted(EventBase):
    type: Literal["run_started"] = "run_started"
    apiary_version: str
    interpreter: InterpreterInfo
    host: HostInfo
    registry: RegistryInfo
    options: RunOptions = Field(default_factory=RunOptions)
    selected: list[str] = Field(
        default_factory=list,
        description="Packages this run (or shard) set out to test; a merge reports gaps by it.",
    )
    resumed: bool = Field(default=False, description="True when this continues a run.")


class PackageStarted(EventBase):
    type: Literal["package_started"] = "package_started"
    package: str
    condition: str = DEFAULT_CONDITION
    source_kind: str | None = None
    source_ref: str | None = None


class StepFinished(EventBase):
    type: Literal["step_finished"] = "step_finished"
    package: str
    condition: str = DEFAULT_CONDITION
    step: Step
    command: str = ""
    exit_code: int | None = None
    signal: int | None = None
    duration_s: float = 0.0
    cpu_s: float | None = None
    peak_rss_bytes: int | None = None
    timed_out: bool = False
    idle_timed_out: bool = False
    log_path: str | None = None
    last_lines: list[str] = Field(default_factory=list)


class PackageFinished(EventBase):
    type: Literal["package_finished"] = "package_finished"
    package: str
    condition: str = DEFAULT_CONDITION
    outcome: Outcome
    reason: str | None = None
    crash: CrashInfo | None = None
    package_version: str | None = None
    source_revision: str | None = None
    installed: dict[str, str] = Field(
        default_factory=dict, description="Installed distributions, name -> version."
    )
    durations: dict[str, float] = Field(default_factory=dict, description="Seconds per step name.")
    duration_s: float = 0.0
    installer: str | None = Field(
        default=None,
        description="What installed the venv: uv, pip, or 'pip (uv failed)'; None when reused.",
    )
    gil: str | None = Field(
        default=None,
        description="On a free-threaded interpreter, how the tests ran: off (the build's "
        "default), forced-off (PYTHON_GIL=0) or on (PYTHON_GIL=1); None with a GIL build.",
    )
    gil_enabled_by: list[str] = Field(
        default_factory=list,
        description="Modules whose import re-enabled the GIL (they lack Py_mod_gil), from "
        "the import check's and the tests' RuntimeWarnings.",
    )
    iterations: int = Field(default=1, description="How many times the test suite ran.")
    iteration_outcomes: list[Outcome] = Field(
        default_factory=list, description="Each iteration's outcome, when there were several."
    )
    flaky_tests: list[str] = Field(
        default_factory=list,
        description="Test ids that passed in some iterations and failed in others (JUnit XML).",
    )
    races: list[RaceInfo] = Field(
        default_factory=list, description="ThreadSanitizer reports, one per bucket."
    )
    attempts: int = 1
    attempt_outcomes: list[Outcome] = Field(
        default_factory=list,
        description="Every attempt's outcome when the package was retried (first one first).",
    )


class RunFinished(EventBase):
    type: Literal["run_finished"] = "run_finished"
    finished_at: AwareDatetime = Field(default_factory=utc_now)
    wall_s: float
    counts: dict[Outcome, int] = Field(default_factory=dict)
    interrupted: bool = False
    stopped_after_crash: bool = False


BisectTarget = Literal["package", "cpython"]
BisectVerdict = Literal["good", "bad", "skip"]


class BisectStarted(EventBase):
    """A bisection began (or was resumed): what it looks for, and where."""

    type: Literal["bisect_started"] = "bisect_started"
    target: BisectTarget = Field(description="Whose history: the package's or CPython's.")
    package: str
    repository: str = Field(description="The git repository whose commits are bisected.")
    good: str = Field(description="The full commit known not to crash.")
    bad: str = Field(description="The full commit that crashes.")
    commits: int = Field(ge=0, description="Commits after good up to bad, bad included.")
    bucket: str | None = Field(default=None, description="The crash's bucket a bad step shows.")
    signature: str | None = None
    command: str = Field(default="", description="The reproducer each step runs.")
    tries: int = Field(default=1, ge=1, description="Runs of a step before it counts as good.")
    interpreter: str | None = Field(
        default=None, description="The fixed interpreter (package) or variant (cpython)."
    )
    resumed: bool = False


class BisectStep(EventBase):
    """One commit tested: bad (crashed in the bucket), good, or skip (could not tell)."""

    type: Literal["bisect_step"] = "bisect_step"
    commit: str
    subject: str = ""
    verdict: BisectVerdict
    reason: str = ""
    tries: int = Field(default=0, ge=0, description="Runs of the reproducer this step made.")
    bucket: str | None = Field(default=None, description="The bucket a crash showed, if any.")
    duration_s: float = 0.0
    build_s: float | None = Field(default=None, description="Seconds building CPython.")
    endpoint: bool = Field(default=False, description="The check of --good or --bad itself.")


class BisectFinished(EventBase):
    """The answer: one first bad commit, or the range it is in when steps were skipped."""

    type: Literal["bisect_finished"] = "bisect_finished"
    first_bad: str | None = None
    first_bad_subject: str | None = None
    candidates: list[str] = Field(
        default_factory=list, description="Commits one of which is the first bad, in order."
    )
    steps: int = 0
    wall_s: float = 0.0
    interrupted: bool = False


KnownEvent = Annotated[
    RunStarted
    | PackageStarted
    | StepFinished
    | PackageFinished
    | RunFinished
    | BisectStarted
    | BisectStep
    | BisectFinished,
    Field(discriminator="type"),
]

EVENT_TYPES: dict[str, type[EventBase]] = {
    "run_started": RunStarted,
    "package_started": PackageStarted,
    "step_finished": StepFinished,
    "package_finished": PackageFinished,
    "run_finished": RunFinished,
    "bisect_started": BisectStarted,
    "bisect_step": BisectStep,
    "bisect_finished": BisectFinished,
}


class UnknownEvent(Model):
    """An event of a type this version does not know, kept with all its fields."""

    type: str
    raw: dict[str, Any]

    @property
    def seq(self) -> int | None:
        value = self.raw.get("seq")
        return value if isinstance(value, int) else None


Event = (
    RunStarted
    | PackageStarted
    | StepFinished
    | PackageFinished
    | RunFinished
    | BisectStarted
    | BisectStep
    | BisectFinished
)
AnyEvent = Event | UnknownEvent
