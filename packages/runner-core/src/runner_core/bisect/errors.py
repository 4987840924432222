"""The one exception of bisections a user can cause."""

from runner_core.errors import RunnerError


class BisectError(RunnerError):
    """A bisection that cannot start: a revision, an endpoint or an option is wrong.

    The message names the option and says why, in one line.
    """
