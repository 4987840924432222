"""A package with a git history to bisect: one commit per behaviour, in a local repository.

Commit 0 is `--good`; each later commit sets what `hist_pkg.work()` does when the suite
calls it: "ok", "crash" (the crash sought: a NULL read through ctypes, in `_deref`),
"other" (os.abort() in another function: another bucket), "broken" (the package cannot
be imported: untestable), "flaky" (the crash sought, on every third run only, counted in
a file of the source tree).
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

from runner_fixtures import Fixture, entry_yaml

BODIES = {
    "ok": "def work():\n    return 1\n",
    "crash": textwrap.dedent(
        """
        import ctypes

        def _deref(address):
            return ctypes.string_at(address)

        def work():
            return _deref(0)
        """
    ),
    "other": textwrap.dedent(
        """
        import os

        def _elsewhere():
            os.abort()

        def work():
            return _elsewhere()
        """
    ),
    "broken": "raise ImportError('hist_pkg is broken at this commit')\n",
    "flaky": textwrap.dedent(
        """
        import ctypes, pathlib

        def _deref(address):
            return ctypes.string_at(address)

        def work():
            counter = pathlib.Path(__file__).parent.parent / ".runs"
            runs = int(counter.read_text()) if counter.exists() else 0
            counter.write_text(str(runs + 1))
            if runs % 3 == 2:
                return _deref(0)
            return 1
        """
    ),
}
TEST = "import hist_pkg\n\ndef test_work():\n    hist_pkg.work()\n"
FIXTURE = Fixture("hist-pkg", {}, import_name="hist_pkg")


@dataclass(frozen=True)
class History:
    registry: Path
    repo: Path
    commits: tuple[str, ...]  # commits[0] is good


def make_history(tmp_path: Path, behaviours: list[str]) -> History:
    """Commit 0 "ok", then one commit per behaviour; a registry pointing at the repo."""
    repo = tmp_path / "repos" / "hist-pkg"
    (repo / "hist_pkg").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "tests" / "test_work.py").write_text(TEST)
    _git(repo, "init", "-q", "-b", "main")
    commits = []
    for number, behaviour in enumerate(["ok", *behaviours]):
        (repo / "hist_pkg" / "__init__.py").write_text(f"# commit {number}\n{BODIES[behaviour]}")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", f"commit {number}: {behaviour}")
        commits.append(_git(repo, "rev-parse", "HEAD").strip())
    registry = tmp_path / "registry"
    (registry / "packages").mkdir(parents=True)
    (registry / "packages" / "hist-pkg.yaml").write_text(entry_yaml(FIXTURE, repo))
    (registry / "index.yaml").write_text(
        "last_updated: '2026-01-01T00:00:00'\npackages:\n- name: hist-pkg\n"
        "  download_count: 1\n  extension_type: pure\n  enriched: true\n  skip: false\n"
        "  skip_versions_keys: []\n"
    )
    return History(registry, repo, tuple(commits))


def bisect_args(history: History, tmp_path: Path, good: str, bad: str, *extra: str) -> list[str]:
    return [
        "bisect",
        "hist-pkg",
        "--good",
        good,
        "--bad",
        bad,
        "--registry-dir",
        str(history.registry),
        "--results-dir",
        str(tmp_path / "results"),
        "--work-dir",
        str(tmp_path / "work"),
        *extra,
    ]


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout
