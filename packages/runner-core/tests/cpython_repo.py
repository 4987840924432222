"""A CPython git repository to bisect: Debian's 3.13.5 source and four commits on top.

The third commit makes the builtin `abs()` dereference NULL for one input (-1337); the
others change a note, a C comment (one object file rebuilt) and a Python comment. The
repository is made once in the user cache, keyed by the tarball's digest and the commits'
text, with fixed author dates: its commit ids are the same on every machine, so the
bisection's build folder (keyed by the checkout) is reused and CI pays for one full build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from cpython_builds import TARBALL_SHA256, cpython_tarball
from runner_core.pythons import user_cache

ABS_BODY = "{\n    return PyNumber_Absolute(x);\n}\n"
CRASHING_ABS = (
    "{\n"
    "    if (PyLong_CheckExact(x) && PyLong_AsLong(x) == -1337) {\n"
    "        PyObject *volatile missing = NULL;\n"
    "        return Py_NewRef((PyObject *)Py_TYPE(missing));\n"
    "    }\n"
    "    return PyNumber_Absolute(x);\n"
    "}\n"
)
# (subject, file, old text, new text): each applied once, in order, on top of the base.
COMMITS: tuple[tuple[str, str, str, str], ...] = (
    (
        "README: a line about this bisection fixture",
        "README.rst",
        "This is Python version 3.13.5\n=============================\n",
        "This is Python version 3.13.5\n=============================\n\n.. A bisection fixture.\n",
    ),
    (
        "Objects: a comment in floatobject.c",
        "Objects/floatobject.c",
        "/* Float object implementation */\n",
        "/* Float object implementation (bisection fixture) */\n",
    ),
    (
        "Python: abs() takes a shortcut for one input",
        "Python/bltinmodule.c",
        ABS_BODY,
        CRASHING_ABS,
    ),
    (
        "Lib: a comment in textwrap",
        "Lib/textwrap.py",
        '"""Text wrapping and filling.\n"""\n',
        '"""Text wrapping and filling.\n"""\n# bisection fixture\n',
    ),
)
_DATE = "2025-06-11T12:00:00+00:00"


@dataclass(frozen=True)
class CPythonRepo:
    path: Path
    base: str
    commits: tuple[str, ...]  # in order; commits[2] is the one that crashes

    @property
    def culprit(self) -> str:
        return self.commits[2]


def cpython_repo() -> CPythonRepo:
    material = json.dumps([TARBALL_SHA256, COMMITS]).encode()
    path = user_cache() / "bisect-repos" / f"cpython-{hashlib.sha256(material).hexdigest()[:12]}"
    done = path / ".git" / "apiary-fixture.json"
    if not done.is_file():
        _make(path)
        done.write_text(json.dumps(_log(path)), encoding="utf-8")
    ids = json.loads(done.read_text(encoding="utf-8"))
    return CPythonRepo(path, ids[0], tuple(ids[1:]))


def _make(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(path.name + ".part")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    with tarfile.open(cpython_tarball()) as archive:
        archive.extractall(staging, filter="data")
    tree = staging / "Python-3.13.5"
    _git(tree, "init", "--quiet", "--initial-branch=main")
    _git(tree, "add", "--force", "--all")
    _git(tree, "commit", "--quiet", "-m", "CPython 3.13.5 (Debian's orig tarball)")
    for subject, name, old, new in COMMITS:
        file = tree / name
        text = file.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{name}: the fixture's anchor text is not unique"
        file.write_text(text.replace(old, new), encoding="utf-8")
        _git(tree, "commit", "--quiet", "--all", "-m", subject)
    tree.rename(path)
    shutil.rmtree(staging)


def _log(path: Path) -> list[str]:
    out = _git(path, "rev-list", "--reverse", "HEAD")
    return out.split()


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "fixture",
        "GIT_AUTHOR_EMAIL": "fixture@example.invalid",
        "GIT_COMMITTER_NAME": "fixture",
        "GIT_COMMITTER_EMAIL": "fixture@example.invalid",
        "GIT_AUTHOR_DATE": _DATE,
        "GIT_COMMITTER_DATE": _DATE,
    }
    done = subprocess.run(
        ["git", "-c", "core.autocrlf=false", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout
