"""What to change in an entry after a run that did not get to the tests' verdict.

Pure functions over an outcome, its one-line reason and the step's log text, tested as a
table. Each fix changes the install or the test command; None means nothing to try.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

from normalized_events import InstallFailure, Outcome
from registry_core import PackageEntry
from runner_core.commands import split_steps
from runner_core.enrich.distnames import (
    INI_KEY_TO_DIST,
    OPTION_TO_DIST,
    REMOVED_MODULES,
    canonical,
    distribution_for,
    is_stdlib,
)
from runner_core.enrich.local_imports import SUITE_MODULE
from runner_core.enrich.released import against_installed, built_install, released_install
from runner_core.install_failures import install_failure
from runner_core.outcomes import missing_modules

_UNRECOGNIZED = re.compile(r"unrecognized arguments: (?P<args>.+)$", re.MULTILINE)
_UNKNOWN_INI = re.compile(r"[Uu]nknown config option: (?P<key>[\w.-]+)")
_NOT_FOUND = re.compile(r"(?:file or directory|module or package) not found: (?P<path>\S+)")
_NO_DIST = re.compile(
    r"No matching distribution found for (?P<pip>[A-Za-z0-9._-]+)"
    r"|Because (?P<uv>[A-Za-z0-9._-]+) was not found in the package registry"
)
# pip's and uv's words for a distribution that did not build
_FAILED_BUILD = re.compile(
    r"Failed building wheel for (?P<pip>[\w.-]+)"
    r"|Failed to build '(?P<pip25>[\w.-]+)'"
    r"|Failed to (?:download and )?build `(?P<uv>[\w.-]+?)(?:==[^`]*)?`"
)
# the project's own build-system.requires could not be installed
_BUILD_REQUIRES_FAILED = re.compile(
    r"Failed to (?:resolve|install) requirements from `build-system\.requires`"
    r"|pip subprocess to install build dependencies did not run successfully"
)
_WARNING_ERROR = re.compile(r"\b(?P<cls>(?:\w+\.)*\w*(?:Deprecation|Future|Resource)Warning)\b")
# the exception line of pytest's INTERNALERROR traceback, when the exception is a warning
_INTERNAL_WARNING = re.compile(r"^INTERNALERROR> (?P<cls>(?:\w+\.)*\w*Warning): ", re.MULTILINE)
# the suite uses a part of pytest that the pytest installed no longer has
_PYTEST_GONE = re.compile(
    r"cannot import name '(?P<name>\w+)' from '_pytest[\w.]*'"
    r"|No module named '(?P<module>_pytest\.[\w.]+)'"
    r"|module '_?pytest[\w.]*' has no attribute '(?P<attr>\w+)'"
)
# pytest's session header: "platform linux -- Python 3.12.1, pytest-9.0.1, pluggy-1.6.0"
_PYTEST_VERSION = re.compile(r"\bpytest-(?P<major>\d+)\.\d+")
_COLLECTING = re.compile(r"ERROR collecting (\S+\.py)")
_NO_ADDOPTS = re.compile(r"""-o\s*['"]?addopts=""")
# coverage without its C tracer (a pure-Python wheel, as on a free-threaded build): what
# Cython.Coverage says, the import it tried, and coverage's own warning (an error under -W)
# meson-python's editable loader rebuilding with the build tools of a build env now gone
_EDITABLE_REBUILD = re.compile(r'rebuilding the "[^"]+" editable package failed')
_NO_C_TRACER = re.compile(
    r"Installed 'coverage' does not support plugins|No module named 'coverage\.tracer'"
    r"|Plugin file tracers \(.*\) aren't supported with"
)
# a traceback through coverage or pytest-cov: coverage could not start
_COVERAGE_FRAME = re.compile(r"""^\s*File "[^"]*/(?:coverage|pytest_cov)/""", re.MULTILINE)
_COV_FLAGS = frozenset(
    {"--cov", "--no-cov", "--no-cov-on-fail", "--cov-append", "--cov-branch", "--cov-reset"}
)
_COV_VALUED = frozenset(
    {"--cov-report", "--cov-config", "--cov-fail-under", "--cov-context", "--cov-precision"}
)


@dataclass(frozen=True)
class Fix:
    """A change to try: its description (for notes) and the new commands."""

    description: str
    install_command: str | None
    test_command: str | None

    def apply(self, entry: PackageEntry) -> PackageEntry:
        return entry.model_copy(
            update={"install_command": self.install_command, "test_command": self.test_command}
        )


def installed_by(install_command: str | None) -> set[str]:
    """Canonical names of what the install command's ``pip install`` steps name."""
    names: set[str] = set()
    for tokens in split_steps(install_command):
        if tokens[:2] != ["pip", "install"] and tokens[:4] != ["python", "-m", "pip", "install"]:
            continue
        skip = False
        for token in tokens[2 if tokens[0] == "pip" else 4 :]:
            if skip:
                skip = False
            elif token in ("-r", "-c", "--requirement", "--constraint", "-e", "--editable"):
                skip = True
            elif not token.startswith(("-", ".")):
                name = re.split(r"[\[<>=!~; ]", token, maxsplit=1)[0]
                if name:
                    names.add(canonical(name))
    return names


def add_requirements(install_command: str | None, requirements: list[str]) -> str:
    """The install command with ``requirements`` installed at the end."""
    base = (install_command or "").strip()
    quoted = " ".join(shlex.quote(r) for r in requirements)
    steps = split_steps(base)
    last = steps[-1] if steps else []
    plain_pip = last[:2] == ["pip", "install"] and not {"-e", "-r", "--editable"} & set(last)
    if plain_pip and base.endswith(shlex.join(last)):
        return f"{base} {quoted}"
    return f"{base} && pip install {quoted}" if base else f"pip install {quoted}"


def remove_requirement(install_command: str | None, name: str) -> str | None:
    """The install command without ``name`` in its plain ``pip install`` steps, or None."""
    wanted = canonical(name)
    steps = []
    removed = False
    for tokens in split_steps(install_command):
        if tokens[:2] == ["pip", "install"] and not {"-e", "-r", "--editable"} & set(tokens):
            kept = [
                t
                for t in tokens
                if t.startswith("-")
                or canonical(re.split(r"[\[<>=!~; ]", t, maxsplit=1)[0]) != wanted
            ]
            removed = removed or len(kept) != len(tokens)
            if len(kept) > 2:
                steps.append(shlex.join(kept))
            continue
        steps.append(shlex.join(tokens))
    return " && ".join(steps) if removed else None


def _with_test_args(test_command: str | None, args: list[str]) -> str:
    return f"{(test_command or 'python -m pytest').strip()} {shlex.join(args)}"


def _is_coverage_plugin(name: str) -> bool:
    """`-p pytest_cov`, `-p Cython.Coverage`, `-p covdefaults`; never `-p no:cov`."""
    return not name.startswith("no:") and "cov" in name.lower()


def without_coverage_options(args: list[str]) -> list[str]:
    """`args` (pytest's) without pytest-cov's options and `-p` of coverage plugins."""
    kept: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        name, has_value = arg.split("=", 1)[0], "=" in arg
        following = args[index + 1] if index + 1 < len(args) else None
        if name == "--cov":
            # --cov's value is optional: argparse takes the next token unless it is an option
            takes_next = not has_value and following is not None and not following.startswith("-")
            index += 2 if takes_next else 1
        elif name in _COV_FLAGS:
            index += 1
        elif name in _COV_VALUED:
            index += 1 if has_value else 2
        elif arg == "-p" and following is not None and _is_coverage_plugin(following):
            index += 2
        elif arg.startswith("-p") and len(arg) > 2 and _is_coverage_plugin(arg[2:]):
            index += 1
        else:
            kept.append(arg)
            index += 1
    return kept


def drop_coverage(test_command: str | None) -> str | None:
    """The test command without coverage options, also inside `-o addopts=...`; None when
    it has none (they come from the ini file's addopts)."""
    tokens = shlex.split(test_command or "python -m pytest")
    rewritten = [
        _addopts_without_coverage(token) if before in ("-o", "--override-ini") else token
        for before, token in zip(["", *tokens], tokens, strict=False)
    ]
    rewritten = without_coverage_options(rewritten)
    return shlex.join(rewritten) if rewritten != tokens else None


def _addopts_without_coverage(override: str) -> str:
    if not override.startswith("addopts="):
        return override
    return "addopts=" + shlex.join(without_coverage_options(shlex.split(override[8:])))


def _coverage_fix(
    reason: str, log: str, install: str | None, test: str | None
) -> tuple[str, str | None, str | None] | None:
    """Coverage that cannot start: run the tests without it (apiary needs no coverage)."""
    if _NO_C_TRACER.search(reason) or _NO_C_TRACER.search(log):
        cause = "a coverage plugin needs coverage's C tracer, which this interpreter lacks"
    elif _COVERAGE_FRAME.search(log):
        cause = "coverage could not start"
    else:
        return None
    dropped = drop_coverage(test)
    if dropped is not None:
        return f"{cause} -> the coverage options dropped", install, dropped
    if _NO_ADDOPTS.search(test or ""):
        return None
    return f"{cause} -> -o addopts=''", install, _with_test_args(test, ["-o", "addopts="])


def propose_fix(  # noqa: C901
    entry: PackageEntry,
    outcome: Outcome,
    reason: str | None,
    log: str = "",
    tried: frozenset[str] = frozenset(),
    version: str | None = None,
    pytest_version: str | None = None,
) -> Fix | None:
    """The next change worth a run, or None. ``tried`` holds the descriptions of fixes
    already made, so the same fix is never proposed twice; ``version`` is the package's
    (the released one stands in when its own build cannot start), ``pytest_version`` the
    pytest the run had (else read from the log's session header)."""
    reason = reason or ""
    install = entry.install_command
    test = entry.test_command
    have = installed_by(install)

    def fix(description: str, new_install: str | None, new_test: str | None) -> Fix | None:
        if description in tried:
            return None
        return Fix(description, new_install, new_test)

    if outcome is Outcome.INSTALL_ERROR:
        change = _install_fix(entry, reason, log, version)
        return fix(*change) if change is not None else None
    if outcome not in (Outcome.CONFIG_ERROR, Outcome.IMPORT_ERROR):
        return None

    older = _older_pytest(reason, log, install, pytest_version)
    if older is not None:
        made = fix(*older, test)
        if made is not None:
            return made
    siblings = _sibling_fix(log, test)
    if siblings is not None:
        made = fix(siblings[0], install, siblings[1])
        if made is not None:
            return made
    built = built_install(install) if _EDITABLE_REBUILD.search(log or reason) else None
    if built is not None:
        return fix(
            "the editable install rebuilds on import without its build tools -> "
            "installed as a wheel, tested as installed",
            built,
            against_installed(test),
        )
    # before missing modules: coverage without a C tracer also says `coverage.tracer`
    tracer = _coverage_fix(reason, log, install, test) if _NO_C_TRACER.search(log) else None
    if tracer is not None:
        return fix(*tracer)
    own = {canonical(entry.package), canonical(entry.effective_import_name)}
    modules = [
        m
        for m in missing_modules(log or reason) or _reason_modules(reason)
        if not is_stdlib(m)
        and canonical(m.split(".")[0]) not in own
        and not SUITE_MODULE.match(m.split(".")[0])
    ]
    dists = [distribution_for(m) for m in modules]
    # a dependency dropped because it does not install is not brought back
    dropped = {canonical(t.split(" ", 1)[0]) for t in tried if t.endswith(NOT_INSTALLED)}
    new = [d for d in dict.fromkeys(dists) if canonical(d) not in have | dropped]
    if new:
        description = "missing " + ", ".join(
            f"{m} -> pip install {d}" for m, d in zip(modules, dists, strict=True) if d in new
        )
        installed = fix(description, add_requirements(install, new), test)
        if installed is not None:
            return installed
    pinned = _before_removal(modules, install)
    if pinned is not None:
        made = fix(*pinned, test)
        if made is not None:
            return made
    if outcome is Outcome.IMPORT_ERROR:
        return None
    coverage = _coverage_fix(reason, log, install, test)
    if coverage is not None:
        return fix(*coverage)

    unrecognized = _UNRECOGNIZED.search(log) or _UNRECOGNIZED.search(reason)
    if unrecognized:
        options = [a.split("=", 1)[0] for a in unrecognized.group("args").split()]
        plugins = [OPTION_TO_DIST[o] for o in options if OPTION_TO_DIST.get(o)]
        plugins = [p for p in dict.fromkeys(plugins) if canonical(p) not in have]
        if plugins:
            made = fix(
                f"unrecognized {' '.join(options)} -> pip install {' '.join(plugins)}",
                add_requirements(install, plugins),
                test,
            )
            if made is not None:
                return made
        if not _NO_ADDOPTS.search(test or ""):
            return fix(
                f"unrecognized {' '.join(options)} in addopts -> -o addopts=''",
                install,
                _with_test_args(test, ["-o", "addopts="]),
            )
    unknown_ini = _UNKNOWN_INI.search(log) or _UNKNOWN_INI.search(reason)
    if unknown_ini:
        key = unknown_ini.group("key")
        plugin = INI_KEY_TO_DIST.get(key)
        if plugin and canonical(plugin) not in have:
            return fix(
                f"unknown ini option {key} -> pip install {plugin}",
                add_requirements(install, [plugin]),
                test,
            )
        return fix(
            f"unknown ini option {key} under strict config -> -o strict_config=false",
            install,
            _with_test_args(test, ["-o", "strict_config=false", "-o", "addopts="]),
        )
    not_found = _NOT_FOUND.search(reason) or _NOT_FOUND.search(log)
    if not_found and test:
        path = not_found.group("path").split("::")[0]
        tokens = shlex.split(test)
        if path in tokens:
            tokens.remove(path)
            return fix(
                f"{path} not found -> dropped from the test command", install, shlex.join(tokens)
            )
    warning = _warning_raised(reason, log)
    if warning is not None:
        name, when = warning
        return fix(
            f"{name} raised as an error {when} -> -W ignore::{name}",
            install,
            _with_test_args(test, ["-W", f"ignore::{name}"]),
        )
    return None


def _older_pytest(
    reason: str, log: str, install: str | None, pytest_version: str | None
) -> tuple[str, str] | None:
    """A suite written against a pytest internal that the installed pytest dropped: the
    pytest of the major before (and the one before that on the next round)."""
    gone = _PYTEST_GONE.search(reason) or _PYTEST_GONE.search(log)
    header = _PYTEST_VERSION.search(log)
    major = (pytest_version or "").split(".")[0] or (header.group("major") if header else "")
    if gone is None or not major.isdigit() or int(major) <= 1:
        return None
    what = next(g for g in gone.groups() if g)
    pin = f"pytest<{major}"
    return f"{what} is gone from pytest {major} -> {pin}", add_requirements(install, [pin])


def _before_removal(modules: list[str], install: str | None) -> tuple[str, str] | None:
    """A module its distribution no longer has although it is installed
    (``pkg_resources``, gone from setuptools 82): the last versions that had it."""
    for module in modules:
        pin = REMOVED_MODULES.get(module.split(".")[0])
        if pin is not None and pin not in (install or ""):
            return f"{module} is gone from current releases -> {pin}", add_requirements(
                install, [pin]
            )
    return None


def _sibling_fix(log: str, test: str | None) -> tuple[str, str] | None:
    """Test modules that import their siblings by bare name (dill's `import test_mixins`):
    the folders of the files that failed to collect go on PYTHONPATH."""
    modules = [m for m in missing_modules(log) if "." not in m and SUITE_MODULE.match(m)]
    folders = sorted({str(PurePosixPath(p).parent) for p in _COLLECTING.findall(log)} - {".", ""})
    steps = split_steps(test or "python -m pytest")
    if not modules or not folders or any(t.startswith("PYTHONPATH=") for t in steps[0]):
        return None
    path = "PYTHONPATH=" + ":".join(folders)
    new = " && ".join(shlex.join([path, *tokens]) for tokens in steps)
    return f"{', '.join(modules)} imported by bare name beside the tests -> {path}", new


def _warning_raised(reason: str, log: str) -> tuple[str, str] | None:
    """(warning class, when) for a warning that ``filterwarnings = error`` turned into an
    error before any test ran: at collection (``E   ...``), or at configure time, where a
    plugin's warning is an INTERNALERROR."""
    if "collection error" in reason or "ERROR collecting" in log:
        errors = "\n".join(line for line in log.splitlines() if line.startswith("E "))
        found = _WARNING_ERROR.search(reason) or _WARNING_ERROR.search(errors)
        if found:
            return found.group("cls"), "at collection"
    raised = _INTERNAL_WARNING.search(log)
    if raised:
        return raised.group("cls"), "at configure time (INTERNALERROR)"
    return None


NOT_INSTALLED = ": not installed"


def _install_fix(
    entry: PackageEntry, reason: str, log: str, version: str | None
) -> tuple[str, str | None, str | None] | None:
    """A test dependency PyPI lacks or that does not build here is left out; a project
    whose build requirements cannot be installed is installed as released instead."""
    install, test = entry.install_command, entry.test_command
    absent = _NO_DIST.search(reason) or _NO_DIST.search(log)
    if absent:
        name = absent.group("pip") or absent.group("uv")
        smaller = remove_requirement(install, name)
        if smaller is not None:
            return f"{name} is not on PyPI{NOT_INSTALLED}", smaller, test
    for name in _failed_builds(reason + "\n" + log):
        smaller = remove_requirement(install, name)
        if smaller is not None:
            return f"{name} does not build here{NOT_INSTALLED}", smaller, test
    if version and _BUILD_REQUIRES_FAILED.search(log):
        released = released_install(install, entry.package, version)
        if released is not None:
            return (
                f"the build requirements of {entry.package} do not install -> "
                f"the released {entry.package}=={version}",
                released,
                test,
            )
    if version:
        return _wheel_fix(entry, log, version)
    return None


# what the machine lacks: no build of the project can work here, its released wheel can
_MISSING_HERE = {
    InstallFailure.SYSTEM_LIBRARY: "a system library or header is missing",
    InstallFailure.NO_COMPILER: "no compiler for its code",
}


def _wheel_fix(
    entry: PackageEntry, log: str, version: str
) -> tuple[str, str | None, str | None] | None:
    """The project's own build needs what the machine lacks: its released wheel of the
    same version, and the sdist's tests run against it."""
    lacks = _MISSING_HERE.get(install_failure(log))
    wheel = released_install(entry.install_command, entry.package, version, wheel_only=True)
    if lacks is None or wheel is None:
        return None
    return (
        f"{entry.package} does not build here ({lacks}) -> "
        f"the released wheel of {entry.package}=={version}",
        wheel,
        against_installed(entry.test_command),
    )


def _failed_builds(text: str) -> list[str]:
    """Distributions pip or uv say they could not build."""
    names = (next(g for g in m.groups() if g) for m in _FAILED_BUILD.finditer(text))
    return list(dict.fromkeys(names))


def _reason_modules(reason: str) -> list[str]:
    match = re.match(r"missing modules?: (?P<names>.+)$", reason)
    return [n.strip() for n in match.group("names").split(",")] if match else []
