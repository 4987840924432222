"""From a tree's configuration and test layout to proposed registry fields, with evidence."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from runner_core.enrich.config import ProjectConfig, requirement_name
from runner_core.enrich.distnames import (
    FIXTURE_TO_DIST,
    IMPORT_TO_DIST,
    INI_KEY_TO_DIST,
    MARKER_TO_DIST,
    OPTION_TO_DIST,
    PLUGIN_TO_DIST,
    PYTEST_BUILTIN_PLUGINS,
    canonical,
    distribution_for,
    import_key,
    is_stdlib,
)
from runner_core.enrich.tests_layout import TestLayout

# Tools a development group carries that a test run does not need (unless tests import them).
NOT_FOR_TESTS = frozenset(
    canonical(n)
    for n in (
        "black",
        "flake8",
        "ruff",
        "isort",
        "mypy",
        "pylint",
        "pyright",
        "ty",
        "pytype",
        "pre-commit",
        "tox",
        "nox",
        "twine",
        "build",
        "wheel",
        "check-manifest",
        "codecov",
        "coveralls",
        "bump2version",
        "bumpversion",
        "towncrier",
        "readme-renderer",
        "pyroma",
        "sphinx",
        "furo",
        "myst-parser",
        "ipython",
        "ipdb",
        "pdbpp",
        "pip-tools",
        "setuptools-scm",
        "flit",
        "hatch",
        "pip",
        "uv",
        "docformatter",
        "pydocstyle",
        "codespell",
        "sphinx-rtd-theme",
        "mkdocs",
        "mkdocs-material",
        "jupyter",
        "notebook",
        "mccabe",
        "bandit",
        "safety",
        "memray",
        "pytest-sugar",
        "pytest-instafail",
        "pytest-clarity",
        "pytest-github-actions-annotate-failures",
        "pytest-codspeed",
        "pytest-memray",
        "pytest-pretty",
        # linters run as pytest plugins, and other tools of a development group
        "pytest-flake8",
        "pytest-mypy",
        "pytest-black",
        "pytest-isort",
        "pytest-pylint",
        "pytest-ruff",
        "pytest-pycodestyle",
        "pytest-flakes",
        "pyflakes",
        "pycodestyle",
        "autopep8",
        "yapf",
        "flynt",
        "deptry",
        "tbump",
        "snakeviz",
        "vulture",
        "interrogate",
        "pre-commit-hooks",
    )
)
_NOT_FOR_TESTS_PREFIX = ("sphinx", "types-", "flake8-", "mypy-", "mkdocs")
_COLLECTED = re.compile(r"^(test_.*|.*_test)\.py$")
_XDIST_OPTIONS = ("-n", "--numprocesses", "--dist", "--maxprocesses")


@dataclass
class Finding:
    """One proposed field value and why."""

    value: Any
    evidence: list[str] = field(default_factory=list)


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


def _unpinned(requirement: str) -> str:
    """``pytest==7.1.2`` -> ``pytest``: exact pins of old tools rarely install on new Pythons."""
    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return requirement
    if any(spec.operator in ("==", "===") for spec in parsed.specifier):
        parsed.specifier = type(parsed.specifier)("")
        return str(parsed)
    return requirement


def _normalized(requirement: str) -> str:
    """One spelling per requirement: no spaces around operators, double-quoted markers."""
    try:
        return str(Requirement(requirement))
    except InvalidRequirement:
        return requirement


def _for_tests(name: str) -> bool:
    return name not in NOT_FOR_TESTS and not name.startswith(_NOT_FOR_TESTS_PREFIX)


def _declared(config: ProjectConfig) -> tuple[str | None, list[str], str]:  # noqa: C901
    """(extra to install with the project, requirement list, where they came from)."""
    extra = config.test_extra()
    if extra is not None and extra not in ("dev", "develop", "development", "all"):
        return extra, [], f"optional-dependencies group '{extra}'"
    group = config.test_group()
    if group is not None and group not in ("dev", "develop", "development", "all"):
        return None, config.groups[group], f"dependency group '{group}'"
    for path, items in config.requirement_files.items():
        if items and re.search(r"test", path, re.IGNORECASE):
            return None, items, f"requirements file {path}"
    if config.tox_deps:
        return None, config.tox_deps, "tox.ini [testenv] deps"
    if config.nox_installs:
        return None, config.nox_installs, "noxfile.py session.install"
    for path, items in config.requirement_files.items():
        if items:
            return None, items, f"requirements file {path}"
    if extra is not None:
        return None, config.extras[extra], f"optional-dependencies group '{extra}'"
    if group is not None:
        return None, config.groups[group], f"dependency group '{group}'"
    return None, [], ""


def _plugin_dist(plugin: str, local_names: set[str]) -> str | None:
    """The distribution ``-p PLUGIN`` loads; None for pytest's own plugins, ``no:`` and
    the tree's own modules (``-p tests.plugin``)."""
    if plugin.startswith("no:") or plugin in PYTEST_BUILTIN_PLUGINS:
        return None
    if plugin.startswith("_pytest.") or plugin.split(".", maxsplit=1)[0] in local_names:
        return None
    return PLUGIN_TO_DIST.get(plugin, distribution_for(plugin))


