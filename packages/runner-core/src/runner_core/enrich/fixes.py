"""What to change in an entry after a run that did not get to the tests' verdict.

Pure functions over an outcome, its one-line reason and the step's log text, tested as a
table. Each fix changes the install or the test command; None means nothing to try.
"""

from __future__ import annotations

import itertools
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from normalized_events import Outcome
from registry_core import PackageEntry
from runner_core.commands import split_steps
from runner_core.enrich.collection_errors import Candidate, isolate, offline
from runner_core.enrich.distnames import (
    INI_KEY_TO_DIST,
    OPTION_TO_DIST,
    REMOVED_MODULES,
    canonical,
    distribution_for,
    is_stdlib,
)
from runner_core.enrich.edits import (
    add_requirements,
    drop_coverage,
    drop_options,
    installed_by,
    with_test_args,
)
from runner_core.enrich.install_fixes import NOT_INSTALLED, install_fix
from runner_core.enrich.local_imports import is_suite_module
from runner_core.enrich.released import against_installed, built_install
from runner_core.outcomes import missing_modules

_UNRECOGNIZED = re.compile(r"unrecognized arguments: (?P<args>.+)$", re.MULTILINE)
_UNKNOWN_INI = re.compile(r"[Uu]nknown config option: (?P<key>[\w.-]+)")
_NOT_FOUND = re.compile(r"(?:file or directory|module or package) not found: (?P<path>\S+)")
# a warning raised as a collection error: any class (markdown's pytest.PytestCollectionWarning)
_WARNING_ERROR = re.compile(
    r"(?:^E\s+|collection error: )(?P<cls>(?:\w+\.)*\w*Warning)\b", re.MULTILINE
)
# the exception line of pytest's INTERNALERROR traceback, when the exception is a warning
_INTERNAL_WARNING = re.compile(r"^INTERNALERROR> (?P<cls>(?:\w+\.)*\w*Warning): ", re.MULTILINE)
# the suite uses a part of pytest that the pytest installed no longer has
_PYTEST_GONE = re.compile(
    r"cannot import name '(?P<name>\w+)' from '_pytest[\w.]*'"
    r"|No module named '(?P<module>_pytest\.[\w.]+)'"
    r"|module '_?pytest[\w.]*' has no attribute '(?P<attr>\w+)'"
    # an internal of one of pytest's own objects, reached from a plugin or a conftest
    r"|'(?:FixtureManager|FixtureDef|FixtureRequest|SubRequest|Config|Session|Metafunc"
    r"|PytestPluginManager|TerminalReporter|CallSpec2)' object has no attribute '(?P<member>\w+)'"
    # a hook argument pytest no longer passes (html5lib's `pytest_collect_file(path, ...)`)
    r"|Argument\(s\) \{'(?P<hookarg>\w+)'\} are declared in the hookimpl but can not be found"
)
# pytest's session header: "platform linux -- Python 3.12.1, pytest-9.0.1, pluggy-1.6.0"
_PYTEST_VERSION = re.compile(r"\bpytest-(?P<major>\d+)\.\d+")
_COLLECTING = re.compile(r"ERROR collecting (\S+\.py)")
# a library's own words for an optional dependency it needs (starlette's test client:
# "requires the httpx2 package to be installed")
_REQUIRES_PACKAGE = re.compile(
    r"requires the [`'\"]?(?P<dist>[A-Za-z0-9][\w.-]*)[`'\"]? (?:package|library)"
    r" to be installed"
)
# pytest-cov's and coverage's words for a total under the threshold: no test failed
_COVERAGE_UNDER = re.compile(
    r"Required test coverage of [\d.]+% not reached|total of [\d.]+ is less than fail-under"
)
_XDIST_MARKER = re.compile(r"'xdist_\w+' not found in `markers` configuration option")
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


@dataclass(frozen=True)
class Fix:
    """A change to try: its description (for notes) and the new commands."""

    description: str
    install_command: str | None
    test_command: str | None
    timeout: int | None = None  # a new time limit for the suite, in seconds

    def apply(self, entry: PackageEntry) -> PackageEntry:
        update: dict[str, object] = {
            "install_command": self.install_command,
            "test_command": self.test_command,
        }
        if self.timeout is not None:
            update["timeout"] = self.timeout
        return entry.model_copy(update=update)


def _coverage_fix(
    reason: str, log: str, install: str | None, test: str | None
) -> tuple[str, str | None, str | None] | None:
    """Coverage that cannot start: run the tests without it (apiary needs no coverage)."""
    if _NO_C_TRACER.search(reason) or _NO_C_TRACER.search(log):
        cause = "a coverage plugin needs coverage's C tracer, which this interpreter lacks"
    elif _COVERAGE_FRAME.search(log):
        cause = "coverage could not start"
    elif _COVERAGE_UNDER.search(reason) or _COVERAGE_UNDER.search(log):
        cause = "the tests ran, under a coverage threshold"
    else:
        return None
    dropped = drop_coverage(test)
    if dropped is not None:
        return f"{cause} -> the coverage options dropped", install, dropped
    if _NO_ADDOPTS.search(test or ""):
        return None
    return f"{cause} -> -o addopts=''", install, with_test_args(test, ["-o", "addopts="])


