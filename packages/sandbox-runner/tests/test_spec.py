from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from sandbox_runner import Limits, SandboxError, SandboxSpec, parse_limit, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4096", 4096),
        ("256M", 256 * 1024**2),
        ("256m", 256 * 1024**2),
        ("2G", 2 * 1024**3),
        ("1.5GiB", int(1.5 * 1024**3)),
        ("512k", 512 * 1024),
        ("10MB", 10 * 1024**2),
        (" 1T ", 1024**4),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "2X", "-1M", "0", "M"])
def test_parse_size_rejects_with_the_option_named(text: str) -> None:
    with pytest.raises(SandboxError, match="--memory"):
        parse_size(text, what="--memory")


def test_a_limit_is_a_size_or_off() -> None:
    assert parse_limit("2G", what="--work-budget") == 2 * 1024**3
    assert parse_limit("off") is None and parse_limit(" OFF ") is None and parse_limit(None) is None
    with pytest.raises(SandboxError, match="--work-budget"):
        parse_limit("lots", what="--work-budget")


def test_a_string_command_runs_through_sh() -> None:
    spec = SandboxSpec(command="echo $HOME", cwd=Path(), env={}, stdout_log=Path("x"))
    assert spec.argv() == ["/bin/sh", "-c", "echo $HOME"]
    listed = SandboxSpec(command=["echo", "$HOME"], cwd=Path(), env={}, stdout_log=Path("x"))
    assert listed.argv() == ["echo", "$HOME"]


def test_empty_command_is_refused() -> None:
    with pytest.raises(SandboxError, match="empty command"):
        SandboxSpec(command=[], cwd=Path(), env={}, stdout_log=Path("x")).argv()


def test_specs_are_frozen_and_strict() -> None:
    limits = Limits(timeout_s=5)
    with pytest.raises(ValidationError):
        limits.timeout_s = 6
    with pytest.raises(ValidationError):
        Limits(timeout=5)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Limits(timeout_s=-1)
