"""The released distribution of the package under test in place of its own build, or the
project installed as a wheel rather than editable.

Two builds cannot work here: one whose build requirements do not install (the released
wheel or sdist of the same version will do), and one that needs what the machine lacks,
a system library's headers or a compiler (only the released wheel will do). Either way
the sdist's tests then run against the installed release, so the test command must
import it from the venv, never from the source tree beside the tests. The same holds for
a project installed from its tree as a wheel: meson-python's editable install rebuilds
the project when it is imported, with build tools that were in pip's temporary build
environment, which is gone by then.
"""

from __future__ import annotations

import shlex

from runner_core.commands import split_steps

# A copy of the package in the source tree (a flat layout) would shadow the installed
# release: Python puts the working folder first on sys.path for `python -m pytest`
# (PYTHONSAFEPATH, 3.11+, stops that), and pytest's default import mode puts the test
# folders' root there (`--import-mode=append` puts them after site-packages).
SAFE_PATH = "PYTHONSAFEPATH=1"
APPEND_MODE = "--import-mode=append"


def released_install(
    install_command: str | None, package: str, version: str, wheel_only: bool = False
) -> str | None:
    """The install command with the project's own step (`-e .`, `-e '.[test]'`, `.`)
    replaced by the released ``package==version`` with the same extras, taken only from a
    wheel when ``wheel_only``; None without such a step."""
    steps = []
    replaced = False
    for tokens in split_steps(install_command):
        kept: list[str] = []
        skip = False
        for index, token in enumerate(tokens):
            if skip:
                skip = False
                continue
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            editable = token in ("-e", "--editable") and following.startswith(".")
            if editable or _is_project_path(token):
                target = following if editable else token
                extras = target[target.index("[") :] if "[" in target else ""
                if wheel_only:
                    kept.append(f"--only-binary={package}")
                kept.append(f"{package}{extras}=={version}")
                replaced = True
                skip = editable
            else:
                kept.append(token)
        steps.append(shlex.join(kept))
    return " && ".join(steps) if replaced else None


def built_install(install_command: str | None) -> str | None:
    """The install command with the project's editable step (`-e .`, `-e '.[test]'`)
    installed as a built wheel instead; None without such a step."""
    steps = []
    replaced = False
    for tokens in split_steps(install_command):
        kept: list[str] = []
        for index, token in enumerate(tokens):
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            if token in ("-e", "--editable") and _is_project_path(following):
                replaced = True
                continue
            kept.append(token)
        steps.append(shlex.join(kept))
    return " && ".join(steps) if replaced else None


def _is_project_path(token: str) -> bool:
    """`.`, `./`, `.[test]`: the source tree itself (never `-e`'s value, never a file)."""
    return token in (".", "./") or token.startswith((".[", "./["))


def against_installed(test_command: str | None) -> str:
    """The test command made to import the package from the venv (see SAFE_PATH)."""
    steps = split_steps(test_command or "python -m pytest")
    return " && ".join(shlex.join(_safe_step(tokens)) for tokens in steps)


def _safe_step(tokens: list[str]) -> list[str]:
    if not _runs_pytest(tokens):
        return tokens
    prefix = [] if SAFE_PATH in tokens else [SAFE_PATH]
    mode = [] if any(t.startswith("--import-mode") for t in tokens) else [APPEND_MODE]
    return [*prefix, *tokens, *mode]


def _runs_pytest(tokens: list[str]) -> bool:
    return "pytest" in tokens or any(t.endswith("/pytest") for t in tokens[:3])
