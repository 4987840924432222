"""What a source tree's configuration files say about building and testing it.

Read: pyproject.toml (project metadata, optional-dependency groups, dependency groups,
build requirements, pytest options), setup.cfg, pytest.ini, tox.ini, noxfile.py,
PKG-INFO and requirements files. Nothing is executed; unreadable files become notes.
"""

from __future__ import annotations

import ast
import configparser
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from runner_core.enrich.distnames import canonical
from runner_core.planted import read_inside

TEST_GROUPS = ("test", "tests", "testing", "test-deps", "tests-deps", "pytest")
DEV_GROUPS = ("dev", "develop", "development", "all")
SCM_TOOLS = (
    "setuptools-scm",
    "setuptools_scm",
    "hatch-vcs",
    "setuptools-git-versioning",
    "versioningit",
    "poetry-dynamic-versioning",
    "pdm-backend[scm]",
    "dunamai",
    "vcversioner",
    "pbr",
)
_TOX_FACTOR = re.compile(r"^!?[\w.-]+(?:[,-]!?[\w.-]+)*\s*:\s")
_REQ_FILE = re.compile(r"(?:^|[-_/])(?:test|tests|testing|dev)(?:[-_.]|$)", re.IGNORECASE)


@dataclass(frozen=True)
class PytestIni:
    """pytest's settings, from whichever file pytest itself would read."""

    source: str
    options: dict[str, Any]

    @property
    def addopts(self) -> list[str]:
        value = self.options.get("addopts", "")
        if isinstance(value, list):
            return [str(v) for v in value]
        try:
            return shlex.split(str(value))
        except ValueError:
            return str(value).split()

    @property
    def testpaths(self) -> list[str]:
        value = self.options.get("testpaths", "")
        return [str(v) for v in value] if isinstance(value, list) else str(value).split()

    @property
    def filterwarnings(self) -> list[str]:
        value = self.options.get("filterwarnings", "")
        if isinstance(value, list):
            return [str(v) for v in value]
        return [line.strip() for line in str(value).splitlines() if line.strip()]

    @property
    def strict_config(self) -> bool:
        truthy = {"true", "1", "yes"}
        return (
            "--strict-config" in self.addopts
            or "--strict" in self.addopts
            or str(self.options.get("strict_config", "")).lower() in truthy
            or str(self.options.get("strict", "")).lower() in truthy
        )


