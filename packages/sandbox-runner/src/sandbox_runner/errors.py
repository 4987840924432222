"""The one exception a user of the sandbox can cause; its message is the line they read."""

from __future__ import annotations


class SandboxError(Exception):
    """A sandbox that cannot be set up as asked (bad path, bad size, unusable backend).

    The message is a single line naming what is wrong and, where there is one, the fix.
    A command that runs and fails is not an error: it is a `SandboxResult`.
    """
