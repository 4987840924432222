"""What only bubblewrap gives: no network, a read-only host, a private /tmp; and its probe."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sandbox_runner import (
    Isolation,
    SandboxError,
    SandboxResult,
    SandboxSpec,
    choose_backend,
    probe_bwrap,
    run_sandboxed,
)
from sandbox_runner.backends import BwrapBackend, Launch

PY = sys.executable

CONNECT = (
    "import socket, sys\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', {port}), timeout=10)\n"
    "    s.sendall(b'hello from the sandbox')\n"
    "    s.close()\n"
    "    print('connected')\n"
    "except OSError as error:\n"
    "    print('refused:', type(error).__name__, error)\n"
    "    sys.exit(7)\n"
)


def _arrived(received: list[bytes], wait_s: float = 10.0) -> list[bytes]:
    """What the server thread got: the client may exit before the server's recv returns."""
    deadline = time.monotonic() + wait_s
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    return received


@pytest.mark.usefixtures("bwrap_available")
def test_network_off_cannot_reach_a_host_server(
    run: Callable[..., SandboxResult], tcp_server: tuple[int, list[bytes]]
) -> None:
    port, received = tcp_server
    result = run([PY, "-c", CONNECT.format(port=port)], backend="bwrap", network=False)
    assert result.exit_code == 7
    assert result.stdout_tail[-1].startswith("refused: ConnectionRefusedError")
    assert result.network_isolated
    assert received == []


@pytest.mark.usefixtures("bwrap_available")
def test_network_on_reaches_a_host_server(
    run: Callable[..., SandboxResult], tcp_server: tuple[int, list[bytes]]
) -> None:
    port, received = tcp_server
    result = run([PY, "-c", CONNECT.format(port=port)], backend="bwrap", network=True)
    assert result.exit_code == 0, result.stdout_tail
    assert result.stdout_tail == ["connected"]
    assert not result.network_isolated
    assert _arrived(received) == [b"hello from the sandbox"]


def test_none_backend_says_the_network_is_not_isolated(
    run: Callable[..., SandboxResult], tcp_server: tuple[int, list[bytes]]
) -> None:
    port, received = tcp_server
    result = run([PY, "-c", CONNECT.format(port=port)], backend="none", network=False)
    assert result.exit_code == 0
    assert not result.network_isolated
    assert _arrived(received) == [b"hello from the sandbox"]


@pytest.fixture
def outside() -> Iterator[Path]:
    """A host directory outside /tmp (the sandbox's /tmp is private), never granted."""
    path = Path(tempfile.mkdtemp(prefix="apiary-outside-", dir="/var/tmp"))
    (path / "existing.txt").write_text("original\n")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.usefixtures("bwrap_available")
def test_writes_outside_the_writable_paths_fail(
    run: Callable[..., SandboxResult], outside: Path, work: Path, tmp_path: Path
) -> None:
    extra = tmp_path / "venv"
    extra.mkdir()
    (tmp_path / "host-only.txt").write_text("host\n")
    script = (
        f'echo new > {outside}/new.txt; echo "new: $?"; '
        f'echo changed > {outside}/existing.txt; echo "existing: $?"; '
        f'echo mine > {work}/in-cwd.txt; echo "cwd: $?"; '
        f'echo venv > {extra}/in-venv.txt; echo "writable: $?"; '
        'echo private > /tmp/in-tmp.txt; echo "tmp: $?"; '
        f'cat {tmp_path}/host-only.txt >/dev/null 2>&1; echo "host /tmp file: $?"'
    )
    result = run(script, backend="bwrap", writable=(extra,))
    assert result.stdout_tail == [
        "new: 2",
        "existing: 2",
        "cwd: 0",
        "writable: 0",
        "tmp: 0",
        "host /tmp file: 1",
    ]
    # the host outside the granted paths is not even visible
    assert any("nonexistent" in line for line in result.stderr_tail), result.stderr_tail
    assert not (outside / "new.txt").exists()
    assert (outside / "existing.txt").read_text() == "original\n"
    assert (work / "in-cwd.txt").read_text() == "mine\n"
    assert (extra / "in-venv.txt").read_text() == "venv\n"
    assert not Path("/tmp/in-tmp.txt").exists()


@pytest.mark.usefixtures("bwrap_available")
def test_none_backend_writes_anywhere(run: Callable[..., SandboxResult], outside: Path) -> None:
    result = run(f"echo new > {outside}/new.txt", backend="none")
    assert result.exit_code == 0
    assert (outside / "new.txt").exists()


@pytest.mark.usefixtures("bwrap_available")
def test_the_command_does_not_see_host_processes(run: Callable[..., SandboxResult]) -> None:
    result = run("echo $$; ls /proc | grep -c '^[0-9]'", backend="bwrap")
    pid, count = (int(line) for line in result.stdout_tail)
    assert pid < 10
    assert count < 10


def test_probe_is_cached_and_succeeds_here() -> None:
    first = probe_bwrap()
    assert probe_bwrap() is first
    if shutil.which("bwrap"):
        assert first[0], first[1]
        assert "probe run succeeded" in first[1]


def test_probe_names_a_missing_binary() -> None:
    ok, why = probe_bwrap("/nonexistent/bin/bwrap")
    assert not ok
    assert "/nonexistent/bin/bwrap" in why
    assert "apt-get install bubblewrap" in why


