"""The errors a user can cause; each message is the one line the command line prints."""

from __future__ import annotations


class ReportError(Exception):
    """Base of every reporter error: ``str(error)`` is the whole message."""


class RunDirError(ReportError):
    """A run directory (or results directory) cannot be found or read."""


class MergeError(ReportError):
    """Shard runs cannot be merged into the requested output."""


class FormatError(ReportError):
    """A view cannot be rendered in the requested format."""