@dataclass
class ProjectConfig:
    """Facts read from the configuration files of one source tree."""

    root: Path
    name: str | None = None
    runtime_deps: list[str] = field(default_factory=list)
    extras: dict[str, list[str]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    build_requires: list[str] = field(default_factory=list)
    build_backend: str | None = None
    uses_scm: str | None = None
    pytest: PytestIni | None = None
    tox_deps: list[str] = field(default_factory=list)
    tox_commands: list[str] = field(default_factory=list)
    nox_installs: list[str] = field(default_factory=list)
    nox_commands: list[list[str]] = field(default_factory=list)
    requirement_files: dict[str, list[str]] = field(default_factory=dict)
    package_hints: list[str] = field(default_factory=list)
    # folders setuptools finds the packages in (`[tool.setuptools.packages.find] where`)
    package_roots: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def test_extra(self) -> str | None:
        for name in (*TEST_GROUPS, *DEV_GROUPS):
            if name in self.extras:
                return name
        return None

    def test_group(self) -> str | None:
        for name in (*TEST_GROUPS, *DEV_GROUPS):
            if name in self.groups:
                return name
        return None

    def runtime_names(self) -> set[str]:
        return {n for n in (requirement_name(r) for r in self.runtime_deps) if n}


def requirement_name(text: str) -> str | None:
    """The canonical project name of a requirement string, or None when it is not one."""
    try:
        return canonical(Requirement(text.strip()).name)
    except InvalidRequirement:
        return None


def _read_toml(path: Path, config: ProjectConfig) -> dict[str, Any]:
    try:
        return tomllib.loads(read_inside(config.root, path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        config.notes.append(f"{path.name}: unreadable ({exc})")
        return {}


def _text(config: ProjectConfig, path: Path) -> str:
    """A file of the package's tree (`runner_core.planted.read_inside`; OSError raised)."""
    return read_inside(config.root, path).decode("utf-8", errors="replace")


def _ini(path: Path, config: ProjectConfig) -> configparser.ConfigParser | None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(_text(config, path))
    except (OSError, configparser.Error) as exc:
        config.notes.append(f"{path.name}: unreadable ({str(exc).splitlines()[0]})")
        return None
    return parser


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _group_items(
    groups: dict[str, Any], name: str, seen: frozenset[str] = frozenset()
) -> list[str]:
    """A PEP 735 dependency group, with ``{include-group = ...}`` expanded."""
    items: list[str] = []
    for item in groups.get(name, []):
        if isinstance(item, str):
            items.append(item)
        elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
            included = item["include-group"]
            if included not in seen:
                items += _group_items(groups, included, seen | {name})
    return items


def _read_pyproject(config: ProjectConfig) -> None:
    path = config.root / "pyproject.toml"
    if not path.is_file():
        return
    config.files.append("pyproject.toml")
    data = _read_toml(path, config)
    project = data.get("project", {})
    if isinstance(project, dict):
        _read_project(config, project)
    groups = data.get("dependency-groups")
    if isinstance(groups, dict):
        for name in groups:
            config.groups[canonical(name)] = _group_items(groups, name)
    build = data.get("build-system", {})
    if isinstance(build, dict):
        config.build_requires += [r for r in build.get("requires", []) if isinstance(r, str)]
        if isinstance(build.get("build-backend"), str):
            config.build_backend = build["build-backend"]
    tool = data.get("tool", {})
    if isinstance(tool, dict):
        _read_scm_tools(config, tool)
        _read_poetry_and_flit(config, tool)
        _read_pytest_tool(config, tool.get("pytest"))
        _read_setuptools_where(config, tool.get("setuptools"))


def _read_setuptools_where(config: ProjectConfig, setuptools: Any) -> None:
    packages = setuptools.get("packages") if isinstance(setuptools, dict) else None
    find = packages.get("find") if isinstance(packages, dict) else None
    where = find.get("where") if isinstance(find, dict) else None
    if isinstance(where, list):
        config.package_roots += [w for w in where if isinstance(w, str) and _in_tree(w)]


def _read_project(config: ProjectConfig, project: dict[str, Any]) -> None:
    """``[project]``: the name, the dependencies and the extras."""
    if isinstance(project.get("name"), str):
        config.name = project["name"]
    config.runtime_deps += [d for d in project.get("dependencies", []) if isinstance(d, str)]
    for extra, deps in (project.get("optional-dependencies") or {}).items():
        if isinstance(deps, list):
            config.extras[canonical(extra)] = [d for d in deps if isinstance(d, str)]


def _read_scm_tools(config: ProjectConfig, tool: dict[str, Any]) -> None:
    """Whether the version comes from the VCS (setuptools-scm, hatch-vcs)."""
    if "setuptools_scm" in tool or "setuptools-scm" in tool:
        config.uses_scm = "[tool.setuptools_scm] in pyproject.toml"
    hatch_version = (
        tool.get("hatch", {}).get("version", {}) if isinstance(tool.get("hatch"), dict) else {}
    )
    if isinstance(hatch_version, dict) and hatch_version.get("source") == "vcs":
        config.uses_scm = "[tool.hatch.version] source = vcs in pyproject.toml"


def _read_poetry_and_flit(config: ProjectConfig, tool: dict[str, Any]) -> None:
    """Poetry's name and dependency groups; flit's module name."""
    poetry = tool.get("poetry")
    if isinstance(poetry, dict):
        config.name = config.name or poetry.get("name")
        for name, group in (poetry.get("group") or {}).items():
            if isinstance(group, dict) and isinstance(group.get("dependencies"), dict):
                deps = [d for d in group["dependencies"] if d != "python"]
                config.groups.setdefault(canonical(name), deps)
    flit = tool.get("flit", {})
    if isinstance(flit, dict) and isinstance(flit.get("module"), dict):
        module = flit["module"].get("name")
        if isinstance(module, str):
            config.package_hints.append(module)


def _read_pytest_tool(config: ProjectConfig, pytest_tool: Any) -> None:
    if not isinstance(pytest_tool, dict):
        return
    options = pytest_tool.get("ini_options")
    if isinstance(options, dict):
        config.pytest = PytestIni("pyproject.toml [tool.pytest.ini_options]", options)
    elif pytest_tool:
        config.pytest = PytestIni("pyproject.toml [tool.pytest]", dict(pytest_tool))


def _in_tree(where: str) -> bool:
    """A folder below the project's root (never the root itself, never outside it)."""
    path = PurePosixPath(where)
    return where not in (".", "") and not path.is_absolute() and ".." not in path.parts


def _read_setup_cfg(config: ProjectConfig) -> None:
    path = config.root / "setup.cfg"
    if not path.is_file():
        return
    config.files.append("setup.cfg")
    parser = _ini(path, config)
    if parser is None:
        return
    if parser.has_option("metadata", "name") and config.name is None:
        config.name = parser.get("metadata", "name").strip()
    _read_setup_cfg_options(config, parser)
    if config.pytest is None and parser.has_section("tool:pytest"):
        config.pytest = PytestIni("setup.cfg [tool:pytest]", dict(parser.items("tool:pytest")))


def _read_setup_cfg_options(config: ProjectConfig, parser: configparser.ConfigParser) -> None:
    if parser.has_option("options", "install_requires"):
        config.runtime_deps += _lines(parser.get("options", "install_requires"))
    if parser.has_section("options.extras_require"):
        for extra, value in parser.items("options.extras_require"):
            config.extras.setdefault(canonical(extra), _lines(value))
    if parser.has_option("options", "setup_requires"):
        config.build_requires += _lines(parser.get("options", "setup_requires"))
    if parser.has_option("options", "use_scm_version"):
        config.uses_scm = "use_scm_version in setup.cfg"
    if parser.has_option("options.packages.find", "where"):
        where = _lines(parser.get("options.packages.find", "where"))
        config.package_roots += [w for w in where if _in_tree(w)]


def _read_pytest_ini(config: ProjectConfig) -> None:
    for name in ("pytest.ini", ".pytest.ini"):
        path = config.root / name
        if path.is_file():
            config.files.append(name)
            parser = _ini(path, config)
            if parser is not None and parser.has_section("pytest"):
                # pytest.ini wins over every other file.
                config.pytest = PytestIni(f"{name} [pytest]", dict(parser.items("pytest")))
            return


def _read_tox(config: ProjectConfig) -> None:
    path = config.root / "tox.ini"
    if not path.is_file():
        return
    config.files.append("tox.ini")
    parser = _ini(path, config)
    if parser is None:
        return
    if config.pytest is None and parser.has_section("pytest"):
        config.pytest = PytestIni("tox.ini [pytest]", dict(parser.items("pytest")))
    for section in ("testenv", *(s for s in parser.sections() if s.startswith("testenv:py"))):
        if not parser.has_section(section):
            continue
        if parser.has_option(section, "deps"):
            for line in _lines(parser.get(section, "deps")):
                _take_tox_dep(config, line)
        if parser.has_option(section, "commands"):
            config.tox_commands += _lines(parser.get(section, "commands"))
        if config.tox_deps or config.tox_commands:
            break
    config.tox_deps = list(dict.fromkeys(config.tox_deps))


def _take_tox_dep(config: ProjectConfig, line: str) -> None:
    """One line of a tox env's ``deps``."""
    if _TOX_FACTOR.match(line):
        # "py38: dep", "django42: Django<4.3": only some envs install it (often an old pin
        # that no longer builds), so the tests do not need it.
        config.notes.append(f"tox.ini: factor-conditional dep left out: {line}")
    elif line.startswith("-r"):
        target = line[2:].strip().replace("{toxinidir}/", "")
        config.tox_deps += _requirements(config.root / target, config, depth=1)
    elif "{" not in line and not line.startswith("-"):
        config.tox_deps.append(line)


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [s for elt in node.elts for s in _strings(elt)]
    if isinstance(node, ast.Starred):
        return _strings(node.value)
    return []


def _read_nox(config: ProjectConfig) -> None:
    path = config.root / "noxfile.py"
    if not path.is_file():
        return
    config.files.append("noxfile.py")
    try:
        tree = ast.parse(_text(config, path))
    except OSError:
        return
    except SyntaxError as exc:
        config.notes.append(f"noxfile.py: unparsable ({exc.msg})")
        return
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        args = [s for arg in node.args for s in _strings(arg)]
        if node.func.attr == "install":
            _take_nox_install(config, args)
        elif node.func.attr == "run" and args and args[0] in ("pytest", "python", "coverage"):
            config.nox_commands.append(args)
    config.nox_installs = list(dict.fromkeys(config.nox_installs))


def _take_nox_install(config: ProjectConfig, args: list[str]) -> None:
    """The arguments of one ``session.install(...)``: requirements, ``-r`` files."""
    skip_next = False
    for arg in args:
        if skip_next:
            config.nox_installs += _requirements(config.root / arg, config, depth=1)
            skip_next = False
        elif arg == "-r":
            skip_next = True
        elif not arg.startswith("-") and arg not in (".", "-e") and not arg.startswith("."):
            config.nox_installs.append(arg)


def _requirements(path: Path, config: ProjectConfig, depth: int = 0) -> list[str]:
    """Requirement lines of a requirements file, following ``-r`` one level down."""
    try:
        text = _text(config, path)
    except OSError:
        return []
    found: list[str] = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement")) and depth > 0:
            target = line.split(None, 1)[1] if " " in line else ""
            found += _requirements(path.parent / target, config, depth - 1)
        elif line.startswith("-") or line.startswith(".") or "://" in line:
            continue
        elif requirement_name(line):
            found.append(line)
    return found


def _read_requirement_files(config: ProjectConfig) -> None:
    candidates: list[Path] = []
    for folder in ("", "requirements", "reqs", "ci", "tests", "test", "requirements.d"):
        base = config.root / folder if folder else config.root
        if base.is_dir():
            candidates += sorted(p for p in base.glob("*.txt") if p.is_file())
            candidates += sorted(p for p in base.glob("*.in") if p.is_file())
    for path in candidates:
        rel = path.relative_to(config.root).as_posix()
        if "requirement" not in rel.lower() and not rel.startswith(("requirements/", "reqs/")):
            continue
        if not _REQ_FILE.search(rel.rsplit(".", 1)[0]):
            continue
        if rel.endswith(".in") and path.with_suffix(".txt").exists():
            continue
        config.requirement_files[rel] = _requirements(path, config, depth=1)


def _read_pkg_info(config: ProjectConfig) -> None:
    path = config.root / "PKG-INFO"
    if not path.is_file():
        return
    config.files.append("PKG-INFO")
    try:
        headers = HeaderParser().parsestr(_text(config, path))
    except OSError:
        return
    config.name = config.name or headers.get("Name")
    if not config.runtime_deps:
        for requirement in headers.get_all("Requires-Dist") or []:
            if "extra ==" not in requirement:
                config.runtime_deps.append(requirement)
            else:
                match = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", requirement)
                if match:
                    bare = requirement.split(";", 1)[0].strip()
                    config.extras.setdefault(canonical(match.group(1)), []).append(bare)


def _read_setup_py(config: ProjectConfig) -> None:
    path = config.root / "setup.py"
    if not path.is_file():
        return
    config.files.append("setup.py")
    try:
        text = _text(config, path)
    except OSError:
        return
    if "use_scm_version" in text:
        config.uses_scm = config.uses_scm or "use_scm_version in setup.py"


def read_config(root: Path) -> ProjectConfig:
    """Every configuration fact of the tree at ``root`` (pytest.ini first, as pytest does)."""
    config = ProjectConfig(root=root)
    _read_pyproject(config)
    _read_tox(config)
    _read_setup_cfg(config)
    _read_setup_py(config)
    _read_pytest_ini(config)
    _read_nox(config)
    _read_requirement_files(config)
    _read_pkg_info(config)
    if config.uses_scm is None:
        for requirement in config.build_requires:
            name = requirement_name(requirement)
            if name and name in {canonical(t.split("[")[0]) for t in SCM_TOOLS}:
                config.uses_scm = f"build requires {requirement}"
                break
    return config
