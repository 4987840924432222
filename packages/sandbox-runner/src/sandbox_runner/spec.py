"""What to run and under which limits: the typed, immutable input of `run_sandboxed`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sandbox_runner.errors import SandboxError

BackendName = Literal["auto", "none", "bwrap"]
MemoryLimitKind = Literal["rlimit_as", "off"]

DEFAULT_OUTPUT_CAP = 10 * 1024 * 1024
DEFAULT_TAIL_LINES = 40
DEFAULT_TMP_BYTES = 1024**3
DEFAULT_SHM_BYTES = 256 * 1024**2
DEFAULT_PROCESSES = 2048

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str, *, what: str = "size") -> int:
    """Read a byte count written as `4096`, `256M`, `2G`, `1.5GiB` (binary units)."""
    found = _SIZE.match(text)
    if found is None:
        raise SandboxError(f"{what}: cannot read {text!r} as a size (examples: 4096, 256M, 2G)")
    number, unit, _ = found.groups()
    value = int(float(number) * _UNITS[unit.lower()])
    if value <= 0:
        raise SandboxError(f"{what}: {text!r} must be more than zero bytes")
    return value


def parse_limit(text: str | None, *, what: str = "size") -> int | None:
    """A size as `parse_size` reads it, or None for no limit (`off`, or nothing given)."""
    if text is None or text.strip().lower() == "off":
        return None
    return parse_size(text, what=what)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Limits(_Frozen):
    """Bounds on one command. `None` means unbounded.

    - `timeout_s`: wall-clock limit; the whole process tree is killed when it passes.
    - `idle_timeout_s`: limit on time without a single byte of output on any stream.
    - `memory_bytes` with `memory_limit`: `rlimit_as` caps the address space of every
      process (RLIMIT_AS); `off` sets no memory limit (AddressSanitizer builds reserve
      terabytes of address space and cannot run under RLIMIT_AS).
    - `cpu_s`: CPU seconds per process (RLIMIT_CPU: SIGXCPU, then SIGKILL 5 s later).
    - `fsize_bytes`: largest file a process may write (RLIMIT_FSIZE: SIGXFSZ).
    - `output_cap_bytes`: bytes kept per log stream; past it the middle is dropped, a
      marker says how much, and the tail is always kept.
    - `processes`: processes and threads alive at once in the whole tree (a pids cgroup
      when apiary may create one, else RLIMIT_NPROC; `limits.py` says which applies).
    - `tmp_bytes` / `shm_bytes`: sizes of the private /tmp and /dev/shm (bwrap only;
      they are memory, which `memory_bytes` does not count).
    - `disk_bytes`: how much the filesystems of the working directory and writable paths
      may fill while the command runs; past it, or when less than `DISK_RESERVE_BYTES`
      stays free, the tree is killed and `disk_limit_hit` is set.
    Core dumps are always disabled.
    """

    timeout_s: float | None = Field(default=None, gt=0)
    idle_timeout_s: float | None = Field(default=None, gt=0)
    memory_bytes: int | None = Field(default=None, gt=0)
    memory_limit: MemoryLimitKind = "rlimit_as"
    cpu_s: int | None = Field(default=None, gt=0)
    fsize_bytes: int | None = Field(default=None, gt=0)
    output_cap_bytes: int = Field(default=DEFAULT_OUTPUT_CAP, ge=1024)
    processes: int | None = Field(default=DEFAULT_PROCESSES, ge=8)
    tmp_bytes: int = Field(default=DEFAULT_TMP_BYTES, ge=1024 * 1024)
    shm_bytes: int = Field(default=DEFAULT_SHM_BYTES, ge=1024 * 1024)
    disk_bytes: int | None = Field(default=None, gt=0)


class Isolation(_Frozen):
    """Where the command may reach.

    - `backend`: `bwrap` (bubblewrap), `none` (own process group and rlimits only), or
      `auto`: bwrap when a probe run of it succeeds, else none (the result says why).
    - `network`: `False` gives the command a private network namespace with only a
      loopback interface; `True` shares the host network. Only bwrap can take it away.
    - `writable`: paths writable in addition to `cwd`; under bwrap the rest of the host is
      read-only and `/tmp` is a private tmpfs.
    - `readable`: paths made visible read-only (also under `/tmp`, which the private tmpfs
      would otherwise hide).
    - `bwrap_executable`: the bubblewrap binary (a name looked up on PATH, or a path).
    """

    backend: BackendName = "auto"
    network: bool = False
    writable: tuple[Path, ...] = ()
    readable: tuple[Path, ...] = ()
    bwrap_executable: str = "bwrap"


class EnvPolicy(_Frozen):
    """Which environment variables reach the command (`envfilter.py` has the lists).

    Only allowlisted names pass (PATH, HOME, locale, PYTHON*/PIP_*/UV_* settings, ...;
    proxies only with the network); names that look secret are withheld even then.
    `allow` adds names (case-sensitive shell globs) that pass whatever they look like:
    the names of variables the user set on purpose. `deny` withholds more names.
    `enabled=False` passes the environment as is.
    """

    enabled: bool = True
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()


# The former name of EnvPolicy, when only a denylist of secret names existed.
SecretFilter = EnvPolicy


class SandboxSpec(_Frozen):
    """One command to run: a list is exec'd as is; a string runs through `/bin/sh -c`.

    stdin is always `/dev/null`. When `stderr_log` is `None`, stderr goes into the stdout
    log (like `2>&1`) and `stdout_tail` holds the last lines of both.
    """

    command: list[str] | str
    cwd: Path
    env: dict[str, str]
    limits: Limits = Limits()
    isolation: Isolation = Isolation()
    env_policy: EnvPolicy = EnvPolicy()
    stdout_log: Path
    stderr_log: Path | None = None
    tail_lines: int = Field(default=DEFAULT_TAIL_LINES, ge=0)
    # On a timeout, first ask the tree for its stacks with this signal (see stackdump.py).
    stack_signal: int | None = Field(default=None, ge=1, le=64)
    stack_wait_s: float = Field(default=2.0, ge=0)

    def argv(self) -> list[str]:
        if isinstance(self.command, str):
            return ["/bin/sh", "-c", self.command]
        if not self.command:
            raise SandboxError("command: an empty command was given")
        return list(self.command)
