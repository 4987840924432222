"""The one exception of CPython builds."""


class BuildError(Exception):
    """A build that cannot be done; the message names the input or phase, and why."""
