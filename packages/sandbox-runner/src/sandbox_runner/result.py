"""What a sandboxed command did: the typed, JSON-serialisable output of `run_sandboxed`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sandbox_runner.stackdump import SignalledProcess
from sandbox_runner.treeusage import TreeUsage

UsedBackend = Literal["none", "bwrap"]


class SandboxResult(BaseModel):
    """The outcome of one command.

    - `exit_code`: the status as subprocess reports it (`-N` when the direct child died of
      signal N; 128+N when a shell or bubblewrap reports such a death).
    - `signal` / `signal_name`: the signal that ended the command, read from either form.
    - `timed_out` / `idle_timed_out` / `interrupted`: apiary killed the whole tree because
      the wall timeout passed, because no output came for the idle timeout, or because
      apiary itself was asked to stop (Ctrl-C, SIGTERM).
    - `oom_suspected`: evidence that memory ran out (see `status.suspect_oom`).
    - `cpu_limit_hit` / `file_size_limit_hit`: SIGXCPU / SIGXFSZ under those limits.
    - `process_limit_hit`: a fork failed because the process limit was reached;
      `process_limit` says the limit and what enforced it (a pids cgroup, RLIMIT_NPROC, or
      nothing where neither binds).
    - `disk_limit_hit`: apiary stopped the command because it filled the disk past
      `Limits.disk_bytes` or nearly full; `limit_note` says which and how much.
    - `peak_rss_bytes` / `cpu_s`: from `wait4` of the command (it and the descendants it
      waited for); `None` when unknown (a bwrap sandbox killed before its reaper reported).
    - `*_truncated`: the stream passed its cap; its log has a marker line then the tail.
    - `*_tail`: the last lines of each stream (with merged logs, `stdout_tail` has both).
    - `backend` / `backend_reason`: the isolation actually used and why it was chosen.
    - `withheld_env`: names (never values) of environment variables the filter removed.
    - `stacks_from`: the processes asked for their stacks before a timeout's kill (see
      `SandboxSpec.stack_signal`), with their threads' states at that moment.
    - `stopped_usage`: for a command stopped at a time limit, the CPU time and run-queue
      wait of all its processes just before the kill (children included, which `cpu_s`
      misses when they were killed unreaped).
    """

    model_config = ConfigDict(frozen=True)

    command: list[str]
    exit_code: int
    signal: int | None
    signal_name: str | None
    timed_out: bool
    idle_timed_out: bool
    interrupted: bool
    oom_suspected: bool
    cpu_limit_hit: bool
    file_size_limit_hit: bool
    process_limit_hit: bool = False
    disk_limit_hit: bool = False
    limit_note: str | None = None
    process_limit: str = ""
    wall_s: float
    cpu_s: float | None
    peak_rss_bytes: int | None
    stdout_log: Path
    stderr_log: Path | None
    stdout_bytes: int
    stderr_bytes: int
    stdout_truncated: bool
    stderr_truncated: bool
    stdout_tail: list[str]
    stderr_tail: list[str]
    backend: UsedBackend
    backend_reason: str
    network_isolated: bool
    withheld_env: list[str]
    stacks_from: list[SignalledProcess] = Field(default_factory=list)
    stopped_usage: TreeUsage | None = None

    @property
    def killed(self) -> bool:
        """apiary stopped the command (timeout, idle timeout, disk watch, interruption)."""
        return self.timed_out or self.idle_timed_out or self.disk_limit_hit or self.interrupted

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.killed

    def describe(self) -> str:
        """One line for a human: how it ended, in how long, with which backend."""
        if self.timed_out:
            how = "timed out"
        elif self.idle_timed_out:
            how = "stopped: no output for the idle timeout"
        elif self.disk_limit_hit:
            how = f"stopped: {self.limit_note}"
        elif self.interrupted:
            how = "interrupted"
        elif self.signal is not None:
            how = f"killed by {self.signal_name} (status {self.exit_code})"
        else:
            how = f"exit {self.exit_code}"
        extras = [
            flag
            for flag, on in (
                ("out of memory suspected", self.oom_suspected),
                ("CPU limit hit", self.cpu_limit_hit),
                ("file size limit hit", self.file_size_limit_hit),
                ("process limit hit", self.process_limit_hit),
                ("output truncated", self.stdout_truncated or self.stderr_truncated),
            )
            if on
        ]
        tail = f"; {', '.join(extras)}" if extras else ""
        return f"{how} after {self.wall_s:.2f}s (backend {self.backend}){tail}"
