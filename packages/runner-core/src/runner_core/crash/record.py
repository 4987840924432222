"""The typed record of one crash, as read from a process's output and exit status."""

from __future__ import annotations

from normalized_events import CrashKind
from pydantic import BaseModel, ConfigDict, Field

from runner_core.crash.signals import signal_name


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class PythonFrame(_Model):
    """One line of a faulthandler traceback: `File "f.py", line 7 in func`."""

    file: str
    line: int | None = None
    function: str


class ThreadStack(_Model):
    """The Python stack of one thread, innermost frame first (faulthandler's order)."""

    thread_id: str | None = None
    name: str | None = None
    current: bool = False
    frames: list[PythonFrame] = Field(default_factory=list)


class CFrame(_Model):
    """One native frame: an ASan `#N 0x... in func file:line`, or a 3.14 c_stack line."""

    index: int | None = None
    address: str | None = None
    function: str | None = None
    file: str | None = None
    line: int | None = None
    binary: str | None = None
    offset: str | None = None


class CrashRecord(_Model):
    """Everything the output and the exit status say about one crash."""

    kind: CrashKind
    signal: int | None = None
    exit_code: int | None = None
    headline: str = Field(
        description="The one line that names the crash: the fatal error message, the "
        "assertion with its file:line, the ASan error line, or the signal's description."
    )
    fatal_error: str | None = Field(
        default=None, description="The text after `Fatal Python error:`, when printed."
    )
    runtime_state: str | None = None
    assertion: str | None = None
    asan_error: str | None = Field(default=None, description="e.g. heap-use-after-free, SEGV")
    python_frames: list[PythonFrame] = Field(
        default_factory=list, description="The crashing thread's frames, innermost first."
    )
    current_thread_id: str | None = None
    other_threads: list[ThreadStack] = Field(default_factory=list)
    c_frames: list[CFrame] = Field(default_factory=list)
    asan_stacks: dict[str, list[CFrame]] = Field(
        default_factory=dict,
        description="ASan's other stacks: where the memory was freed (free) and allocated (alloc).",
    )
    extension_modules: list[str] = Field(default_factory=list)
    waiting_threads: list[ThreadStack] = Field(
        default_factory=list,
        description="A stopped suite's threads (deadlock, busy_hang, blocked), every process's.",
    )

    @property
    def signal_name(self) -> str | None:
        return signal_name(self.signal)
