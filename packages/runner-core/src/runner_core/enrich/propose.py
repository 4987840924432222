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


def _declared(config: ProjectConfig) -> tuple[str | None, list[str], str]:
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


def propose(package: str | None, config: ProjectConfig, layout: TestLayout) -> Proposal:
    """The registry fields for the tree that ``config`` and ``layout`` describe."""
    name = package or config.name
    own = canonical(name) if name else None
    runtime = config.runtime_names()
    notes = list(config.notes)
    deps: dict[str, Dependency] = {}
    optional: dict[str, Dependency] = {}
    covered: set[str] = set(runtime)
    if own:
        covered.add(own)

    def add(requirement: str, why: str) -> None:
        dist = requirement_name(requirement) or canonical(requirement)
        if dist in covered or dist in deps or not dist:
            return
        deps[dist] = Dependency(_normalized(requirement), why)

    extra, declared, declared_from = _declared(config)
    if extra is not None:
        covered.update(n for n in map(requirement_name, config.extras.get(extra, [])) if n)
    add("pytest", "the test runner")
    for requirement in declared:
        dist = requirement_name(requirement)
        if dist and (_for_tests(dist) or dist in {"pytest", "pytest-xdist"}):
            add(_unpinned(requirement), declared_from)

    ini = config.pytest
    addopts = ini.addopts if ini else []
    for dist, option in _option_plugins(addopts, layout.local_names):
        add(dist, f"addopts {option} ({ini.source if ini else ''})")
    if ini is not None:
        for key in ini.options:
            if key in INI_KEY_TO_DIST:
                add(INI_KEY_TO_DIST[key], f"ini option {key} ({ini.source})")
        for module, item in _warning_modules(ini.filterwarnings):
            key = import_key(module)
            if not is_stdlib(key) and key.split(".")[0] not in layout.local_names:
                add(distribution_for(key), f"filterwarnings {item!r} imports {module}")
    for fixture, files in sorted(layout.fixtures.items()):
        if FIXTURE_TO_DIST.get(fixture):
            add(FIXTURE_TO_DIST[fixture], f"fixture {fixture} in {sorted(files)[0]}")
    for marker, files in sorted(layout.markers.items()):
        add(MARKER_TO_DIST[marker], f"marker pytest.mark.{marker} in {sorted(files)[0]}")
    for key, use in sorted(layout.third_party().items()):
        dist = distribution_for(key)
        if canonical(dist) in covered:
            continue
        first = sorted(use.files)[0]
        if use.optional:
            if canonical(dist) not in deps:
                optional[canonical(dist)] = Dependency(dist, f"optional import {key} in {first}")
        else:
            add(dist, f"import {key} in {first}")

    # install_command
    project = f".[{extra}]" if extra else "."
    install_evidence = [f"pip install -e {project}: the project itself, editable"]
    if extra:
        install_evidence.append(f"test dependencies from {declared_from}")
    install = f"pip install -e {shlex.quote(project)}"
    if deps:
        install += " && pip install " + " ".join(shlex.quote(d.requirement) for d in deps.values())
        install_evidence += [f"{d.requirement}: {d.why}" for d in deps.values()]

    # uses_xdist
    xdist_evidence = []
    if any(a.split("=")[0] in _XDIST_OPTIONS or re.match(r"^-n\S", a) for a in addopts):
        xdist_evidence.append(f"addopts runs workers ({ini.source if ini else ''})")
    if "pytest-xdist" in deps:
        xdist_evidence.append(f"pytest-xdist: {deps['pytest-xdist'].why}")
    elif extra is not None and "pytest-xdist" in map(requirement_name, config.extras[extra]):
        xdist_evidence.append(f"pytest-xdist: in {declared_from}")
    if "xdist" in layout.imports:
        xdist_evidence.append("tests import xdist")
    uses_xdist = bool(xdist_evidence)

    # test_command
    test_evidence: list[str] = []
    args = ["python", "-m", "pytest"]
    named_by_ini = ini is not None and "python_files" in ini.options
    if (
        layout.test_files
        and not named_by_ini
        and not any(_COLLECTED.match(Path(f).name) for f in layout.test_files)
    ):
        # pytest collects test_*.py and *_test.py only: name other test files explicitly.
        chosen = layout.test_files[:5]
        args += chosen
        test_evidence.append(f"test files not named test_*.py: {', '.join(chosen)}")
    elif ini is not None and ini.testpaths:
        test_evidence.append(f"testpaths = {' '.join(ini.testpaths)} ({ini.source})")
    elif layout.test_dirs:
        chosen = layout.test_dirs[:3]
        args += chosen
        test_evidence.append(f"tests in {', '.join(chosen)}")
    elif layout.test_files:
        args += layout.test_files[:3]
        test_evidence.append(f"test files {', '.join(layout.test_files[:3])}")
    if uses_xdist:
        args += ["-p", "no:xdist"]
        test_evidence.append("-p no:xdist: the JIT is tested in one process")
        stripped = _strip_xdist(addopts)
        if stripped != addopts:
            args += ["-o", f"addopts={shlex.join(stripped)}"]
            test_evidence.append("addopts overridden without the xdist options")
    if layout.uses_unittest_only:
        test_evidence.append("unittest-style tests, collected by pytest")
    for command in config.tox_commands[:2]:
        test_evidence.append(f"tox.ini runs: {command}")
    for argv in config.nox_commands[:2]:
        test_evidence.append(f"noxfile.py runs: {' '.join(argv)}")

    # clone_depth
    depth = Finding(None, ["no version-from-git tool: a shallow clone is enough"])
    if config.uses_scm:
        depth = Finding(50, [f"version from git tags: {config.uses_scm}"])

    # import_name
    import_name = _import_name(name, config, layout)

    # timeout
    count = layout.test_functions
    seconds = 300 if count < 500 else 900 if count < 3000 else 1800
    timeout = Finding(seconds, [f"{count} test functions in {len(layout.test_files)} files"])

    kind = "unknown"
    kind_evidence = ["no compiled sources found"]
    if layout.compiled_sources:
        rust = any(s.endswith(".rs") for s in layout.compiled_sources)
        kind = "rust" if rust else "extensions"
        kind_evidence = [f"compiled sources: {', '.join(layout.compiled_sources[:3])}"]
    elif layout.packages:
        kind = "pure"
        kind_evidence = ["only Python sources"]

    if not layout.test_files:
        notes.append("no test files found")
    if layout.missing_local:
        notes.append(
            "the tests import modules this tree lacks (the suite needs its git repository): "
            + ", ".join(layout.missing_local[:3])
        )
    if layout.unparsable:
        notes.append(f"unparsable test files: {', '.join(layout.unparsable[:3])}")
    return Proposal(
        package=name,
        install_command=Finding(install, install_evidence),
        test_command=Finding(shlex.join(args), test_evidence),
        uses_xdist=Finding(uses_xdist, xdist_evidence or ["no xdist in addopts or dependencies"]),
        clone_depth=depth,
        import_name=import_name,
        timeout=timeout,
        extension_type=Finding(kind, kind_evidence),
        has_tests=bool(layout.test_files),
        missing_local=layout.missing_local,
        dependencies=list(deps.values()),
        optional=list(optional.values()),
        notes=notes,
    )


def _import_name(name: str | None, config: ProjectConfig, layout: TestLayout) -> Finding:
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
