from __future__ import annotations

import logging
import signal
import stat
import subprocess
from pathlib import Path

import pytest
from sandbox_runner import Isolation, SandboxSpec, probe_bwrap, run_sandboxed
from sandbox_runner.reaper import (
    ReaperChannel,
    ReaperProgram,
    choose_reaper,
    parse_report,
    python_reaper,
)
from sandbox_runner.reaperbuild import (
    COMPILER_VAR,
    ReaperBuildError,
    c_reaper,
    check_reaper,
    compiled_reaper,
    find_compiler,
    reaper_cache,
)

COMPILER = find_compiler({})
needs_cc = pytest.mark.skipif(COMPILER is None, reason="no C compiler (cc, gcc) here")
needs_bwrap = pytest.mark.skipif(not probe_bwrap()[0], reason="bubblewrap unusable here")


def _c_reaper() -> ReaperProgram:
    program = choose_reaper()
    assert program.kind == "c", "a C compiler is here, so the C reaper must be chosen"
    return program


@pytest.fixture(
    params=[pytest.param("c", marks=needs_cc), pytest.param("python")], ids=["c", "python"]
)
def program(request: pytest.FixtureRequest) -> ReaperProgram:
    return _c_reaper() if request.param == "c" else python_reaper()


def test_parse_report() -> None:
    report = parse_report(b"2816 204800 0.500000 0.250000\n")
    assert report is not None
    assert report.returncode == 11  # 2816 = exit status 11 << 8
    assert report.usage.maxrss_kib == 204800
    assert report.usage.cpu_s == 0.75
    killed = parse_report(f"{signal.SIGSEGV} 10 0 0\n".encode())
    assert killed is not None and killed.returncode == -signal.SIGSEGV
    assert parse_report(b"") is None
    assert parse_report(b"12 34") is None
    assert parse_report(b"a b c d") is None


def test_the_reaper_reports_the_command_and_exits_like_it(program: ReaperProgram) -> None:
    # Outside any namespace (so no stop request here: that kills every process it may).
    channel = ReaperChannel(program)
    try:
        argv = channel.wrap(["sh", "-c", "head -c 1000000 /dev/zero | wc -c; kill -SEGV $$"])
        proc = subprocess.Popen(argv, pass_fds=channel.child_fds, stdout=subprocess.PIPE)
        channel.started()
        out, _ = proc.communicate(timeout=60)
        report = channel.read_report()
    finally:
        channel.close()
    assert out.strip() == b"1000000"
    assert proc.returncode == -signal.SIGSEGV
    assert report is not None
    assert report.returncode == -signal.SIGSEGV
    assert report.usage.maxrss_kib > 0


def test_the_reaper_says_when_a_command_cannot_start(program: ReaperProgram) -> None:
    channel = ReaperChannel(program)
    try:
        argv = channel.wrap(["/nonexistent/program"])
        proc = subprocess.run(
            argv, pass_fds=channel.child_fds, capture_output=True, timeout=60, check=False
        )
        channel.started()
        report = channel.read_report()
    finally:
        channel.close()
    assert proc.returncode == 127
    assert b"cannot execute /nonexistent/program" in proc.stderr
    assert report is not None and report.returncode == 127


@pytest.mark.parametrize(
    ("command", "returncode"),
    [("exit 0", 0), ("exit 139", 139), ("kill -SEGV $$", -signal.SIGSEGV), ("exit 3", 3)],
)
def test_the_reaper_keeps_exit_status_apart_from_signals(
    program: ReaperProgram, command: str, returncode: int
) -> None:
    channel = ReaperChannel(program)
    try:
        argv = channel.wrap(["sh", "-c", command])
        proc = subprocess.run(argv, pass_fds=channel.child_fds, timeout=60, check=False)
        report = channel.read_report()
    finally:
        channel.close()
    assert proc.returncode == returncode
    assert report is not None and report.returncode == returncode


def test_the_reaper_stops_the_command_on_request(program: ReaperProgram) -> None:
    # Outside a namespace the stop kills only the command's session, never `kill(-1)`.
    channel = ReaperChannel(program)
    try:
        argv = channel.wrap(["sh", "-c", "sleep 300 & exec sleep 300"])
        proc = subprocess.Popen(argv, pass_fds=channel.child_fds)
        channel.started()
        channel.request_stop()
        proc.wait(timeout=60)
        report = channel.read_report()
    finally:
        channel.close()
    assert proc.returncode == -signal.SIGKILL
    assert report is not None and report.returncode == -signal.SIGKILL


def test_the_reaper_sets_the_process_limit(program: ReaperProgram) -> None:
    channel = ReaperChannel(program)
    try:
        argv = channel.wrap(["grep", "Max processes", "/proc/self/limits"], nproc=4321)
        proc = subprocess.run(
            argv, pass_fds=channel.child_fds, capture_output=True, timeout=60, check=False
        )
    finally:
        channel.close()
    assert proc.stdout.split()[2:4] == [b"4321", b"4321"]


