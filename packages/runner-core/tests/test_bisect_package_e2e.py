"""`apiary bisect` over a package's history, for real: local git repos, venvs, the sandbox.

Each history is commit 0 (good) and six commits whose behaviour is chosen per test (see
bisect_history): the answer must be the first commit that crashes in the bucket of
`--bad`'s crash, whatever the other commits do.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from bisect_history import History, bisect_args, make_history
from normalized_events import BisectFinished, BisectStarted, BisectStep, read_events
from runner_fixtures import APIARY, run_apiary, run_args

pytestmark = pytest.mark.slow


def _events(folder: Path) -> tuple[list[BisectStarted], list[BisectStep], list[BisectFinished]]:
    events = read_events(folder / "events.jsonl").known()
    return (
        [e for e in events if isinstance(e, BisectStarted)],
        [e for e in events if isinstance(e, BisectStep)],
        [e for e in events if isinstance(e, BisectFinished)],
    )


def _folder(tmp_path: Path) -> Path:
    (found,) = (tmp_path / "results").glob("bisect-hist-pkg-*")
    return found


def _bisect(history: History, tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    good, bad = history.commits[0], history.commits[-1]
    done = run_apiary(*bisect_args(history, tmp_path, good, bad, *extra), cwd=tmp_path)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("first_bad", [1, 4, 6])
def test_the_first_crashing_commit_is_named_wherever_it_is(tmp_path: Path, first_bad: int) -> None:
    """Including the first commit after --good and --bad itself."""
    history = make_history(tmp_path, ["ok"] * (first_bad - 1) + ["crash"] * (7 - first_bad))
    code, out, err = _bisect(history, tmp_path, "--tries", "1")
    assert code == 0, err
    culprit = history.commits[first_bad]
    assert f"first bad commit: {culprit}  commit {first_bad}: crash" in out
    started, steps, (finished,) = _events(_folder(tmp_path))
    assert finished.first_bad == culprit and finished.candidates == [culprit]
    assert started[0].bucket is not None and "_deref" in (started[0].signature or "")
    verdicts = {s.commit: s.verdict for s in steps}
    assert verdicts[culprit] == "bad"
    assert verdicts[history.commits[first_bad - 1]] == "good"
    assert err.count("[bisect] ") == len(steps)  # a progress line per step
    report = json.loads((_folder(tmp_path) / "bisect.json").read_text())
    assert report["first_bad"] == culprit and len(report["steps"]) == len(steps)


def test_an_intermittent_crash_is_found_with_tries(tmp_path: Path) -> None:
    """The crash shows on one run in three: one try misses it, five find it."""
    history = make_history(tmp_path, ["ok", "ok", "flaky", "flaky", "flaky", "flaky"])
    code, _, err = _bisect(history, tmp_path, "--tries", "1")
    assert code == 2
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith(f"error: --bad {history.commits[-1][:12]} does not crash in 1 tries")
    )
    code, out, err = _bisect(history, tmp_path, "--tries", "5")
    assert code == 0, err
    assert f"first bad commit: {history.commits[3]}" in out
    _, steps, _ = _events(_folder(tmp_path))
    bad_tries = [s.tries for s in steps if s.verdict == "bad"]
    assert bad_tries and all(t > 1 for t in bad_tries)
    assert all(s.tries == 5 for s in steps if s.verdict == "good")


def test_an_untestable_range_is_reported_as_a_range(tmp_path: Path) -> None:
    history = make_history(tmp_path, ["ok", "broken", "broken", "crash", "crash", "crash"])
    code, out, err = _bisect(history, tmp_path, "--tries", "1")
    assert code == 0, err
    _, steps, (finished,) = _events(_folder(tmp_path))
    assert finished.first_bad is None
    assert finished.candidates == list(history.commits[2:5])
    assert "first bad commit is one of 3" in out
    skipped = [s for s in steps if s.verdict == "skip"]
    assert skipped and all("import_error" in s.reason for s in skipped)


def test_a_crash_elsewhere_is_not_taken_for_the_crash_sought(tmp_path: Path) -> None:
    history = make_history(tmp_path, ["ok", "ok", "other", "ok", "crash", "crash"])
    code, out, err = _bisect(history, tmp_path, "--tries", "1")
    assert code == 0, err
    assert f"first bad commit: {history.commits[5]}" in out
    _, steps, _ = _events(_folder(tmp_path))
    other = next(s for s in steps if s.commit == history.commits[3])
    assert other.verdict == "skip" and "crashed elsewhere" in other.reason
    assert other.bucket is not None and other.bucket != steps[0].bucket


def _error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_bad_revisions_are_one_line_and_nothing_is_built(tmp_path: Path) -> None:
    history = make_history(tmp_path, ["ok", "crash"])
    good, bad = history.commits[0], history.commits[-1]
    cases = [
        ((good, "no-such-rev"), "error: --bad no-such-rev: no such commit in"),
        (("v9.9", bad), "error: --good v9.9: no such commit in"),
        ((bad, good), "is not an ancestor of --bad"),
        ((good, good), "are the same commit"),
    ]
    for (g, b), expected in cases:
        done = run_apiary(*bisect_args(history, tmp_path, g, b), cwd=tmp_path)
        assert done.returncode == 2
        assert expected in _error_line(done.stderr)
    swapped = run_apiary(*bisect_args(history, tmp_path, bad, good), cwd=tmp_path)
    assert "(swapped? --good must be the older commit)" in swapped.stderr
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "work" / "venvs").exists()


def test_endpoints_that_contradict_the_crash_are_refused(tmp_path: Path) -> None:
    history = make_history(tmp_path, ["ok", "crash", "crash"])
    c = history.commits
    done = run_apiary(*bisect_args(history, tmp_path, c[2], c[3], "--tries", "1"), cwd=tmp_path)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: --good {c[2][:12]} already crashes in bucket")
    done = run_apiary(*bisect_args(history, tmp_path, c[0], c[1], "--tries", "2"), cwd=tmp_path)
    assert done.returncode == 2
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: --bad {c[1][:12]} does not crash in 2 tries (no crash in 2")


def test_a_killed_bisection_resumes_without_testing_a_decided_commit_again(
    tmp_path: Path,
) -> None:
    history = make_history(tmp_path, ["ok", "ok", "ok", "crash", "crash", "crash"])
    args = bisect_args(history, tmp_path, history.commits[0], history.commits[-1], "--tries", "1")
    process = subprocess.Popen(
        [APIARY, *args],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "CI": "1"},
        start_new_session=True,
    )
    assert process.stderr is not None
    decided = []
    for line in process.stderr:
        if line.startswith("[bisect] "):
            decided.append(line.split()[1])
            if len(decided) == 3:
                break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    _, first_steps, finished = _events(_folder(tmp_path))
    assert not finished and len(first_steps) >= 3

    code, out, err = _bisect(history, tmp_path, "--tries", "1")
    assert code == 0, err
    assert f"first bad commit: {history.commits[4]}" in out
    started, steps, _ = _events(_folder(tmp_path))
    assert [s.resumed for s in started] == [False, True]
    redone = [line.split()[1] for line in err.splitlines() if line.startswith("[bisect] ")]
    assert not set(redone) & {s.commit[:12] for s in first_steps}
    assert len({s.commit for s in steps}) == len(steps)  # no commit tested twice


def test_the_narrowed_reproducer_and_bucket_of_a_run_are_bisected(tmp_path: Path) -> None:
    """`--crash crash.json` from `apiary run`: its bucket, and its one-test command."""
    history = make_history(tmp_path, ["ok", "ok", "crash", "crash", "crash", "crash"])
    bad = history.commits[-1]
    done = run_apiary(
        *run_args(history.registry, tmp_path, "found", "--packages", f"hist-pkg@{bad}"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    crash_file = tmp_path / "results" / "found" / "crashes" / "hist-pkg" / "crash.json"
    crash = json.loads(crash_file.read_text())
    assert crash["isolated"]["status"] == "reproduces"
    code, out, err = _bisect(history, tmp_path, "--tries", "1", "--crash", str(crash_file))
    assert code == 0, err
    assert f"first bad commit: {history.commits[3]}" in out
    started, _, _ = _events(_folder(tmp_path))
    assert started[0].bucket == crash["bucket"]
    assert started[0].command == crash["isolated"]["command"]
    assert started[0].command.endswith("tests/test_work.py::test_work")


def test_a_registry_entry_naming_a_private_host_repository_is_not_bisected(
    tmp_path: Path,
) -> None:
    history = make_history(tmp_path, ["crash"])
    entry = history.registry / "packages" / "hist-pkg.yaml"
    private = f"file://{Path.home()}/private-history"
    entry.write_text(entry.read_text().replace(f"repo: {history.repo}", f"repo: {private}"))
    good, bad = history.commits
    done = run_apiary(*bisect_args(history, tmp_path, good, bad), cwd=tmp_path)
    assert done.returncode == 2
    assert f"the repository {private} is a private host path" in _error_line(done.stderr)
    assert not (tmp_path / "results").exists()
