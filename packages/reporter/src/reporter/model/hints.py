"""What the text of a failure says: missing modules, network-shaped failures.

Tests run with the network off, so a suite that needs the network fails in ways that say
nothing about the interpreter; like crater, such failures count as spurious.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_MISSING_MODULE = re.compile(r"""No module named ['"]?([A-Za-z_][\w.]*)""")
_MISSING_DISTRIBUTION = re.compile(
    r"No matching distribution found for ([A-Za-z0-9][A-Za-z0-9._-]*)", re.IGNORECASE
)

_NETWORK = re.compile(
    "|".join(
        [
            r"Temporary failure in name resolution",
            r"Name or service not known",
            r"nodename nor servname provided",
            r"No address associated with hostname",
            r"Could not resolve host",
            r"getaddrinfo failed",
            r"socket\.gaierror",
            r"\bgaierror\b",
            r"Network is unreachable",
            r"No route to host",
            r"\bENETUNREACH\b",
            r"\bEHOSTUNREACH\b",
            r"\[Errno (?:-2|-3|-5|101|113)\]",
            r"Failed to establish a new connection",
            r"NewConnectionError",
            r"Max retries exceeded with url",
            r"urlopen error",
            r"\bConnectTimeout(?:Error)?\b",
            r"requests\.exceptions\.ConnectionError",
            r"httpx\.ConnectError",
            r"aiohttp\.client_exceptions\.ClientConnectorError",
            r"Cannot connect to host",
        ]
    ),
    re.IGNORECASE,
)


def missing_modules(texts: Iterable[str | None]) -> list[str]:
    """Top-level names of the modules a failure says are missing, in order of appearance."""
    found: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        for match in _MISSING_MODULE.finditer(text):
            found.setdefault(match.group(1).split(".")[0], None)
    return list(found)


def missing_distributions(texts: Iterable[str | None]) -> list[str]:
    """Distributions an installer could not find (``No matching distribution found for``)."""
    found: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        for match in _MISSING_DISTRIBUTION.finditer(text):
            found.setdefault(match.group(1).rstrip("."), None)
    return list(found)


def network_shaped(texts: Iterable[str | None]) -> bool:
    """Whether a failure's text looks like a test or installer that needed the network."""
    return any(text and _NETWORK.search(text) for text in texts)