@dataclass(frozen=True)
class _Failure:
    """What one run that did not reach the tests' verdict left to go on."""

    entry: PackageEntry
    reason: str
    log: str
    tried: frozenset[str]
    version: str | None
    pytest_version: str | None

    @property
    def install(self) -> str | None:
        return self.entry.install_command

    @property
    def test(self) -> str | None:
        return self.entry.test_command

    def found(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        return pattern.search(self.log) or pattern.search(self.reason)


Rule = Callable[[_Failure], Iterable[Candidate]]


def propose_fix(
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
    failure = _Failure(entry, reason or "", log, tried, version, pytest_version)
    for rule in _RULES.get(outcome, ()):
        for description, install, test in rule(failure):
            if description not in tried:
                return Fix(description, install, test)
    return None


def _install_rule(failure: _Failure) -> Iterable[Candidate]:
    change = install_fix(failure.entry, failure.reason, failure.log, failure.version)
    return [change] if change is not None else []


def _pytest_rule(failure: _Failure) -> Iterable[Candidate]:
    older = _older_pytest(failure.reason, failure.log, failure.install, failure.pytest_version)
    return [(*older, failure.test)] if older is not None else []


def _sibling_rule(failure: _Failure) -> Iterable[Candidate]:
    siblings = _sibling_fix(failure.log, failure.test)
    return [(siblings[0], failure.install, siblings[1])] if siblings is not None else []


def _rebuild_rule(failure: _Failure) -> Iterable[Candidate]:
    if not _EDITABLE_REBUILD.search(failure.log or failure.reason):
        return []
    built = built_install(failure.install)
    if built is None:
        return []
    description = (
        "the editable install rebuilds on import without its build tools -> "
        "installed as a wheel, tested as installed"
    )
    return [(description, built, against_installed(failure.test))]


def _tracer_rule(failure: _Failure) -> Iterable[Candidate]:
    """Before missing modules: coverage without a C tracer also says `coverage.tracer`."""
    if not _NO_C_TRACER.search(failure.log):
        return []
    return _coverage_rule(failure)


def _coverage_rule(failure: _Failure) -> Iterable[Candidate]:
    change = _coverage_fix(failure.reason, failure.log, failure.install, failure.test)
    return [change] if change is not None else []


def _missing_modules(failure: _Failure) -> list[str]:
    """Modules the run missed that are neither the standard library's nor the suite's."""
    entry = failure.entry
    own = {canonical(entry.package), canonical(entry.effective_import_name)}
    return [
        m
        for m in missing_modules(failure.log or failure.reason) or _reason_modules(failure.reason)
        if not is_stdlib(m)
        and canonical(m.split(".")[0]) not in own
        and not is_suite_module(m.split(".")[0])
    ]


def _missing_rule(failure: _Failure) -> Iterable[Candidate]:
    modules = _missing_modules(failure)
    dists = [distribution_for(m) for m in modules]
    # a dependency dropped because it does not install is not brought back
    dropped = {canonical(t.split(" ", 1)[0]) for t in failure.tried if t.endswith(NOT_INSTALLED)}
    have = installed_by(failure.install)
    new = [d for d in dict.fromkeys(dists) if canonical(d) not in have | dropped]
    if not new:
        return []
    description = "missing " + ", ".join(
        f"{m} -> pip install {d}" for m, d in zip(modules, dists, strict=True) if d in new
    )
    return [(description, add_requirements(failure.install, new), failure.test)]


def _required_package_rule(failure: _Failure) -> Iterable[Candidate]:
    """A library that says which package it needs, in an error instead of an import."""
    named = [m.group("dist") for m in _REQUIRES_PACKAGE.finditer(failure.log or failure.reason)]
    have = installed_by(failure.install)
    new = [d for d in dict.fromkeys(named) if canonical(d) not in have]
    if not new:
        return []
    description = "a library requires " + ", ".join(new) + " -> pip install " + " ".join(new)
    return [(description, add_requirements(failure.install, new), failure.test)]


def _removed_rule(failure: _Failure) -> Iterable[Candidate]:
    pinned = _before_removal(_missing_modules(failure), failure.install)
    return [(*pinned, failure.test)] if pinned is not None else []


def _unrecognized_rule(failure: _Failure) -> Iterable[Candidate]:
    """Options of a plugin the venv lacks: the plugin, else the ini file's addopts off."""
    unrecognized = failure.found(_UNRECOGNIZED)
    if not unrecognized:
        return
    options = [a.split("=", 1)[0] for a in unrecognized.group("args").split()]
    have = installed_by(failure.install)
    plugins = [OPTION_TO_DIST[o] for o in options if OPTION_TO_DIST.get(o)]
    plugins = [p for p in dict.fromkeys(plugins) if canonical(p) not in have]
    if plugins:
        yield (
            f"unrecognized {' '.join(options)} -> pip install {' '.join(plugins)}",
            add_requirements(failure.install, plugins),
            failure.test,
        )
    dropped = drop_options(failure.test, options)
    if dropped is not None:
        what = f"unrecognized {' '.join(options)} in the test command -> dropped"
        yield (what, failure.install, dropped)
    elif not _NO_ADDOPTS.search(failure.test or ""):
        yield (
            f"unrecognized {' '.join(options)} in addopts -> -o addopts=''",
            failure.install,
            with_test_args(failure.test, ["-o", "addopts="]),
        )


def _unknown_ini_rule(failure: _Failure) -> Iterable[Candidate]:
    unknown_ini = failure.found(_UNKNOWN_INI)
    if not unknown_ini:
        return []
    key = unknown_ini.group("key")
    plugin = INI_KEY_TO_DIST.get(key)
    if plugin and canonical(plugin) not in installed_by(failure.install):
        return [
            (
                f"unknown ini option {key} -> pip install {plugin}",
                add_requirements(failure.install, [plugin]),
                failure.test,
            )
        ]
    return [
        (
            f"unknown ini option {key} under strict config -> -o strict_config=false",
            failure.install,
            with_test_args(failure.test, ["-o", "strict_config=false", "-o", "addopts="]),
        )
    ]


def _not_found_rule(failure: _Failure) -> Iterable[Candidate]:
    not_found = _NOT_FOUND.search(failure.reason) or _NOT_FOUND.search(failure.log)
    if not not_found or not failure.test:
        return []
    path = not_found.group("path").split("::")[0]
    tokens = shlex.split(failure.test)
    if path not in tokens:
        return []
    tokens.remove(path)
    description = f"{path} not found -> dropped from the test command"
    return [(description, failure.install, shlex.join(tokens))]


def _offline_rule(failure: _Failure) -> Iterable[Candidate]:
    return offline(failure.log, failure.install, failure.test)


def _xdist_marker_rule(failure: _Failure) -> Iterable[Candidate]:
    """`-p no:xdist` also unregisters xdist's markers, which strict markers then refuse
    (psutil's `xdist_group`): xdist stays loaded, with no workers (`-n 0`)."""
    tokens = shlex.split(failure.test or "")
    pairs = list(itertools.pairwise(tokens))
    if not failure.found(_XDIST_MARKER) or ("-p", "no:xdist") not in pairs:
        return []
    at = pairs.index(("-p", "no:xdist"))
    fixed = shlex.join([*tokens[:at], "-n", "0", *tokens[at + 2 :]])
    return [("xdist's markers unknown under -p no:xdist -> -n 0", failure.install, fixed)]


def _isolate_rule(failure: _Failure) -> Iterable[Candidate]:
    return isolate(failure.log, failure.install, failure.test)


def _warning_rule(failure: _Failure) -> Iterable[Candidate]:
    warning = _warning_raised(failure.reason, failure.log)
    if warning is None:
        return []
    name, when = warning
    return [
        (
            f"{name} raised as an error {when} -> -W ignore::{name}",
            failure.install,
            with_test_args(failure.test, ["-W", f"ignore::{name}"]),
        )
    ]


# the rules in the order they are tried: the first change not yet tried is the next fix
_IMPORT_RULES: tuple[Rule, ...] = (
    _pytest_rule,
    _sibling_rule,
    _rebuild_rule,
    _tracer_rule,
    _missing_rule,
    _required_package_rule,
    _removed_rule,
)
_RULES: dict[Outcome, tuple[Rule, ...]] = {
    Outcome.INSTALL_ERROR: (_install_rule,),
    Outcome.IMPORT_ERROR: _IMPORT_RULES,
    Outcome.CONFIG_ERROR: (
        *_IMPORT_RULES,
        _coverage_rule,
        _unrecognized_rule,
        _unknown_ini_rule,
        _not_found_rule,
        _offline_rule,
        _warning_rule,
        _xdist_marker_rule,
        _isolate_rule,
    ),
}


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
    modules = [m for m in missing_modules(log) if "." not in m and is_suite_module(m)]
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


def _reason_modules(reason: str) -> list[str]:
    match = re.match(r"missing modules?: (?P<names>.+)$", reason)
    return [n.strip() for n in match.group("names").split(",")] if match else []
