"""Sanitizer options for every step that runs the target interpreter: one home.

AddressSanitizer builds report leaks at every interpreter exit (turning status 0 into
1), cannot live under an address-space limit, and write their reports to fd 2, where a
test runner's capture may hide them. So, for the probe, venv creation, installs, the
import check, tests, reruns and reproducers alike:

- LeakSanitizer is off (`detect_leaks=0`) unless the run asks for leaks (`--leaks`);
- under `--memory`, an ASan build gets ASan's own RSS limit (`hard_rss_limit_mb`)
  instead of RLIMIT_AS, which it cannot run under (see `memory_limit_kind`);
- test steps send reports to `log_path` in their evidence folder;
- on a ThreadSanitizer build, TSan's status 66 at exit is off (`exitcode=0`: a race is
  recorded as a race, not as failed tests) and reports go on after the first
  (`halt_on_error=0`); a suppressions file (`--tsan-suppressions`) becomes
  `suppressions=`;
- the user's own options (from `--env` or the environment) are merged and win, key by
  key; options that cannot be read, or a `log_path` whose folder cannot be written, are
  dropped with one line saying so, and apiary's defaults apply.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from normalized_events import InterpreterInfo
from sandbox_runner.spec import MemoryLimitKind

from runner_core.errors import OptionError

# Each sanitizer's options variable and the prefix of its report files (`log_path`
# appends `.PID`).
SANITIZER_LOGS = {"ASAN_OPTIONS": "asan", "UBSAN_OPTIONS": "ubsan", "TSAN_OPTIONS": "tsan"}
_KEY = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class SanitizerPolicy:
    """What the run wants of the sanitizers."""

    leaks: bool = False
    rss_limit_mb: int | None = None
    tsan: bool = False  # a ThreadSanitizer build
    tsan_suppressions: Path | None = None


NO_LEAKS = SanitizerPolicy()


@dataclass
class SanitizerEnv:
    """The options variables to set, and what was wrong with the user's."""

    values: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_options(variable: str, text: str) -> tuple[dict[str, str], list[str]]:
    """`key=value` pairs separated by `:` (or `,`), as the sanitizers read them."""
    pairs: dict[str, str] = {}
    bad: list[str] = []
    for part in re.split(r"[:,\s]+", text.strip()):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not _KEY.match(key.strip()) or not value.strip():
            bad.append(part)
            continue
        pairs[key.strip()] = value.strip()
    problems = (
        [
            f"{variable}: cannot read {', '.join(repr(b) for b in bad)} (expected key=value "
            "pairs separated by ':'); using apiary's defaults instead of these options"
        ]
        if bad
        else []
    )
    return ({} if bad else pairs), problems


def sanitizer_env(
    sources: list[Mapping[str, str]],
    policy: SanitizerPolicy = NO_LEAKS,
    log_dir: Path | None = None,
) -> SanitizerEnv:
    """The options variables, from the first of `sources` that sets each one."""
    result = SanitizerEnv()
    for variable, prefix in SANITIZER_LOGS.items():
        text = next((s[variable] for s in sources if variable in s), "")
        user, problems = read_options(variable, text)
        result.problems += problems
        if "log_path" in user and not _writable_folder(Path(user["log_path"]).parent):
            result.problems.append(
                f"{variable}: log_path={user['log_path']}: its folder cannot be written; "
                "reports go where apiary reads them instead"
            )
            del user["log_path"]
        defaults = _defaults(variable, policy)
        if log_dir is not None:
            defaults["log_path"] = str(log_dir / prefix)
        merged = {**user, **{k: v for k, v in defaults.items() if k not in user}}
        if merged:
            result.values[variable] = ":".join(f"{k}={v}" for k, v in merged.items())
    return result


def _defaults(variable: str, policy: SanitizerPolicy) -> dict[str, str]:
    if variable == "TSAN_OPTIONS":
        return _tsan_defaults(policy)
    if variable != "ASAN_OPTIONS":
        return {}
    defaults = {"detect_leaks": "1" if policy.leaks else "0"}
    if policy.rss_limit_mb is not None:
        defaults["hard_rss_limit_mb"] = str(policy.rss_limit_mb)
    return defaults


def _tsan_defaults(policy: SanitizerPolicy) -> dict[str, str]:
    if not policy.tsan:
        return {}
    defaults = {"exitcode": "0", "halt_on_error": "0"}
    if policy.tsan_suppressions is not None:
        defaults["suppressions"] = str(policy.tsan_suppressions)
    return defaults


def _writable_folder(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def is_sanitizer_build(info: InterpreterInfo) -> bool:
    flags = info.configure_flags
    return info.asan_build or "--with-thread-sanitizer" in flags or "sanitizer" in flags


def is_tsan_build(info: InterpreterInfo) -> bool:
    return "--with-thread-sanitizer" in info.configure_flags or "-fsanitize=thread" in (
        info.configure_flags
    )


def check_tsan_hunt(info: InterpreterInfo, suppressions: Path | None) -> None:
    """A TSan hunt (`--tsan`, `--tsan-suppressions`) needs a real file and a TSan build."""
    if suppressions is not None and not suppressions.is_file():
        raise OptionError(f"--tsan-suppressions {suppressions}: no such file")
    if not is_tsan_build(info):
        raise OptionError(
            f"--tsan: {info.path} is not a ThreadSanitizer build (its configure flags lack "
            "--with-thread-sanitizer)"
        )


def memory_policy(
    info: InterpreterInfo,
    memory_bytes: int | None,
    leaks: bool,
    tsan_suppressions: Path | None = None,
) -> tuple[MemoryLimitKind, SanitizerPolicy]:
    """(the sandbox's memory limit kind, the sanitizer policy) for this interpreter.

    A sanitizer build reserves terabytes of address space: RLIMIT_AS would kill it at
    start-up, so the limit is off and, for ASan, its own RSS limit takes its place.
    """
    if not is_sanitizer_build(info):
        return "rlimit_as", SanitizerPolicy(leaks=leaks)
    rss = memory_bytes // (1024 * 1024) if memory_bytes and info.asan_build else None
    tsan = is_tsan_build(info)
    return "off", SanitizerPolicy(
        leaks=leaks,
        rss_limit_mb=rss,
        tsan=tsan,
        tsan_suppressions=tsan_suppressions if tsan else None,
    )
