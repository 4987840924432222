"""Sanitizer options for every step: merged, validated, and enough for a leaky interpreter."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest
from normalized_events import InterpreterInfo
from runner_core.interpreter import probe_interpreter
from runner_core.sanitizers import SanitizerPolicy, memory_policy, sanitizer_env


@pytest.mark.parametrize(
    ("user", "policy", "expected"),
    [
        (None, SanitizerPolicy(), "detect_leaks=0"),
        ("halt_on_error=1", SanitizerPolicy(), "halt_on_error=1:detect_leaks=0"),
        ("detect_leaks=1", SanitizerPolicy(), "detect_leaks=1"),  # the user wins
        (None, SanitizerPolicy(leaks=True), "detect_leaks=1"),
        (None, SanitizerPolicy(rss_limit_mb=2048), "detect_leaks=0:hard_rss_limit_mb=2048"),
        ("a=1,b=2 c=3", SanitizerPolicy(), "a=1:b=2:c=3:detect_leaks=0"),
    ],
)
def test_asan_options_merge_and_the_user_wins(
    user: str | None, policy: SanitizerPolicy, expected: str
) -> None:
    sources: list[Mapping[str, str]] = [{"ASAN_OPTIONS": user}] if user is not None else []
    found = sanitizer_env(sources, policy)
    assert found.values["ASAN_OPTIONS"] == expected and found.problems == []


def test_reports_go_to_the_evidence_folder_unless_the_user_chose(tmp_path: Path) -> None:
    found = sanitizer_env([{}], log_dir=tmp_path)
    assert found.values["ASAN_OPTIONS"] == f"detect_leaks=0:log_path={tmp_path}/asan"
    assert found.values["TSAN_OPTIONS"] == f"log_path={tmp_path}/tsan"
    mine = sanitizer_env([{"UBSAN_OPTIONS": f"log_path={tmp_path}/mine"}], log_dir=tmp_path)
    assert mine.values["UBSAN_OPTIONS"] == f"log_path={tmp_path}/mine"


@pytest.mark.parametrize(
    ("user", "problem"),
    [
        ("detect_leaks", "ASAN_OPTIONS: cannot read 'detect_leaks'"),
        ("halt_on_error=1:=3", "ASAN_OPTIONS: cannot read '=3'"),
        ("log_path=/proc/no/such/asan", "ASAN_OPTIONS: log_path=/proc/no/such/asan: its folder"),
    ],
)
def test_unusable_options_are_one_line_and_the_defaults_apply(user: str, problem: str) -> None:
    found = sanitizer_env([{"ASAN_OPTIONS": user}])
    assert len(found.problems) == 1 and found.problems[0].startswith(problem)
    assert "\n" not in found.problems[0]
    assert found.values["ASAN_OPTIONS"].startswith("detect_leaks=0")


def test_a_sanitizer_build_gets_its_own_memory_limit() -> None:
    release = InterpreterInfo(path="/p", version="3.13.5")
    asan = InterpreterInfo(path="/p", version="3.13.5", asan_build=True)
    tsan = InterpreterInfo(path="/p", version="3.13.5", configure_flags="--with-thread-sanitizer")
    assert memory_policy(release, 2 * 1024**3, leaks=False) == ("rlimit_as", SanitizerPolicy())
    assert memory_policy(asan, 2 * 1024**3, leaks=True) == (
        "off",
        SanitizerPolicy(leaks=True, rss_limit_mb=2048),
    )
    assert memory_policy(tsan, 2 * 1024**3, leaks=False) == ("off", SanitizerPolicy(tsan=True))


LEAKY = textwrap.dedent(
    """\
    #!/bin/sh
    # Behaves like an ASan build of CPython at exit: LeakSanitizer reports and exits 1,
    # unless ASAN_OPTIONS turns leak detection off.
    "{python}" "$@"
    status=$?
    case ":$ASAN_OPTIONS:" in *:detect_leaks=0:*) exit $status;; esac
    echo "SUMMARY: AddressSanitizer: 322476 byte(s) leaked in 5919 allocation(s)." >&2
    exit 1
    """
)


def test_the_probe_survives_an_interpreter_that_leaks_at_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaky = tmp_path / "python3.13"
    leaky.write_text(LEAKY.format(python=sys.executable))
    leaky.chmod(0o755)
    monkeypatch.setenv("ASAN_OPTIONS", "halt_on_error=1")  # the user's, kept
    probe_interpreter.cache_clear()
    assert probe_interpreter(str(leaky)).info.version.startswith("3.")
