"""What a project declares its tests need, and what its pytest options load: requirement
lists by where they come from, plugins named by ``-p`` and options, warning classes'
modules, and the development tools a test run does without."""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement, Requirement
from runner_core.enrich.config import ProjectConfig
from runner_core.enrich.distnames import (
    OPTION_TO_DIST,
    PLUGIN_TO_DIST,
    PYTEST_BUILTIN_PLUGINS,
    canonical,
    distribution_for,
)

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
NOT_FOR_TESTS_PREFIX = ("sphinx", "types-", "flake8-", "mypy-", "mkdocs")
XDIST_OPTIONS = ("-n", "--numprocesses", "--dist", "--maxprocesses")


def unpinned(requirement: str) -> str:
    """``pytest==7.1.2`` -> ``pytest``: exact pins of old tools rarely install on new Pythons."""
    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return requirement
    if any(spec.operator in ("==", "===") for spec in parsed.specifier):
        parsed.specifier = type(parsed.specifier)("")
        return str(parsed)
    return requirement


def normalized(requirement: str) -> str:
    """One spelling per requirement: no spaces around operators, double-quoted markers."""
    try:
        return str(Requirement(requirement))
    except InvalidRequirement:
        return requirement


def for_tests(name: str) -> bool:
    return name not in NOT_FOR_TESTS and not name.startswith(NOT_FOR_TESTS_PREFIX)


_GENERIC_GROUPS = ("dev", "develop", "development", "all")


def declared(config: ProjectConfig) -> tuple[str | None, list[str], str]:
    """(extra to install with the project, requirement list, where they came from)."""
    extra = config.test_extra()
    if extra is not None and extra not in _GENERIC_GROUPS:
        return extra, [], f"optional-dependencies group '{extra}'"
    group = config.test_group()
    if group is not None and group not in _GENERIC_GROUPS:
        return None, config.groups[group], f"dependency group '{group}'"
    listed = _listed(config)
    if listed is not None:
        return None, *listed
    if extra is not None:
        return None, config.extras[extra], f"optional-dependencies group '{extra}'"
    if group is not None:
        return None, config.groups[group], f"dependency group '{group}'"
    return None, [], ""


def _listed(config: ProjectConfig) -> tuple[list[str], str] | None:
    """Requirements listed outside pyproject.toml: a test requirements file first, then
    tox's and nox's, then any requirements file."""
    for path, items in config.requirement_files.items():
        if items and re.search(r"test", path, re.IGNORECASE):
            return items, f"requirements file {path}"
    if config.tox_deps:
        return config.tox_deps, "tox.ini [testenv] deps"
    if config.nox_installs:
        return config.nox_installs, "noxfile.py session.install"
    for path, items in config.requirement_files.items():
        if items:
            return items, f"requirements file {path}"
    return None


def plugin_dist(plugin: str, local_names: set[str]) -> str | None:
    """The distribution ``-p PLUGIN`` loads; None for pytest's own plugins, ``no:`` and
    the tree's own modules (``-p tests.plugin``)."""
    if plugin.startswith("no:") or plugin in PYTEST_BUILTIN_PLUGINS:
        return None
    if plugin.startswith("_pytest.") or plugin.split(".", maxsplit=1)[0] in local_names:
        return None
    return PLUGIN_TO_DIST.get(plugin, distribution_for(plugin))


def option_plugins(args: list[str], local_names: set[str]) -> list[tuple[str, str]]:
    """(distribution, option) for each plugin an option list needs."""
    found: list[tuple[str, str]] = []
    for index, arg in enumerate(args):
        option = arg.split("=", 1)[0]
        plugin = None
        # "-p no:doctest" can come as one item of a TOML addopts list
        if option == "-p" and index + 1 < len(args):
            plugin = args[index + 1].strip()
        elif option.startswith("-p") and len(option) > 2:
            plugin = option[2:].strip()
        elif OPTION_TO_DIST.get(option):
            found.append((OPTION_TO_DIST[option], option))
        dist = plugin_dist(plugin, local_names) if plugin else None
        if dist:
            found.append((dist, f"-p {plugin}"))
    return found


def warning_modules(filters: list[str]) -> list[tuple[str, str]]:
    """Modules whose warning classes filterwarnings names (pytest imports them)."""
    found = []
    for item in filters:
        parts = item.split(":")
        if len(parts) >= 3 and "." in parts[2].strip():
            module = parts[2].strip().rsplit(".", 1)[0]
            found.append((module, item))
    return found


def strip_xdist(args: list[str]) -> list[str]:
    """addopts without the options that start xdist workers."""
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in XDIST_OPTIONS:
            skip = True  # its value follows
        elif not (arg.startswith(tuple(o + "=" for o in XDIST_OPTIONS)) or re.match(r"^-n\S", arg)):
            kept.append(arg)
    return kept