@needs_cc
def test_the_c_reaper_is_built_once_private_and_keyed(tmp_path: Path) -> None:
    assert COMPILER is not None
    cache = tmp_path / "cache" / "reaper"
    built = compiled_reaper(COMPILER, cache)
    assert built.parent == cache and built.name.startswith("reaper-")
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(built.stat().st_mode) == 0o755
    assert [p.name for p in cache.iterdir()] == [built.name]  # no temporary left behind
    stamp = built.stat().st_mtime_ns
    assert compiled_reaper(COMPILER, cache) == built
    assert built.stat().st_mtime_ns == stamp  # not rebuilt
    other = tmp_path / "other-cc"
    other.write_text(f'#!/bin/sh\nexec {COMPILER} "$@"\n')
    other.chmod(0o755)
    assert compiled_reaper(str(other), cache) != built  # keyed by the compiler's path


def test_a_cache_others_may_enter_is_refused(tmp_path: Path) -> None:
    cache = tmp_path / "reaper"
    cache.mkdir(mode=0o755)
    cache.chmod(0o755)
    with pytest.raises(ReaperBuildError, match="only this user may enter"):
        compiled_reaper(COMPILER or "cc", cache)


def test_a_failing_compiler_falls_back_to_python(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="sandbox_runner"):
        why = c_reaper("/bin/false", tmp_path / "reaper")
        assert isinstance(why, str) and why.startswith("the C reaper cannot be built")
        assert c_reaper("/bin/false", tmp_path / "reaper") == why  # said once only
    said = [r.getMessage() for r in caplog.records if "sandbox reaper" in r.getMessage()]
    assert len(said) == 1 and "cannot be built" in said[0] and "/bin/false" in said[0]
    assert not any((tmp_path / "reaper").iterdir())


@pytest.mark.parametrize("value", ["", "none", " none "])
def test_the_compiler_variable_can_say_none(value: str) -> None:
    assert find_compiler({COMPILER_VAR: value}) is None
    assert find_compiler({COMPILER_VAR: "/nonexistent/cc"}) is None


@needs_cc
def test_the_default_cache_is_under_xdg_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert reaper_cache() == tmp_path / "apiary" / "reaper"
    program = choose_reaper()
    assert program.kind == "c" and Path(program.argv[0]).parent == reaper_cache()


@needs_bwrap
def test_without_a_compiler_bwrap_runs_under_the_python_reaper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(COMPILER_VAR, "none")
    c_reaper.cache_clear()  # so that this process says it again
    with caplog.at_level(logging.INFO, logger="sandbox_runner"):
        assert choose_reaper().kind == "python"
        spec = SandboxSpec(
            command=["sh", "-c", "head -c 3000000 /dev/zero | wc -c; kill -SEGV $$"],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin"},
            isolation=Isolation(backend="bwrap"),
            stdout_log=tmp_path / "out.log",
        )
        result = run_sandboxed(spec)
    assert result.backend == "bwrap"
    assert result.signal == signal.SIGSEGV and result.exit_code == -signal.SIGSEGV
    assert result.peak_rss_bytes is not None and result.cpu_s is not None
    assert b"3000000" in (tmp_path / "out.log").read_bytes()
    assert any("Python, no C compiler" in r.getMessage() for r in caplog.records)
    assert result.backend_reason.endswith(
        f"; reaper: Python, no C compiler ({COMPILER_VAR} says none, or no cc/gcc on PATH)"
    )


@needs_cc
@needs_bwrap
@pytest.mark.parametrize(
    ("command", "exit_code"), [("exit 139", 139), ("kill -SEGV $$", -signal.SIGSEGV)]
)
def test_bwrap_runs_the_command_under_the_c_reaper(
    tmp_path: Path, command: str, exit_code: int
) -> None:
    spec = SandboxSpec(
        command=["sh", "-c", f"cat /proc/$PPID/comm; {command}"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        isolation=Isolation(backend="bwrap"),
        stdout_log=tmp_path / "out.log",
    )
    result = run_sandboxed(spec)
    assert result.backend == "bwrap" and "reaper" not in result.backend_reason
    assert result.stdout_tail[0].startswith("reaper-")  # the command's parent: the C reaper
    assert result.exit_code == exit_code  # a signal stays apart from its shell status
    assert result.signal == signal.SIGSEGV  # both read as a SIGSEGV (128 + 11 from a shell)
    assert result.cpu_s is not None and result.peak_rss_bytes


@needs_cc
def test_a_reaper_that_cannot_run_is_not_used(tmp_path: Path) -> None:
    assert COMPILER is not None
    built = compiled_reaper(COMPILER, tmp_path / "reaper")
    assert check_reaper(built) == built
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\nexit 0\n")  # exits, reports nothing
    broken.chmod(0o755)
    with pytest.raises(ReaperBuildError, match="failed its check run"):
        check_reaper(broken)
    broken.chmod(0o644)
    with pytest.raises(ReaperBuildError, match="does not run"):
        check_reaper(broken)
