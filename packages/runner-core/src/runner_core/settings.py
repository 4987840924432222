"""The settings of one run, as a typed, serialisable object (kept in run.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar, get_args

from normalized_events import Condition
from normalized_events.layout import RunLayout
from pydantic import BaseModel, ConfigDict, Field
from sandbox_runner.spec import DEFAULT_PROCESSES, DEFAULT_TMP_BYTES

from runner_core.errors import OptionError
from runner_core.workdir import (
    DEFAULT_BUDGET_BYTES,
    DEFAULT_KEEP_FREE_BYTES,
    WorkBudget,
    WorkLayout,
)

DEFAULT_DISK_BYTES = 20 * 1024**3

InstallerChoice = Literal["auto", "uv", "pip"]
SourceChoice = Literal["auto", "git", "sdist"]
# require: bwrap or refuse to run (for CI); see runner_core.isolation.
BackendChoice = Literal["auto", "none", "bwrap", "require"]
NetworkChoice = Literal["on", "off"]
# The order packages go to the workers (runner_core.durations).
OrderChoice = Literal["longest-first", "selection"]

# The choices of each option, read from the one declaration above.
INSTALLERS: tuple[InstallerChoice, ...] = get_args(InstallerChoice)
SOURCES: tuple[SourceChoice, ...] = get_args(SourceChoice)
BACKENDS: tuple[BackendChoice, ...] = get_args(BackendChoice)
NETWORK: tuple[NetworkChoice, ...] = get_args(NetworkChoice)
ORDERS: tuple[OrderChoice, ...] = get_args(OrderChoice)

_T = TypeVar("_T", bound=str)


def parse_choice(value: str, allowed: tuple[_T, ...], option: str) -> _T:
    """``value`` as one of an option's choices, or the OptionError naming the option."""
    for candidate in allowed:
        if value == candidate:
            return candidate
    raise OptionError(f"{option}: {value!r} is not one of {', '.join(allowed)}")


class RunSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    results_dir: Path
    work_dir: Path
    registry_dir: Path
    target_python: str
    conditions: list[Condition] = Field(default_factory=lambda: [Condition()])
    workers: int = 1
    order: OrderChoice = "longest-first"
    timeout_s: float = 1800.0
    idle_timeout_s: float | None = 600.0
    # The tests' time limits multiplied by this; None: by what the interpreter is
    # (runner_core.timeouts).
    timeout_scale: float | None = Field(default=None, gt=0)
    memory_bytes: int | None = None
    # Per command: processes alive at once, size of the private /tmp (and /dev/shm), how
    # much the writable paths' filesystem may fill.
    processes: int | None = DEFAULT_PROCESSES
    tmp_bytes: int = DEFAULT_TMP_BYTES
    disk_bytes: int | None = DEFAULT_DISK_BYTES
    # The work directory's budget (runner_core.workdir): None is no cap, 0 no free floor.
    work_budget_bytes: int | None = DEFAULT_BUDGET_BYTES
    keep_free_bytes: int = DEFAULT_KEEP_FREE_BYTES
    # Host variables (globs) passed to commands besides the sandbox's allowlist.
    pass_env: list[str] = Field(default_factory=list)
    installer: InstallerChoice = "auto"
    source: SourceChoice = "auto"
    sandbox_backend: BackendChoice = "auto"
    network_during_tests: bool = False
    # Let pytest-cov measure coverage (off by default: see runner_core.evidence).
    keep_coverage: bool = False
    env: dict[str, str] = Field(default_factory=dict)
    extra_deps: list[str] = Field(default_factory=list)
    test_command_override: str | None = None
    test_command_suffix: str | None = None
    repo_overrides: dict[str, str] = Field(default_factory=dict)
    refresh: bool = False
    crash_reruns: int = 1
    # Runs of each suite (stopping at the first crash or hang unless all_iterations).
    iterations: int = Field(default=1, ge=1)
    all_iterations: bool = False
    # A ThreadSanitizer hunt: refused unless the interpreter is a TSan build.
    tsan: bool = False
    tsan_suppressions: Path | None = None
    leaks: bool = False
    condition_retries: int = 2
    stop_after_crash: int | None = None
    shard: str | None = None

    @property
    def run_dir(self) -> Path:
        return self.results_dir / self.run_id

    @property
    def layout(self) -> RunLayout:
        return RunLayout(self.run_dir)

    @property
    def work(self) -> WorkLayout:
        return WorkLayout(self.work_dir)

    @property
    def work_budget(self) -> WorkBudget:
        return WorkBudget(self.work_budget_bytes, self.keep_free_bytes)
