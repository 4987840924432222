"""A package's own code leaving traps where apiary looks from outside the sandbox: links
and FIFOs in the folder its venv lives in during the install, in the venv and the
evidence folder during its tests, a command in its clone's git config. Real `apiary
run`s, as a user runs them: no host file is read into the results, none is written, no
command of the package's runs outside the sandbox, and no run waits for ever."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from runner_fixtures import Fixture, build_registry, package_outcomes, run_apiary, run_args

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-e2e")]

SECRET = "TOPSECRET-only-the-host-may-read-this"
PRECIOUS = "precious host file\n"


def _planter(secret: Path, victim: Path) -> Fixture:
    """Its test plants, then segfaults (so the evidence is read and the crash rerun)."""
    test = textwrap.dedent(
        f"""
        import ctypes, os, site, sys

        def plant(target, place):
            if os.path.lexists(place):
                os.remove(place)
            os.symlink(target, place)

        def test_plant():
            evidence = os.environ["APIARY_EVIDENCE_DIR"]
            plant({str(secret)!r}, os.path.join(evidence, "capture-1-1.out"))
            plant({str(secret)!r}, os.path.join(evidence, "asan.1"))
            plant({str(victim)!r}, os.path.join(evidence, "stacks.txt"))
            os.mkfifo(os.path.join(evidence, "test-1.json"))
            os.mkfifo(os.path.join(evidence, "junit.xml"))
            site_packages = site.getsitepackages()[0]
            plant({str(victim)!r}, os.path.join(site_packages, "_apiary_evidence.pth"))
            plant({str(victim)!r}, os.path.join(sys.prefix, ".apiary-venv.json"))
            plant({str(secret)!r}, os.path.join(sys.prefix, ".apiary-installed.json"))
            ctypes.string_at(0)
        """
    )
    files = {"planter/__init__.py": "", "tests/test_plant.py": test}
    return Fixture("planter", files)


def _swapper(tmp_path: Path, victim_dir: Path) -> Fixture:
    """Its install, once pip is done, puts a link to a host folder where its venv was."""
    venvs = tmp_path / "work" / "cache" / "packages" / "swapper" / "venvs"
    swap = textwrap.dedent(
        f"""
        import glob, os
        for venv in glob.glob({str(venvs)!r} + "/*"):
            os.rename(venv, venv + ".moved")
            os.symlink({str(victim_dir)!r}, venv)
        """
    )
    files = {
        "swapper/__init__.py": "",
        "swap.py": swap,
        "tests/test_ok.py": "def test_ok(): pass\n",
    }
    return Fixture("swapper", files, install="pip install pytest && python swap.py")


def _everything_under(folder: Path) -> str:
    """The text of every regular file under `folder` (links not followed)."""
    texts = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)


@pytest.mark.timeout(600)
def test_links_and_fifos_planted_by_a_suite_are_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "host" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET + "\n")
    victim = tmp_path / "host" / "victim.txt"
    victim.write_text(PRECIOUS)
    registry = build_registry(tmp_path, _planter(secret, victim))
    for run_id in ("first", "warm"):  # the second reuses the venv the first one's test changed
        done = run_apiary(*run_args(registry, tmp_path, run_id), cwd=tmp_path, timeout=300)
        assert done.returncode == 0, done.stderr
        assert package_outcomes(tmp_path / "results" / run_id) == {"planter": "crash"}
    assert victim.read_text() == PRECIOUS
    assert SECRET not in _everything_under(tmp_path / "results")
    log = (tmp_path / "results" / "warm" / "logs" / "planter" / "test.log").read_text()
    assert "capture-1-1.out: unreadable (a symbolic link, not followed)" in log


@pytest.mark.timeout(600)
def test_an_install_that_swaps_its_venv_for_a_link_is_stopped(tmp_path: Path) -> None:
    victim_dir = tmp_path / "host" / "etc"
    victim_dir.mkdir(parents=True)
    (victim_dir / "passwd").write_text(PRECIOUS)
    registry = build_registry(tmp_path, _swapper(tmp_path, victim_dir))
    done = run_apiary(*run_args(registry, tmp_path, "s"), cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert package_outcomes(tmp_path / "results" / "s") == {"swapper": "error"}
    assert sorted(p.name for p in victim_dir.iterdir()) == ["passwd"]
    assert (victim_dir / "passwd").read_text() == PRECIOUS
    events = (tmp_path / "results" / "s" / "events.jsonl").read_text()
    assert "leads through a symbolic link" in events and "refused" in events


def _configurer(pwned: Path) -> Fixture:
    """Its test adds a command to its clone's git config, which git runs on the next
    fetch of the clone (a local repository's upload-pack)."""
    section = '[remote "origin"]\n'
    command = f'\tuploadpack = "touch {pwned}; git-upload-pack"\n'
    test = textwrap.dedent(
        f"""
        def test_configure():
            with open(".git/config", "a") as config:
                config.write({section!r} + {command!r})
        """
    )
    files = {"configurer/__init__.py": "", "tests/test_configure.py": test}
    return Fixture("configurer", files)


@pytest.mark.timeout(600)
def test_a_suite_cannot_change_its_clone_s_git_config(tmp_path: Path) -> None:
    pwned = tmp_path / "host" / "PWNED"
    pwned.parent.mkdir()
    registry = build_registry(tmp_path, _configurer(pwned))
    outcomes = []
    for run_id in ("first", "again"):  # the second run fetches into the first one's clone
        done = run_apiary(*run_args(registry, tmp_path, run_id), cwd=tmp_path, timeout=300)
        assert done.returncode == 0, done.stderr
        outcomes.append(package_outcomes(tmp_path / "results" / run_id)["configurer"])
    assert not pwned.exists()
    assert outcomes == ["fail", "fail"]
    log = (tmp_path / "results" / "again" / "logs" / "configurer" / "test.log").read_text()
    assert "Read-only file system" in log
