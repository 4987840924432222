"""What failure texts say, as tables of real output lines."""

from __future__ import annotations

import pytest
from reporter.model.hints import missing_distributions, missing_modules, network_shaped

NETWORK = [
    "socket.gaierror: [Errno -3] Temporary failure in name resolution",
    "urllib.error.URLError: <urlopen error [Errno -2] Name or service not known>",
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): "
    "Max retries exceeded with url: /simple/ (Caused by NewConnectionError('<urllib3.connection."
    "HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno 101] Network "
    "is unreachable'))",
    "OSError: [Errno 101] Network is unreachable",
    "httpx.ConnectError: [Errno -3] Temporary failure in name resolution",
    "aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host example.org:443",
    "curl: (6) Could not resolve host: example.org",
    "E   ConnectTimeout: HTTPSConnectionPool(host='api.github.com', port=443)",
]
NOT_NETWORK = [
    "3 failed, 120 passed in 4.20s",
    "AssertionError: assert 3 == 4",
    "ModuleNotFoundError: No module named 'hypothesis'",
    "E   ConnectionRefusedError in the test's own fixture server",  # local, not the network
    "",
]


@pytest.mark.parametrize("line", NETWORK)
def test_network_shaped_lines(line: str) -> None:
    assert network_shaped([line])


@pytest.mark.parametrize("line", NOT_NETWORK)
def test_lines_that_are_not_network_shaped(line: str) -> None:
    assert not network_shaped([line, None])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ModuleNotFoundError: No module named 'hypothesis'", ["hypothesis"]),
        ("E   ModuleNotFoundError: No module named 'google.protobuf'", ["google"]),
        ('ImportError: No module named "yaml"', ["yaml"]),
        ("ImportError while importing test module ... No module named 'numpy.testing'", ["numpy"]),
        ("No module named pytest_asyncio", ["pytest_asyncio"]),
        ("no tests ran in 0.01s", []),
    ],
)
def test_missing_modules(text: str, expected: list[str]) -> None:
    assert missing_modules([text]) == expected


def test_missing_modules_are_deduplicated_in_order() -> None:
    texts = ["No module named 'b'", None, "No module named 'a'\nNo module named 'b.c'"]
    assert missing_modules(texts) == ["b", "a"]


def test_missing_distributions_from_pip() -> None:
    text = (
        "ERROR: Could not find a version that satisfies the requirement foo-bar>=2 (from "
        "versions: none)\nERROR: No matching distribution found for foo-bar>=2"
    )
    assert missing_distributions([text]) == ["foo-bar"]
