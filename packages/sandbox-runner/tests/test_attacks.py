"""What a hostile command tries inside the bwrap sandbox, run for real (as root here).

Each test is an attack a package's build script or test suite can make; it must fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sandbox_runner import SandboxResult

pytestmark = pytest.mark.usefixtures("bwrap_available")


@pytest.fixture
def host_dir() -> Iterator[Path]:
    """A host directory standing for /root, /srv or /run: outside every granted path."""
    path = Path(tempfile.mkdtemp(prefix="apiary-host-", dir="/var/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_remount_of_the_root_cannot_make_the_host_writable(
    run: Callable[..., SandboxResult], host_dir: Path, tmp_path: Path
) -> None:
    target = host_dir / "planted"
    script = (
        "mount -o remount,rw,bind / ; echo remount=$?; "
        f"touch {target}; echo touch=$?; "
        "unshare -Urm sh -c 'mount -o remount,rw /usr' ; echo nested=$?; "
        "grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; id -u"
    )
    result = run(script, backend="bwrap")
    out = result.stdout_tail
    assert "remount=0" not in out and "touch=0" not in out and "nested=0" not in out, out
    assert "CapEff:\t0000000000000000" in out
    assert "CapBnd:\t0000000000000000" in out
    assert "NoNewPrivs:\t1" in out
    assert out[-1] != "0"  # not root inside either
    assert not target.exists()


def test_setuid_programs_give_nothing(
    run: Callable[..., SandboxResult], work: Path, tmp_path: Path
) -> None:
    helper = tmp_path / "tools"
    helper.mkdir()
    shutil.copy("/usr/bin/id", helper / "suid-id")
    (helper / "suid-id").chmod(0o4755)
    result = run(f"{helper}/suid-id -u", backend="bwrap")
    assert result.exit_code == 0, result.stderr_tail
    assert result.stdout_tail != ["0"]


@pytest.mark.parametrize("network", [True, False], ids=["install-with-network", "test-offline"])
def test_canary_files_in_home_are_out_of_reach(
    run: Callable[..., SandboxResult], host_dir: Path, network: bool
) -> None:
    (host_dir / ".pypirc").write_text("[pypi]\npassword = canary-pypirc\n")
    (host_dir / ".ssh").mkdir()
    (host_dir / ".ssh" / "id_ed25519").write_text("canary-ssh-key\n")
    script = (
        'cat "$HOME/.pypirc" "$HOME/.ssh/id_ed25519"; '
        f"cat {host_dir}/.pypirc {host_dir}/.ssh/id_ed25519; "
        "cat /root/.ssh/* /etc/shadow; ls /home /srv /run /var; echo HOME=$HOME"
    )
    result = run(script, backend="bwrap", network=network, env={"HOME": str(host_dir)})
    text = result.stdout_log.read_text()
    assert "canary" not in text
    assert "root:" not in text  # /etc/shadow's first line
    assert result.stdout_tail[-1] == "HOME=/tmp"


def test_another_runs_results_and_other_trees_are_invisible(
    run: Callable[..., SandboxResult], work: Path, host_dir: Path
) -> None:
    other = host_dir / "results" / "other-run"
    other.mkdir(parents=True)
    (other / "events.jsonl").write_text("canary-results\n")
    sibling = work.parent / "other-package-tree"
    sibling.mkdir()
    result = run(f"cat {other}/events.jsonl; ls {work.parent}", backend="bwrap")
    assert "canary" not in result.stdout_log.read_text()
    assert result.stdout_tail == ["work"]  # the parent of cwd shows only cwd


def test_a_host_unix_socket_does_not_answer(
    run: Callable[..., SandboxResult], host_dir: Path
) -> None:
    path = host_dir / "service.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    os.chmod(path, 0o777)
    accepted: list[bytes] = []

    def serve() -> None:
        server.settimeout(60)
        try:
            conn, _ = server.accept()
        except OSError:
            return
        accepted.append(conn.recv(100))
        conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    client = (
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n"
        f"    s.connect({str(path)!r}); s.sendall(b'hello'); print('connected')\n"
        "except OSError as e:\n"
        "    print('refused', e.errno)\n"
    )
    try:
        result = run([sys.executable, "-c", client], backend="bwrap", network=True)
    finally:
        with socket.socket(socket.AF_UNIX) as host_client:  # the first to arrive
            host_client.connect(str(path))
            host_client.sendall(b"host")
        thread.join()
        server.close()
    assert result.stdout_tail[0].startswith("refused"), result.stdout_tail
    assert accepted == [b"host"]


@pytest.mark.parametrize("where", ["/dev/shm", "/tmp"])
def test_shm_and_tmp_fills_stop_at_their_size(
    run: Callable[..., SandboxResult], where: str
) -> None:
    result = run(
        f"head -c 20000000 /dev/zero > {where}/fill; echo rc=$?; du -k {where}/fill",
        backend="bwrap",
        shm_bytes=4 * 1024 * 1024,
        tmp_bytes=4 * 1024 * 1024,
    )
    assert result.stdout_tail[0] == "rc=1"
    assert int(result.stdout_tail[1].split()[0]) <= 4096
    assert any("No space left" in line for line in result.stderr_tail)


def test_the_rest_of_dev_is_read_only(run: Callable[..., SandboxResult]) -> None:
    result = run("touch /dev/planted; echo x > /dev/null && echo null-ok", backend="bwrap")
    assert result.stdout_tail == ["null-ok"]
    assert any("Read-only" in line for line in result.stderr_tail)


FORKER = """
import os, time
children = 0
try:
    for _ in range(400):
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        children += 1
except OSError as error:
    print("fork refused after", children, error)
