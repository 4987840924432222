"""The git history a bisection walks: revisions resolved, commits listed, subjects read."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from runner_core.bisect.errors import BisectError

_TIMEOUT = 600


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=_TIMEOUT,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )


def local_history(repo: str, work_dir: Path) -> Path:
    """A git repository with the whole history of `repo`: itself when it is local, else a
    bare clone kept (and fetched again) under `work_dir`."""
    path = Path(repo).expanduser()
    if path.is_absolute() or path.exists():
        if git(path, "rev-parse", "--git-dir").returncode != 0:
            raise BisectError(f"{repo}: not a git repository (a bisection needs its history)")
        return path.absolute()
    target = work_dir / "bisect-history" / hashlib.sha256(repo.encode()).hexdigest()[:12]
    if (target / "HEAD").is_file():
        done = git(target, "fetch", "--quiet", "--tags", "origin", "+refs/heads/*:refs/heads/*")
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        done = git(target.parent, "clone", "--quiet", "--bare", repo, str(target))
    if done.returncode != 0:
        raise BisectError(f"{repo}: cannot fetch its history ({_last(done.stderr)})")
    return target


def resolve(repo: Path, rev: str, option: str) -> str:
    """The full commit id `rev` names, or a BisectError naming the option."""
    done = git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if done.returncode != 0 or not done.stdout.strip():
        raise BisectError(f"{option} {rev}: no such commit in {repo}")
    return done.stdout.strip()


def commits_between(repo: Path, good: str, bad: str, options: tuple[str, str]) -> list[str]:
    """The commits after `good` up to `bad` (oldest first, along first parents)."""
    good_option, bad_option = options
    if good == bad:
        raise BisectError(f"{good_option} and {bad_option} are the same commit {good[:12]}")
    if git(repo, "merge-base", "--is-ancestor", good, bad).returncode != 0:
        swapped = git(repo, "merge-base", "--is-ancestor", bad, good).returncode == 0
        hint = " (swapped? --good must be the older commit)" if swapped else ""
        raise BisectError(
            f"{good_option} {good[:12]} is not an ancestor of {bad_option} {bad[:12]}{hint}"
        )
    done = git(repo, "rev-list", "--reverse", "--first-parent", "--ancestry-path", f"{good}..{bad}")
    if done.returncode != 0:
        raise BisectError(f"{repo}: cannot list the commits ({_last(done.stderr)})")
    return done.stdout.split()


def subject(repo: Path, commit: str) -> str:
    done = git(repo, "log", "-1", "--format=%s", commit)
    return done.stdout.strip() if done.returncode == 0 else ""


def _last(text: str) -> str:
    return (text.strip().splitlines() or ["git failed"])[-1]
