"""Edits of an entry's install and test commands: what a fix changes, and nothing else.

Pure functions over command strings (the registry's shell-like `&&` steps)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from packaging.markers import InvalidMarker, Marker
from runner_core.commands import split_steps
from runner_core.enrich.distnames import canonical

_COV_FLAGS = frozenset(
    {"--cov", "--no-cov", "--no-cov-on-fail", "--cov-append", "--cov-branch", "--cov-reset"}
)
_COV_VALUED = frozenset(
    {"--cov-report", "--cov-config", "--cov-fail-under", "--cov-context", "--cov-precision"}
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
            elif not token.startswith(("-", ".")) and _may_install(token):
                name = re.split(r"[\[<>=!~; ]", token, maxsplit=1)[0]
                if name:
                    names.add(canonical(name))
    return names


# the CPython versions an entry is run on: a requirement whose marker holds on none of
# them (html5lib's `mock; python_version < "3.6"`) installs nothing
_CURRENT_PYTHONS = tuple(f"3.{minor}" for minor in range(9, 16))


def _may_install(requirement: str) -> bool:
    _, semicolon, marker_text = requirement.partition(";")
    if not semicolon:
        return True
    try:
        marker = Marker(marker_text.strip())
    except InvalidMarker:
        return True
    return any(
        marker.evaluate({"python_version": version, "python_full_version": f"{version}.0"})
        for version in _CURRENT_PYTHONS
    )


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


def with_test_args(test_command: str | None, args: list[str]) -> str:
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
    return _rewrite_args(test_command, without_coverage_options)


def drop_options(test_command: str | None, options: list[str]) -> str | None:
    """The test command without these flags (`--opt` or `--opt=value`), also inside
    `-o addopts=...`; None when it has none of them."""

    def edit(args: list[str]) -> list[str]:
        return [arg for arg in args if arg.split("=", 1)[0] not in options]

    return _rewrite_args(test_command, edit)


def _rewrite_args(test_command: str | None, edit: Callable[[list[str]], list[str]]) -> str | None:
    """``edit`` applied to the command's arguments and to its addopts overrides."""
    tokens = shlex.split(test_command or "python -m pytest")
    rewritten = [
        _edit_addopts(token, edit) if before in ("-o", "--override-ini") else token
        for before, token in zip(["", *tokens], tokens, strict=False)
    ]
    rewritten = edit(rewritten)
    return shlex.join(rewritten) if rewritten != tokens else None


def _edit_addopts(override: str, edit: Callable[[list[str]], list[str]]) -> str:
    if not override.startswith("addopts="):
        return override
    return "addopts=" + shlex.join(edit(shlex.split(override[8:])))
