"""From a tree's configuration and test layout to proposed registry fields, with evidence."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from runner_core.enrich.config import ProjectConfig, requirement_name
from runner_core.enrich.declared import (
    XDIST_OPTIONS,
    declared,
    for_tests,
    normalized,
    option_plugins,
    strip_xdist,
    unpinned,
    warning_modules,
)
from runner_core.enrich.distnames import (
    FIXTURE_TO_DIST,
    INI_KEY_TO_DIST,
    MARKER_TO_DIST,
    canonical,
    distribution_for,
    import_key,
    is_stdlib,
)
from runner_core.enrich.finding import Finding
from runner_core.enrich.import_names import import_name
from runner_core.enrich.released import against_installed
from runner_core.enrich.tests_layout import TestLayout

_COLLECTED = re.compile(r"^(test_.*|.*_test)\.py$")


@dataclass
class Dependency:
    requirement: str
    why: str

    @property
    def name(self) -> str:
        return requirement_name(self.requirement) or self.requirement


@dataclass
class Proposal:
    """What scan proposes for a registry entry, field by field, with the evidence."""

    package: str | None
    install_command: Finding
    test_command: Finding
    uses_xdist: Finding
    clone_depth: Finding
    import_name: Finding
    timeout: Finding
    extension_type: Finding
    has_tests: bool
    missing_local: list[str] = field(default_factory=list)
    # test files left out because they import what the tree lacks (the rest runs)
    ignored: list[str] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    optional: list[Dependency] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    FIELDS = (
        "install_command",
        "test_command",
        "uses_xdist",
        "clone_depth",
        "import_name",
        "timeout",
    )

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name).value for name in self.FIELDS}

    def as_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "has_tests": self.has_tests,
            "missing_local": self.missing_local,
            "ignored": self.ignored,
            "fields": {
                name: {"value": getattr(self, name).value, "evidence": getattr(self, name).evidence}
                for name in (*self.FIELDS, "extension_type")
            },
            "dependencies": [
                {"requirement": d.requirement, "why": d.why} for d in self.dependencies
            ],
            "optional": [{"requirement": d.requirement, "why": d.why} for d in self.optional],
            "notes": self.notes,
        }


@dataclass
class _Needs:
    """The test dependencies found so far, each with why; never one the project has."""

    covered: set[str]
    deps: dict[str, Dependency] = field(default_factory=dict)
    optional: dict[str, Dependency] = field(default_factory=dict)

    def add(self, requirement: str, why: str) -> None:
        dist = requirement_name(requirement) or canonical(requirement)
        if dist in self.covered or dist in self.deps or not dist:
            return
        self.deps[dist] = Dependency(normalized(requirement), why)

    def add_optional(self, dist: str, why: str) -> None:
        if canonical(dist) not in self.deps:
            self.optional[canonical(dist)] = Dependency(dist, why)


def propose(package: str | None, config: ProjectConfig, layout: TestLayout) -> Proposal:
    """The registry fields for the tree that ``config`` and ``layout`` describe."""
    name = package or config.name
    own = canonical(name) if name else None
    needs = _Needs(covered=set(config.runtime_names()) | ({own} if own else set()))
    extra, listed, declared_from = declared(config)
    if extra is not None:
        needs.covered.update(n for n in map(requirement_name, config.extras.get(extra, [])) if n)
    _declared_needs(needs, listed, declared_from)
    _config_needs(needs, config, layout)
    ignored = runs_without(layout)
    _layout_needs(needs, layout, ignored)
    addopts = config.pytest.addopts if config.pytest else []
    uses_xdist = _uses_xdist(needs, config, layout, addopts, (extra, declared_from))
    test_command = _test_command(config, layout, addopts, bool(uses_xdist.value))
    return Proposal(
        package=name,
        install_command=_install_command(needs, extra, declared_from, config.build_backend),
        test_command=_ignoring(_installed(test_command, config), ignored, layout),
        uses_xdist=uses_xdist,
        clone_depth=_clone_depth(config),
        import_name=import_name(name, config, layout),
        timeout=_timeout(layout),
        extension_type=_extension_type(layout),
        has_tests=bool(layout.test_files),
        missing_local=layout.missing_local,
        ignored=ignored,
        dependencies=list(needs.deps.values()),
        optional=list(needs.optional.values()),
        notes=_notes(config, layout),
    )


def _declared_needs(needs: _Needs, listed: list[str], declared_from: str) -> None:
    needs.add("pytest", "the test runner")
    for requirement in listed:
        dist = requirement_name(requirement)
        if dist and (for_tests(dist) or dist in {"pytest", "pytest-xdist"}):
            needs.add(unpinned(requirement), declared_from)


def _config_needs(needs: _Needs, config: ProjectConfig, layout: TestLayout) -> None:
    """Plugins the pytest configuration asks for: by option, ini key, warning class."""
    ini = config.pytest
    for dist, option in option_plugins(ini.addopts if ini else [], layout.local_names):
        needs.add(dist, f"addopts {option} ({ini.source if ini else ''})")
    if ini is None:
        return
    for key in ini.options:
        if key in INI_KEY_TO_DIST:
            needs.add(INI_KEY_TO_DIST[key], f"ini option {key} ({ini.source})")
    for module, item in warning_modules(ini.filterwarnings):
        key = import_key(module)
        if not is_stdlib(key) and not layout.provides(key):
            needs.add(distribution_for(key), f"filterwarnings {item!r} imports {module}")


def _layout_needs(needs: _Needs, layout: TestLayout, ignored: list[str]) -> None:
    """What the tests use: fixtures, markers and imports of other distributions; never
    what only the ``ignored`` files and folders (those that cannot run) import."""
    left_out = {PurePosixPath(rel) for rel in ignored}
    for fixture, files in sorted(layout.fixtures.items()):
        if FIXTURE_TO_DIST.get(fixture):
            needs.add(FIXTURE_TO_DIST[fixture], f"fixture {fixture} in {sorted(files)[0]}")
    for marker, files in sorted(layout.markers.items()):
        needs.add(MARKER_TO_DIST[marker], f"marker pytest.mark.{marker} in {sorted(files)[0]}")
    for key, use in sorted(layout.third_party().items()):
        dist = distribution_for(key)
        if canonical(dist) in needs.covered or all(
            PurePosixPath(rel) in left_out or _under(rel, left_out) for rel in use.files
        ):
            continue
        first = sorted(use.files)[0]
        if use.optional:
            needs.add_optional(dist, f"optional import {key} in {first}")
        elif use.marker:
            needs.add(f"{dist}; {use.marker}", f"import {key} in {first} when {use.marker}")
        else:
            needs.add(dist, f"import {key} in {first}")


def _install_command(
    needs: _Needs, extra: str | None, declared_from: str, backend: str | None
) -> Finding:
    project = f".[{extra}]" if extra else "."
    if backend in REBUILT_ON_IMPORT:
        evidence = [f"pip install {project}: the project itself, as a wheel ({backend} {REBUILDS})"]
        install = f"pip install {shlex.quote(project)}"
    else:
        evidence = [f"pip install -e {project}: the project itself, editable"]
        install = f"pip install -e {shlex.quote(project)}"
    if extra:
        evidence.append(f"test dependencies from {declared_from}")
    if needs.deps:
        install += " && pip install " + " ".join(
            shlex.quote(d.requirement) for d in needs.deps.values()
        )
        evidence += [f"{d.requirement}: {d.why}" for d in needs.deps.values()]
    return Finding(install, evidence)


def _uses_xdist(
    needs: _Needs,
    config: ProjectConfig,
    layout: TestLayout,
    addopts: list[str],
    source: tuple[str | None, str],
) -> Finding:
    """Whether the suite is written for xdist workers (apiary runs it in one process)."""
    extra, declared_from = source
    evidence = []
    if any(a.split("=")[0] in XDIST_OPTIONS or re.match(r"^-n\S", a) for a in addopts):
        evidence.append(f"addopts runs workers ({config.pytest.source if config.pytest else ''})")
    if "pytest-xdist" in needs.deps:
        evidence.append(f"pytest-xdist: {needs.deps['pytest-xdist'].why}")
    elif extra is not None and "pytest-xdist" in map(requirement_name, config.extras[extra]):
        evidence.append(f"pytest-xdist: in {declared_from}")
    if "xdist" in layout.imports:
        evidence.append("tests import xdist")
    return Finding(bool(evidence), evidence or ["no xdist in addopts or dependencies"])


def _test_command(
    config: ProjectConfig, layout: TestLayout, addopts: list[str], uses_xdist: bool
) -> Finding:
    args, evidence = _test_paths(config, layout)
    args = ["python", "-m", "pytest", *args]
    if uses_xdist:
        args += ["-p", "no:xdist"]
        evidence.append("-p no:xdist: the JIT is tested in one process")
        stripped = strip_xdist(addopts)
        if stripped != addopts:
            args += ["-o", f"addopts={shlex.join(stripped)}"]
            evidence.append("addopts overridden without the xdist options")
    if layout.uses_unittest_only:
        evidence.append("unittest-style tests, collected by pytest")
    for command in config.tox_commands[:2]:
        evidence.append(f"tox.ini runs: {command}")
    for argv in config.nox_commands[:2]:
        evidence.append(f"noxfile.py runs: {' '.join(argv)}")
    return Finding(shlex.join(args), evidence)


# Build backends whose editable install rebuilds the project on import, with build tools
# that are gone by then: the project is installed as a wheel and tested as installed.
REBUILT_ON_IMPORT = frozenset({"mesonpy"})
REBUILDS = "rebuilds an editable install on import"


def _installed(found: Finding, config: ProjectConfig) -> Finding:
    if config.build_backend not in REBUILT_ON_IMPORT:
        return found
    why = "PYTHONSAFEPATH=1 and --import-mode=append: the tests import the installed wheel"
    return Finding(against_installed(str(found.value)), [*found.evidence, why])


def runs_without(layout: TestLayout) -> list[str]:
    """What to leave out (test files and folders) so that the rest of a suite whose tree
    lacks some of its modules runs: the test files that import what is missing, and the
    whole folder of a conftest or package ``__init__`` that does (everything below it
    imports it). Empty when nothing is missing, or when nothing would be left to run."""
    lacking = set(layout.lacking)
    folders = {
        PurePosixPath(rel).parent
        for rel in lacking
        if PurePosixPath(rel).name in ("conftest.py", "__init__.py")
    }
    if not lacking or PurePosixPath(".") in folders:
        return []
    folders = {f for f in folders if not any(o in f.parents for o in folders)}
    files = [rel for rel in layout.test_files if rel in lacking and not _under(rel, folders)]
    left = [rel for rel in layout.test_files if rel not in lacking and not _under(rel, folders)]
    return sorted([*map(str, folders), *files]) if left else []


def _under(rel: str, folders: set[PurePosixPath]) -> bool:
    return any(folder in PurePosixPath(rel).parents for folder in folders)


def _ignoring(found: Finding, ignored: list[str], layout: TestLayout) -> Finding:
    if not ignored:
        return found
    command = shlex.join([*shlex.split(str(found.value)), *(f"--ignore={r}" for r in ignored)])
    places = {PurePosixPath(r) for r in ignored}
    total = len(layout.test_files)
    runs = sum(1 for rel in layout.test_files if rel not in ignored and not _under(rel, places))
    why = (
        f"{runs} of {total} test files run: "
        f"{', '.join(ignored[:3])}{' ...' if len(ignored) > 3 else ''} import modules "
        "this tree lacks (the git repository has the whole suite)"
    )
    return Finding(command, [*found.evidence, why])


def _test_paths(config: ProjectConfig, layout: TestLayout) -> tuple[list[str], list[str]]:
    """(paths to give pytest, evidence): pytest's own discovery when it finds the tests."""
    ini = config.pytest
    named_by_ini = ini is not None and "python_files" in ini.options
    if (
        layout.test_files
        and not named_by_ini
        and not any(_COLLECTED.match(Path(f).name) for f in layout.test_files)
    ):
        # pytest collects test_*.py and *_test.py only: name other test files explicitly.
        chosen = layout.test_files[:5]
        return chosen, [f"test files not named test_*.py: {', '.join(chosen)}"]
    if ini is not None and ini.testpaths:
        return [], [f"testpaths = {' '.join(ini.testpaths)} ({ini.source})"]
    if layout.test_dirs:
        chosen = layout.test_dirs[:3]
        return chosen, [f"tests in {', '.join(chosen)}"]
    if layout.test_files:
        chosen = layout.test_files[:3]
        return chosen, [f"test files {', '.join(chosen)}"]
    return [], []


