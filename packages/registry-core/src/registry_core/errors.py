"""The errors a user can cause, each a one-line message naming the file, field or setting."""

from __future__ import annotations


class RegistryError(Exception):
    """Base of every user-facing registry error; ``str()`` is the line the user reads."""


class RegistryNotFoundError(RegistryError):
    """No registry directory where one was asked for or expected."""


class SelectionError(RegistryError):
    """A ``--where`` / ``--packages`` filter or a package name that cannot be used."""


class EditError(RegistryError):
    """A field edit that cannot be made (bad field name, value, or file shape)."""


class FileRefused(RegistryError):
    """A registry file that is not read: a link out of the registry, not a regular file,
    or over the size limit."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.reason = reason


class ResolveError(RegistryError):
    """PyPI could not tell us about one package (network, HTTP status, bad document)."""


class FetchError(RegistryError):
    """An HTTP answer could not be had whole, within its size and time limits."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        final: bool = False,
        unreachable: bool = False,
    ) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status
        self.final = final  # asking again cannot help (say, an answer over the size limit)
        self.unreachable = unreachable  # no answer at all: connection refused, DNS...