@pytest.fixture
def blocked_bwrap(tmp_path: Path) -> str:
    """A bwrap that fails the way it does where user namespaces are blocked."""
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return str(fake)


def test_probe_explains_blocked_user_namespaces(blocked_bwrap: str) -> None:
    ok, why = probe_bwrap(blocked_bwrap)
    assert not ok
    assert "cannot create namespaces" in why
    assert "setting up uid map: Permission denied" in why
    assert "sysctl" in why


def test_asking_for_bwrap_where_it_cannot_run_is_one_clear_error(blocked_bwrap: str) -> None:
    with pytest.raises(SandboxError) as caught:
        choose_backend(Isolation(backend="bwrap", bwrap_executable=blocked_bwrap))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("backend bwrap cannot run here: ")
    assert "sysctl" in message
    assert "--backend none" in message


def test_auto_falls_back_to_none_and_says_why(blocked_bwrap: str) -> None:
    backend, reason = choose_backend(Isolation(backend="auto", bwrap_executable=blocked_bwrap))
    assert backend.name == "none"
    assert reason.startswith("auto fell back to none: ")
    assert "the network is NOT isolated" in reason


@pytest.mark.usefixtures("bwrap_available")
def test_auto_picks_bwrap_when_the_probe_succeeds() -> None:
    backend, reason = choose_backend(Isolation(backend="auto"))
    assert backend.name == "bwrap"
    assert reason.startswith("auto chose bwrap: ")


def test_bwrap_argv_grants_exactly_the_writable_paths(tmp_path: Path) -> None:
    launch = Launch(
        argv=["pytest", "-x"],
        cwd=Path("/src/pkg"),
        writable=(Path("/venvs/pkg"),),
        network=False,
        readable=(tmp_path, Path("/usr")),
    )
    argv = BwrapBackend("/usr/bin/bwrap").wrap(launch)
    text = " ".join(argv)
    assert argv[0] == "/usr/bin/bwrap"
    for flag in (
        "--die-with-parent",
        "--unshare-user",
        "--unshare-pid",
        "--unshare-net",
        "--cap-drop ALL",
        "--disable-userns",
        "--ro-bind /usr /usr",
    ):
        assert flag in text
    assert "--ro-bind / /" not in text
    assert "--bind /src/pkg /src/pkg" in text
    assert "--bind /venvs/pkg /venvs/pkg" in text
    # a read-only path under /tmp is re-exposed after the private tmpfs
    assert text.index("--tmpfs /tmp") < text.index(f"--ro-bind {tmp_path} {tmp_path}")
    assert text.index("--bind /src/pkg") < text.index("--remount-ro / ")
    assert argv[-3:] == ["--", "pytest", "-x"]
    with_network = BwrapBackend("bwrap").wrap(Launch(["true"], Path("/"), (), True))
    assert "--unshare-net" not in with_network


def test_programs_in_a_venv_under_tmp_stay_visible(tmp_path: Path) -> None:
    """A checkout or venv under the host's /tmp: the private /tmp must not hide it."""
    from sandbox_runner.programs import programs_outside_view

    def programs_under_tmp(argv: list[str], env: dict[str, str]) -> tuple[Path, ...]:
        return programs_outside_view(argv, env, (Path(sys.base_prefix).resolve(),))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    assert programs_under_tmp([str(venv / "bin" / "python"), "-c", "pass"], {"PATH": ""}) == (venv,)
    assert programs_under_tmp(["python"], {"PATH": f"{venv / 'bin'}:/usr/bin"}) == (venv,)
    assert programs_under_tmp(["/usr/bin/true"], {"PATH": "/usr/bin"}) == ()
    in_shell = ["/bin/sh", "-c", f"{venv / 'bin' / 'python'} -c 'pass'; exit $?"]
    assert programs_under_tmp(in_shell, {"PATH": "/usr/bin"}) == (venv,)
    out = tmp_path / "out.log"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    result = run_sandboxed(
        SandboxSpec(
            command=[str(venv / "bin" / "python"), "-c", "import sys; print(sys.prefix)"],
            cwd=cwd,
            env={"PATH": "/usr/bin:/bin"},
            isolation=Isolation(backend="bwrap"),
            stdout_log=out,
        )
    )
    assert result.exit_code == 0, out.read_text()
    assert str(venv) in out.read_text()


@pytest.mark.usefixtures("bwrap_available")
def test_readable_paths_under_tmp_are_visible_read_only(tmp_path: Path) -> None:
    helper = tmp_path / "helper"
    helper.mkdir()
    (helper / "data.txt").write_text("seen\n")
    work = tmp_path / "work"
    work.mkdir()
    result = run_sandboxed(
        SandboxSpec(
            command=f"cat {helper}/data.txt && ! touch {helper}/new",
            cwd=work,
            env={"PATH": "/usr/bin:/bin"},
            isolation=Isolation(backend="bwrap", readable=(helper,)),
            stdout_log=tmp_path / "out.log",
        )
    )
    assert result.exit_code == 0, result.stdout_tail
    assert result.stdout_tail[0] == "seen"
    assert not (helper / "new").exists()