def _option_plugins(args: list[str], local_names: set[str]) -> list[tuple[str, str]]:
    """(distribution, option) for each plugin an option list needs."""
    found: list[tuple[str, str]] = []
    for index, arg in enumerate(args):
        option = arg.split("=", 1)[0]
        plugin = None
        if option == "-p" and index + 1 < len(args):
            plugin = args[index + 1]
        elif option.startswith("-p") and len(option) > 2:
            plugin = option[2:]
        elif OPTION_TO_DIST.get(option):
            found.append((OPTION_TO_DIST[option], option))
        dist = _plugin_dist(plugin, local_names) if plugin else None
        if dist:
            found.append((dist, f"-p {plugin}"))
    return found


def _warning_modules(filters: list[str]) -> list[tuple[str, str]]:
    """Modules whose warning classes filterwarnings names (pytest imports them)."""
    found = []
    for item in filters:
        parts = item.split(":")
        if len(parts) >= 3 and "." in parts[2].strip():
            module = parts[2].strip().rsplit(".", 1)[0]
            found.append((module, item))
    return found


def _strip_xdist(args: list[str]) -> list[str]:
    """addopts without the options that start xdist workers."""
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _XDIST_OPTIONS:
            skip = True  # its value follows
        elif not (
            arg.startswith(tuple(o + "=" for o in _XDIST_OPTIONS)) or re.match(r"^-n\S", arg)
        ):
            kept.append(arg)
    return kept


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
        self.deps[dist] = Dependency(_normalized(requirement), why)

    def add_optional(self, dist: str, why: str) -> None:
        if canonical(dist) not in self.deps:
            self.optional[canonical(dist)] = Dependency(dist, why)


def propose(package: str | None, config: ProjectConfig, layout: TestLayout) -> Proposal:
    """The registry fields for the tree that ``config`` and ``layout`` describe."""
    name = package or config.name
    own = canonical(name) if name else None
    needs = _Needs(covered=set(config.runtime_names()) | ({own} if own else set()))
    extra, declared, declared_from = _declared(config)
    if extra is not None:
        needs.covered.update(n for n in map(requirement_name, config.extras.get(extra, [])) if n)
    _declared_needs(needs, declared, declared_from)
    _config_needs(needs, config, layout)
    _layout_needs(needs, layout)
    addopts = config.pytest.addopts if config.pytest else []
    uses_xdist = _uses_xdist(needs, config, layout, addopts, (extra, declared_from))
    return Proposal(
        package=name,
        install_command=_install_command(needs, extra, declared_from),
        test_command=_test_command(config, layout, addopts, bool(uses_xdist.value)),
        uses_xdist=uses_xdist,
        clone_depth=_clone_depth(config),
        import_name=_import_name(name, config, layout),
        timeout=_timeout(layout),
        extension_type=_extension_type(layout),
        has_tests=bool(layout.test_files),
        missing_local=layout.missing_local,
        dependencies=list(needs.deps.values()),
        optional=list(needs.optional.values()),
        notes=_notes(config, layout),
    )


def _declared_needs(needs: _Needs, declared: list[str], declared_from: str) -> None:
    needs.add("pytest", "the test runner")
    for requirement in declared:
        dist = requirement_name(requirement)
        if dist and (_for_tests(dist) or dist in {"pytest", "pytest-xdist"}):
            needs.add(_unpinned(requirement), declared_from)