else:
    print("started", children)
"""


def test_a_fork_bomb_stops_at_the_process_limit(run: Callable[..., SandboxResult]) -> None:
    """Bounded for the machine's sake: at most 400 sleeping children, 60 allowed."""
    result = run([sys.executable, "-c", FORKER], backend="bwrap", processes=60, timeout_s=60)
    words = result.stdout_tail[0].split()
    assert words[:3] == ["fork", "refused", "after"], result.stdout_tail
    assert int(words[3]) < 60
    assert result.process_limit_hit
    assert "process limit 60" in result.process_limit


def test_a_disk_fill_is_stopped_and_said(run: Callable[..., SandboxResult], work: Path) -> None:
    result = run(
        "head -c 400000000 /dev/zero > fill.bin; sleep 30",
        backend="bwrap",
        disk_bytes=50 * 1024 * 1024,
        timeout_s=60,
    )
    assert result.disk_limit_hit
    assert result.killed
    assert result.limit_note is not None and result.limit_note.startswith("disk limit: ")
    assert "stopped: disk limit" in result.describe()
    assert result.wall_s < 30


def test_a_disk_fill_that_exits_before_the_next_look_is_still_said(
    run: Callable[..., SandboxResult], work: Path
) -> None:
    # Written and gone well within one look of the watch: only the look at exit sees it.
    result = run(
        "head -c 200000000 /dev/zero > fill.bin",
        backend="bwrap",
        disk_bytes=50 * 1024 * 1024,
        timeout_s=60,
    )
    assert result.disk_limit_hit
    assert result.limit_note is not None and result.limit_note.startswith("disk limit: ")


def test_private_keys_under_etc_stay_hidden(run: Callable[..., SandboxResult]) -> None:
    result = run(
        "ls -A /etc/ssl/private | wc -l; test -e /etc/ssl/certs && echo certs", backend="bwrap"
    )
    assert result.stdout_tail == ["0", "certs"]


def test_the_remount_attack_through_the_command_line(host_dir: Path, tmp_path: Path) -> None:
    """`apiary sandbox -- sh -c 'mount -o remount,rw,bind / && touch FILE'`, as root."""
    target = host_dir / "file"
    attack = f"mount -o remount,rw,bind / && touch {target}"
    options = ["--backend", "bwrap", "--cwd", str(tmp_path), "--log-dir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "sandbox_runner", *options, "--", "sh", "-c", attack],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert not target.exists()


def test_a_group_swept_before_the_command_joins_is_made_again() -> None:
    """Another apiary's clean-up may remove an empty group: the child recreates it."""
    from sandbox_runner.pidlimit import join_group, process_limit

    limit = process_limit(50, f"test-swept-{os.getpid()}")
    if limit.group is None:
        pytest.skip("no pids cgroup can be made here")
    limit.group.path.rmdir()
    try:
        done = subprocess.run(
            ["cat", "/proc/self/cgroup"],
            preexec_fn=lambda: join_group(limit.group.path, 50),  # type: ignore[union-attr]
            capture_output=True,
            text=True,
            check=True,
        )
        assert limit.group.path.name in done.stdout
        assert (limit.group.path / "pids.max").read_text().strip() == "50"
    finally:
        limit.finish()