def _clone_depth(config: ProjectConfig) -> Finding:
    if config.uses_scm:
        return Finding(50, [f"version from git tags: {config.uses_scm}"])
    return Finding(None, ["no version-from-git tool: a shallow clone is enough"])


def _timeout(layout: TestLayout) -> Finding:
    count = layout.test_functions
    seconds = 300 if count < 500 else 900 if count < 3000 else 1800
    return Finding(seconds, [f"{count} test functions in {len(layout.test_files)} files"])


def _extension_type(layout: TestLayout) -> Finding:
    if layout.compiled_sources:
        rust = any(s.endswith(".rs") for s in layout.compiled_sources)
        kind = "rust" if rust else "extensions"
        return Finding(kind, [f"compiled sources: {', '.join(layout.compiled_sources[:3])}"])
    if layout.packages:
        return Finding("pure", ["only Python sources"])
    return Finding("unknown", ["no compiled sources found"])


def _notes(config: ProjectConfig, layout: TestLayout) -> list[str]:
    notes = list(config.notes)
    if not layout.test_files:
        notes.append("no test files found")
    if layout.missing_local and not runs_without(layout):
        notes.append(
            "the tests import modules this tree lacks (the suite needs its git repository): "
            + ", ".join(layout.missing_local[:3])
        )
    if layout.unparsable:
        notes.append(f"unparsable test files: {', '.join(layout.unparsable[:3])}")
    return notes