def _config_needs(needs: _Needs, config: ProjectConfig, layout: TestLayout) -> None:
    """Plugins the pytest configuration asks for: by option, ini key, warning class."""
    ini = config.pytest
    for dist, option in _option_plugins(ini.addopts if ini else [], layout.local_names):
        needs.add(dist, f"addopts {option} ({ini.source if ini else ''})")
    if ini is None:
        return
    for key in ini.options:
        if key in INI_KEY_TO_DIST:
            needs.add(INI_KEY_TO_DIST[key], f"ini option {key} ({ini.source})")
    for module, item in _warning_modules(ini.filterwarnings):
        key = import_key(module)
        if not is_stdlib(key) and key.split(".")[0] not in layout.local_names:
            needs.add(distribution_for(key), f"filterwarnings {item!r} imports {module}")


def _layout_needs(needs: _Needs, layout: TestLayout) -> None:
    """What the tests use: fixtures, markers and imports of other distributions."""
    for fixture, files in sorted(layout.fixtures.items()):
        if FIXTURE_TO_DIST.get(fixture):
            needs.add(FIXTURE_TO_DIST[fixture], f"fixture {fixture} in {sorted(files)[0]}")
    for marker, files in sorted(layout.markers.items()):
        needs.add(MARKER_TO_DIST[marker], f"marker pytest.mark.{marker} in {sorted(files)[0]}")
    for key, use in sorted(layout.third_party().items()):
        dist = distribution_for(key)
        if canonical(dist) in needs.covered:
            continue
        first = sorted(use.files)[0]
        if use.optional:
            needs.add_optional(dist, f"optional import {key} in {first}")
        elif use.marker:
            needs.add(f"{dist}; {use.marker}", f"import {key} in {first} when {use.marker}")
        else:
            needs.add(dist, f"import {key} in {first}")


def _install_command(needs: _Needs, extra: str | None, declared_from: str) -> Finding:
    project = f".[{extra}]" if extra else "."
    evidence = [f"pip install -e {project}: the project itself, editable"]
    if extra:
        evidence.append(f"test dependencies from {declared_from}")
    install = f"pip install -e {shlex.quote(project)}"
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
    declared: tuple[str | None, str],
) -> Finding:
    """Whether the suite is written for xdist workers (apiary runs it in one process)."""
    extra, declared_from = declared
    evidence = []
    if any(a.split("=")[0] in _XDIST_OPTIONS or re.match(r"^-n\S", a) for a in addopts):
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
        stripped = _strip_xdist(addopts)
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
    if layout.missing_local:
        notes.append(
            "the tests import modules this tree lacks (the suite needs its git repository): "
            + ", ".join(layout.missing_local[:3])
        )
    if layout.unparsable:
        notes.append(f"unparsable test files: {', '.join(layout.unparsable[:3])}")
    return notes


def _import_name(name: str | None, config: ProjectConfig, layout: TestLayout) -> Finding:  # noqa: C901
    packages = layout.packages
    default = re.sub(r"[-.]+", "_", name).lower() if name else None
    if name and "." in name:
        # A namespace package (zope.interface, jaraco.text): imported with its dots.
        dotted = name.lower()
        folder = Path(*dotted.split("."))
        for base in (layout.root / "src", layout.root):
            if (base / folder).is_dir() or (base / folder).with_suffix(".py").is_file():
                return Finding(dotted, [f"namespace package {dotted} in {base.name or '.'}"])
    if default and default in packages:
        return Finding(None, [f"{default} is the package name as a module"])
    for hint in config.package_hints:
        if hint != default:
            return Finding(hint, [f"[tool.flit.module] name = {hint}"])
    if name:
        reverse = [k for k, v in IMPORT_TO_DIST.items() if canonical(v) == canonical(name)]
        for key in reverse:
            if key.split(".")[0] in packages or not packages:
                return Finding(key, [f"{name} is imported as {key}"])
    if len(packages) == 1 and packages[0] != default:
        return Finding(packages[0], [f"the only top-level package is {packages[0]}"])
    if default:
        # pdfminer.six -> pdfminer, Flask-Cors -> flask_cors: a package the name starts with
        prefixed = [p for p in packages if default.startswith(p.lower() + "_")]
        if len(prefixed) == 1:
            return Finding(prefixed[0], [f"{name} starts with its package {prefixed[0]}"])
    if default and packages:
        lowered = [p for p in packages if p.lower() == default]
        if lowered:
            return Finding(lowered[0], [f"top-level package {lowered[0]}"])
    return Finding(None, [f"top-level names: {', '.join(packages) or 'none found'}"])
