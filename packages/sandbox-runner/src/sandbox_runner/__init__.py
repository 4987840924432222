"""Run one untrusted command isolated and bounded: timeouts, whole-tree kill, limits, no network.

from sandbox_runner import Limits, Isolation, SandboxSpec, run_sandboxed

result = run_sandboxed(SandboxSpec(
    command=["python", "-m", "pytest", "-x"], cwd=src, env=env,
    limits=Limits(timeout_s=900, idle_timeout_s=300, memory_bytes=4 << 30),
    isolation=Isolation(backend="auto", network=False, writable=(venv,)),
    stdout_log=logs / "test.log",
))
"""

from importlib.metadata import version

from sandbox_runner.backends import Backend, BwrapBackend, NoneBackend, choose_backend, probe_bwrap
from sandbox_runner.childsetup import die_with_parent
from sandbox_runner.envfilter import (
    NETWORK_NAMES,
    PASSED_NAMES,
    SECRET_NAME_PATTERNS,
    filter_env,
    is_passed,
    is_secret,
)
from sandbox_runner.errors import SandboxError
from sandbox_runner.live import live_sandboxes, terminate_all, terminate_on_signals
from sandbox_runner.procscan import MARKER_VAR, processes_with_env, sweep_orphans
from sandbox_runner.result import SandboxResult
from sandbox_runner.run import run_sandboxed
from sandbox_runner.spec import (
    EnvPolicy,
    Isolation,
    Limits,
    SandboxSpec,
    SecretFilter,
    parse_limit,
    parse_size,
)
from sandbox_runner.status import decode_status, signal_name

__version__ = version("sandbox-runner")

__all__ = [
    "MARKER_VAR",
    "NETWORK_NAMES",
    "PASSED_NAMES",
    "SECRET_NAME_PATTERNS",
    "Backend",
    "BwrapBackend",
    "EnvPolicy",
    "Isolation",
    "Limits",
    "NoneBackend",
    "SandboxError",
    "SandboxResult",
    "SandboxSpec",
    "SecretFilter",
    "__version__",
    "choose_backend",
    "decode_status",
    "die_with_parent",
    "filter_env",
    "is_passed",
    "is_secret",
    "live_sandboxes",
    "parse_limit",
    "parse_size",
    "probe_bwrap",
    "processes_with_env",
    "run_sandboxed",
    "signal_name",
    "sweep_orphans",
    "terminate_all",
    "terminate_on_signals",
]
