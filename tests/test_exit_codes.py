"""One table of exit statuses: the CLIs that cannot import it agree with it."""

from __future__ import annotations

import signal

from normalized_events.exits import ExitCode
from registry_core.cli import EXIT_PROBLEM, EXIT_USER_ERROR
from sandbox_runner import cli as sandbox_cli
from sandbox_runner import live


def test_the_sandbox_command_speaks_the_table() -> None:
    assert sandbox_cli.EXIT_SETUP == ExitCode.USER_ERROR
    assert sandbox_cli.EXIT_TIMEOUT == ExitCode.TIMEOUT
    assert live._SIGNAL_EXIT_OFFSET + signal.SIGINT == ExitCode.INTERRUPTED


def test_the_registry_commands_speak_the_table() -> None:
    assert EXIT_PROBLEM == ExitCode.FINDINGS
    assert EXIT_USER_ERROR == ExitCode.USER_ERROR
