"""The errors a user of `apiary run` can cause; each message is the line they read."""

from __future__ import annotations


class RunnerError(Exception):
    """Base of every user-facing runner error."""


class InterpreterError(RunnerError):
    """The target interpreter cannot be used."""


class SelectionError(RunnerError):
    """The package selection options are invalid (unknown package, bad filter)."""


class OptionError(RunnerError):
    """A command-line option has an invalid value."""


class SourceError(RunnerError):
    """A package's source cannot be fetched (clone, download or extraction failed)."""


class ResumeError(RunnerError):
    """A run cannot be resumed (no such run, or its options do not match)."""


class RunLockedError(RunnerError):
    """Another apiary is using this run directory (the same --run-id, at the same time)."""


class RunFailedError(RunnerError):
    """A run stopped on an unexpected problem; run.json says so (status "failed")."""
