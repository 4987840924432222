"""Hostile packages against a whole `apiary run`: real venvs, real installs, real bwrap."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from runner_fixtures import FIXTURES, Fixture, package_outcomes, run_apiary, run_args
from sandbox_runner import probe_bwrap

needs_bwrap = pytest.mark.skipif(not probe_bwrap()[0], reason="bubblewrap unusable here")

# Looks for installer caches from where a package's code stands (its own cache's
# parents: the shared cache of old, other packages' caches; every folder above its venv)
# and appends a line to every `iniconfig/__init__.py` it can reach outside its own venv.
POISON = textwrap.dedent(
    """
    import os
    from pathlib import Path

    def poison():
        roots = []
        for name in ("UV_CACHE_DIR", "PIP_CACHE_DIR"):
            if os.environ.get(name):
                roots += [Path(os.environ[name]), *Path(os.environ[name]).parents][:4]
        venv = os.environ.get("VIRTUAL_ENV")
        if venv:
            roots += list(Path(venv).parents)[:5]
        hits = []
        for root in roots:
            for folder, _, files in os.walk(root):
                if venv and Path(folder).is_relative_to(venv):
                    continue
                if Path(folder).name == "iniconfig" and "__init__.py" in files:
                    try:
                        with open(Path(folder) / "__init__.py", "a") as handle:
                            handle.write("\\nPOISONED = True\\n")
                        hits.append(folder)
                    except OSError:
                        pass
        print("APIARY-POISON-HITS", len(hits), flush=True)
    """
)
# A PEP 517 backend in the tree: no download, and it runs the attack when it builds.
BACKEND = POISON + textwrap.dedent(
    """
    import base64, hashlib, zipfile

    def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
        poison()
        name = "poisoner-0.1-py3-none-any.whl"
        info = "poisoner-0.1.dist-info/"
        files = {
            "poisoner/__init__.py": b"",
            info + "METADATA": b"Metadata-Version: 2.1\\nName: poisoner\\nVersion: 0.1\\n",
            info + "WHEEL": b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
        }
        record = []
        with zipfile.ZipFile(Path(wheel_directory) / name, "w") as wheel:
            for path, data in files.items():
                wheel.writestr(path, data)
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
                record.append(f"{path},sha256={digest.decode()},{len(data)}")
            record.append("poisoner-0.1.dist-info/RECORD,,")
            wheel.writestr("poisoner-0.1.dist-info/RECORD", "\\n".join(record) + "\\n")
        return name

    def get_requires_for_build_wheel(config_settings=None):
        return []
    """
)
POISONER = {
    "pyproject.toml": textwrap.dedent(
        """
        [build-system]
        requires = []
        build-backend = "backend"
        backend-path = ["."]

        [project]
        name = "poisoner"
        version = "0.1"
        """
    ),
    "backend.py": BACKEND,
    "poisoner/__init__.py": "",
    "tests/test_poison.py": POISON + "\n\ndef test_poison():\n    poison()\n",
}
FILLER = {
    "filler/__init__.py": "",
    "tests/test_fill.py": textwrap.dedent(
        """
        import os

        def test_fill():
            if os.environ.get("FILL") == "1":
                with open("filled.bin", "wb") as handle:
                    for _ in range(400):
                        handle.write(b"\\0" * 1024 * 1024)
                        handle.flush()
        """
    ),
}
CHATTY = {
    "chatty/__init__.py": "",
    "tests/test_chatty.py": (
        "def test_chatty():\n    for i in range(40000):\n        print('x' * 100)\n"
    ),
}
EXTRA = {
    "poisoner": Fixture(
        "poisoner",
        POISONER,
        install="pip install pytest && pip install .",
        test=("python -m pytest -q -s -p no:cacheprovider tests"),
    ),
    "filler": Fixture("filler", FILLER),
    "chatty": Fixture("chatty", CHATTY, test="python -m pytest -q -s -p no:cacheprovider tests"),
}


@pytest.fixture
def registry(
    fixture_registry: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Path]:
    for name, fixture in EXTRA.items():
        monkeypatch.setitem(FIXTURES, name, fixture)
    return fixture_registry


def _run_json(tmp_path: Path, run_id: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((tmp_path / "results" / run_id / "run.json").read_text())
    return data


def test_a_failing_bwrap_says_so_loudly_and_require_refuses(
    registry: Callable[..., Path], tmp_path: Path
) -> None:
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "bwrap").write_text(
        "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n"
    )
    (stub / "bwrap").chmod(0o755)
    env = {"PATH": f"{stub}:{os.environ['PATH']}"}
    reg = registry("passing-pkg")
    done = run_apiary(*run_args(reg, tmp_path, "auto", "-p", "passing-pkg"), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "WARNING: NO SANDBOX" in done.stderr
    assert "Permission denied" in done.stderr
    sandbox = _run_json(tmp_path, "auto")["sandbox"]
    assert isinstance(sandbox, dict)
    assert sandbox["used"] == "none" and sandbox["isolated"] is False
    events = (tmp_path / "results" / "auto" / "events.jsonl").read_text().splitlines()
    started = json.loads(events[0])
    assert started["options"]["sandbox_warning"].startswith("WARNING: NO SANDBOX")
    report = run_apiary("report", "summary", str(tmp_path / "results" / "auto"), cwd=tmp_path)
    assert "WARNING: NO SANDBOX" in report.stdout
    refused = run_apiary(
        *run_args(reg, tmp_path, "required", "-p", "passing-pkg", "--sandbox", "require"),
        cwd=tmp_path,
        env=env,
    )
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith("error: --sandbox require: refusing to run unisolated")
    assert not (tmp_path / "results" / "required").exists()
    doctor = run_apiary("doctor", "--offline", cwd=tmp_path, env=env)
    bubblewrap = [line for line in doctor.stdout.splitlines() if "bubblewrap" in line]
    assert "UNUSABLE" in bubblewrap[0] and "Permission denied" in bubblewrap[0]
    assert "--sandbox require" in bubblewrap[0]


@needs_bwrap
def test_neither_a_build_backend_nor_a_test_poisons_what_another_package_installs(
    registry: Callable[..., Path], tmp_path: Path
) -> None:
    reg = registry("poisoner", "passing-pkg")
    first = run_apiary(*run_args(reg, tmp_path, "poison", "-p", "poisoner"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    logs = tmp_path / "results" / "poison" / "logs" / "poisoner"
    # The backend ran its attack and reached only its own package's cache ...
    own = tmp_path / "work" / "cache" / "packages" / "poisoner"
    assert any("POISONED" in p.read_text() for p in own.rglob("iniconfig/__init__.py"))
    # ... the test reached no cache at all.
    assert "APIARY-POISON-HITS 0" in (logs / "test.log").read_text()
    second = run_apiary(*run_args(reg, tmp_path, "victim", "-p", "passing-pkg"), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert package_outcomes(tmp_path / "results" / "victim") == {"passing-pkg": "pass"}
    venvs = tmp_path / "work" / "cache" / "packages" / "passing-pkg" / "venvs"
    installed = list(venvs.glob("passing-pkg-*/lib/*/site-packages"))
    assert installed
    init = installed[0] / "iniconfig" / "__init__.py"
    assert "POISONED" not in init.read_text()


@needs_bwrap
def test_a_suite_filling_the_disk_is_stopped_and_its_tree_reset(
    registry: Callable[..., Path], tmp_path: Path
) -> None:
    reg = registry("filler")
    args = ("-p", "filler", "--disk-limit", "100M")
    filled = run_apiary(*run_args(reg, tmp_path, "fill", *args, "--env", "FILL=1"), cwd=tmp_path)
    assert filled.returncode == 0, filled.stderr
    events = (tmp_path / "results" / "fill" / "events.jsonl").read_text().splitlines()
    finished = [json.loads(line) for line in events if '"package_finished"' in line]
    assert finished[0]["outcome"] == "error"
    assert finished[0]["reason"].startswith("resource limit: stopped by the sandbox (disk limit")
    assert not list((tmp_path / "work" / "sources").glob("git/filler-*/filled.bin"))
    again = run_apiary(*run_args(reg, tmp_path, "again", *args), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert package_outcomes(tmp_path / "results" / "again") == {"filler": "pass"}


@pytest.fixture
def small_results(tmp_path: Path) -> Iterator[Path]:
    """The results folder on a 1 MiB tmpfs (mounting needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    results = tmp_path / "results"
    results.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(results)], check=True)
    try:
        yield results
    finally:
        subprocess.run(["umount", "-l", str(results)], check=False)


def test_a_full_disk_interrupts_the_run_with_one_line_and_resume_finishes_it(
    registry: Callable[..., Path], tmp_path: Path, small_results: Path
) -> None:
    reg = registry("chatty", "passing-pkg")
    args = run_args(reg, tmp_path, "full", "-p", "chatty", "-p", "passing-pkg")
    full = run_apiary(*args, cwd=tmp_path)
    assert full.returncode == 130, full.stderr
    assert "Traceback" not in full.stderr
    errors = [line for line in full.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "the disk is full" in errors[0], full.stderr
    assert "--resume full" in full.stderr
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_results)], check=True)
    resumed = run_apiary(
        "run", "--resume", "full", "--results-dir", str(small_results), cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    events = (small_results / "full" / "events.jsonl").read_text()
    assert package_outcomes(small_results / "full") == {"chatty": "pass", "passing-pkg": "pass"}, (
        events
    )
