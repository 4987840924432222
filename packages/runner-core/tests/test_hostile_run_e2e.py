"""`apiary run` against a hostile package index and hostile run directories, as a user
runs it: each problem is one line, one bad package never stops the others, and run.json
never stays "running"."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hostile_index import (
    HostileIndex,
    bomb,
    endless,
    hostile_index,
    release_document,
    sdist,
    trickle,
)
from normalized_events import PackageFinished, PackageStarted, read_events, torn_path
from runner_fixtures import (
    APIARY,
    PASSING,
    make_git_repo,
    package_outcomes,
    run_apiary,
    run_args,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]

HOSTILE = {
    "goodpkg": "fine",
    "climber": "the index gives the sdist file name '../../../../x.tar.gz', not a plain",
    "mover": "the index gives the version '../../../../some/dir', not a PEP 440 version",
    "reader": "the index gives the URL 'file:///etc/passwd': not an http:// or https:// URL",
    "trickler": "no complete answer within 6 s",
    "bomber": "bomber-1.0.tar.gz: more than 4 GiB unpacked (the unpacked-size limit): refused",
    "weighty": "the answer is larger than the 64 MiB limit",
}


def _entry(name: str) -> str:
    return "\n".join(
        [
            f"package: {name}",
            "repo: null",
            "extension_type: pure",
            "install_command: python -c pass",
            f"test_command: python -c 'import {name}'",
            "enriched: true",
            "",
        ]
    )


@pytest.fixture
def index() -> Iterator[HostileIndex]:
    with hostile_index() as served:
        yield served


def _serve(index: HostileIndex) -> None:
    index.release(
        "goodpkg", "1.0", "goodpkg-1.0.tar.gz", sdist("goodpkg", "1.0", {"goodpkg.py": ""})
    )
    evil = sdist("climber", "1.0", {"climber.py": ""})
    index.release("climber", "1.0", "../../../../x.tar.gz", evil, url="/files/c.tar.gz")
    index.routes["/files/c.tar.gz"] = index.routes.pop("/files/../../../../x.tar.gz")
    mover = sdist("mover", "1.0", {"mover.py": ""})
    index.release("mover", "../../../../some/dir", "mover-1.0.tar.gz", mover)
    index.project(
        "reader",
        release_document("reader", "1.0", "reader-1.0.tar.gz", "file:///etc/passwd", "0" * 64),
    )
    index.project(
        "trickler", release_document("trickler", "1.0", "trickler-1.0.tar.gz", "/slow", "0" * 64)
    )
    index.routes["/slow"] = trickle()
    index.release("bomber", "1.0", "bomber-1.0.tar.gz", bomb(1, 8 << 30, "bomber-1.0"))
    index.routes["/pypi/weighty/json"] = endless()


def test_a_hostile_index_stops_each_package_with_one_line(
    index: HostileIndex, tmp_path: Path
) -> None:
    victim = tmp_path / "some" / "dir"
    victim.mkdir(parents=True)
    (victim / "precious").write_text("keep me")
    _serve(index)
    registry = tmp_path / "registry"
    (registry / "packages").mkdir(parents=True)
    for name in HOSTILE:
        (registry / "packages" / f"{name}.yaml").write_text(_entry(name))
    argv = run_args(registry, tmp_path, "h1", "--source", "sdist", "--timeout", "6")
    done = run_apiary(*argv, "--workers", "2", cwd=tmp_path, env={"APIARY_PYPI_URL": index.url})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    run_dir = tmp_path / "results" / "h1"
    finished = {
        e.package: e
        for e in read_events(run_dir / "events.jsonl").known()
        if isinstance(e, PackageFinished)
    }
    assert finished["goodpkg"].outcome.value == "pass"
    for name, reason in HOSTILE.items():
        if name == "goodpkg":
            continue
        assert finished[name].outcome.value == "source_error", name
        assert reason in (finished[name].reason or ""), finished[name].reason
        assert "\n" not in (finished[name].reason or "")
    assert (victim / "precious").read_text() == "keep me"
    assert not list(tmp_path.rglob("x.tar.gz"))
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"


def test_a_second_run_with_the_same_id_is_refused(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("passing-pkg", "slow-pkg")
    argv = run_args(registry, tmp_path, "same", "--idle-timeout", "20")
    first = subprocess.Popen(
        [APIARY, *argv],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CI": "1"},
    )
    events = tmp_path / "results" / "same" / "events.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (
        events.exists() and any(isinstance(e, PackageStarted) for e in read_events(events).events)
    ):
        time.sleep(0.2)
    second = run_apiary(*argv, cwd=tmp_path)
    assert second.returncode == 2
    assert second.stderr.strip() == (
        f"error: run same is in use by another apiary (pid {first.pid}):"
        " wait for it to end, or choose another --run-id"
    )
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err
    result = read_events(events)
    assert result.problems == [] and not result.torn_tail
    assert sorted(package_outcomes(events.parent).values()) == ["pass", "timeout"]


def test_resume_redoes_a_result_whose_line_was_torn(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("passing-pkg", "failing-pkg")
    first = run_apiary(*run_args(registry, tmp_path, "t"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    events = tmp_path / "results" / "t" / "events.jsonl"
    lines = events.read_bytes().splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if b'"package_finished"' in line)
    torn = lines[last].rstrip(b"\n")
    deep = b'{"type":"package_finished","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    events.write_bytes(b"".join(lines[:last]) + deep + torn)
    lost = json.loads(torn)["package"]
    resumed = run_apiary(
        "run", "--resume", "t", "--results-dir", str(tmp_path / "results"), cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert torn_path(events).read_bytes() == torn + b"\n"  # set aside, never cut off
    after = [e for e in read_events(events).known() if isinstance(e, PackageFinished)]
    assert sorted(e.package for e in after) == ["failing-pkg", "passing-pkg"]
    assert [e.package for e in after][-1] == lost  # redone, not taken from the torn line
    summary = run_apiary("report", "summary", str(events.parent), cwd=tmp_path)
    assert summary.returncode == 0 and "Traceback" not in summary.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "holds a JSON list, not a run's record"),
        ("[" * 100_000, "is nested too deeply"),
        ('{"settings": 3}', "run.json has no usable settings"),
        ('{"settings": {}, "selection": [1]}', "run.json has no usable settings"),
    ],
)
def test_a_run_json_that_is_not_a_record_is_one_line(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "results" / "x").mkdir(parents=True)
    (tmp_path / "results" / "x" / "run.json").write_text(content)
    done = run_apiary(
        "run", "--resume", "x", "--results-dir", str(tmp_path / "results"), cwd=tmp_path
    )
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.parametrize("run_id", ["../../escaped", "/tmp/abs", ".hidden", "a/b"])
def test_a_run_id_naming_a_path_is_refused(
    fixture_registry: Callable[..., Path], tmp_path: Path, run_id: str
) -> None:
    registry = fixture_registry("passing-pkg")
    done = run_apiary(*run_args(registry, tmp_path, run_id), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: --run-id {run_id!r}: a run id is letters")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "escaped").exists()


def test_an_unwritable_event_log_marks_the_run_failed(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("passing-pkg")
    (tmp_path / "results" / "f" / "events.jsonl").mkdir(parents=True)
    done = run_apiary(*run_args(registry, tmp_path, "f"), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    run_json = json.loads((tmp_path / "results" / "f" / "run.json").read_text())
    assert run_json["status"] == "failed" and "events.jsonl" in run_json["error"]


def test_a_repo_override_with_a_link_to_usr_copies_only_the_folder(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("passing-pkg")
    folder = tmp_path / "checkout"
    for rel, text in PASSING.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    (folder / "usr").symlink_to("/usr")
    done = run_apiary(
        *run_args(registry, tmp_path, "o", "--repo-override", f"passing-pkg={folder}"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert package_outcomes(tmp_path / "results" / "o") == {"passing-pkg": "pass"}
    copy = tmp_path / "work" / "sources" / "local" / "passing-pkg"
    assert not (copy / "usr").exists() and (copy / "passing_pkg" / "__init__.py").is_file()
    log = (tmp_path / "results" / "o" / "logs" / "passing-pkg" / "source.log").read_text()
    assert "not copied: usr -> /usr" in log


def test_a_hostile_registry_file_is_one_warning_and_the_rest_runs(
    fixture_registry: Callable[..., Path], tmp_path: Path
) -> None:
    registry = fixture_registry("passing-pkg")
    bomb_lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb_lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    (registry / "packages" / "bomb.yaml").write_text("package: bomb\n" + "\n".join(bomb_lines))
    (registry / "packages" / "huge.yaml").write_bytes(b"package: huge\n" + b"k: 1\n" * (1 << 19))
    done = run_apiary(*run_args(registry, tmp_path, "w"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2 and "Traceback" not in done.stderr
    assert "YAML aliases (*a0) are not allowed" in warnings[0]
    assert "over the 1 MiB limit" in warnings[1]
    assert package_outcomes(tmp_path / "results" / "w") == {"passing-pkg": "pass"}


@pytest.fixture
def private_repo() -> Iterator[Path]:
    """A git repository holding a secret in a private place of the host (the home)."""
    cache = Path.home() / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="apiary-test-private-", dir=cache))
    try:
        make_git_repo(folder, {"SECRET.txt": "host-private-secret\n", "tests/test_x.py": ""})
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_registry_entry_naming_a_private_host_repository_is_refused(
    fixture_registry: Callable[..., Path], tmp_path: Path, private_repo: Path
) -> None:
    registry = fixture_registry("passing-pkg")
    (registry / "packages" / "taker.yaml").write_text(
        f"package: taker\nrepo: file://{private_repo}\ninstall_command: pip install pytest\n"
        "test_command: cat SECRET.txt\nimport_name: tests\nenriched: true\n"
    )
    done = run_apiary(*run_args(registry, tmp_path, "p"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "results" / "p"
    assert package_outcomes(run_dir) == {"passing-pkg": "pass", "taker": "source_error"}
    events = read_events(run_dir / "events.jsonl").known()
    reasons = [e.reason for e in events if isinstance(e, PackageFinished)]
    assert f"the repository file://{private_repo} is a private host path" in str(reasons)
    assert list((tmp_path / "work").rglob("SECRET.txt")) == []
    # The user may still name it.
    done = run_apiary(
        *run_args(registry, tmp_path, "q", "--packages", "taker", "--repo-override",
                  f"taker={private_repo}"),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert package_outcomes(tmp_path / "results" / "q") == {"taker": "pass"}
