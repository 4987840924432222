"""Fixture packages as real local git repositories, and a registry that points at them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

APIARY = str(Path(sys.executable).with_name("apiary"))
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"

PASSING = {
    "passing_pkg/__init__.py": "VALUE = 1\n",
    "tests/test_ok.py": "import passing_pkg\n\ndef test_ok():\n    assert passing_pkg.VALUE == 1\n",
}
FAILING = {
    "failing_pkg/__init__.py": "",
    "tests/test_bad.py": "def test_ok():\n    pass\n\ndef test_bad():\n    assert 1 == 2\n",
}
SEGFAULT = {
    "segv_pkg/__init__.py": "import faulthandler\n\ndef boom():\n    faulthandler._sigsegv()\n",
    "tests/test_segv.py": "import segv_pkg\n\ndef test_segv():\n    segv_pkg.boom()\n",
}
# a crash that only some hash seeds reach: the order of a set of strings decides
SEED_CRASH = {
    "seed_crash/__init__.py": "",
    "tests/test_seed.py": textwrap.dedent(
        """
        import faulthandler, os, sys

        def test_order():
            print("seed", os.environ.get("PYTHONHASHSEED"), file=sys.stderr)
            if sorted({"a", "b", "c"}, key=hash)[0] == "a":
                faulthandler._sigsegv()
        """
    ),
}
ABORT = {
    "abort_pkg/__init__.py": "",
    "tests/test_abort.py": "import os\n\ndef test_abort():\n    os.abort()\n",
}
HANG = {
    "hang_pkg/__init__.py": "",
    "tests/test_hang.py": textwrap.dedent(
        """
        import subprocess, time

        def test_hang():
            # A grandchild in its own session, then silence.
            subprocess.Popen(["setsid", "sleep", "1000"])
            time.sleep(1000)
        """
    ),
}
TIMEOUT = {
    "slow_pkg/__init__.py": "",
    "tests/test_slow.py": textwrap.dedent(
        """
        import sys, time

        def test_slow():
            for _ in range(1000):
                print("still working", file=sys.stderr, flush=True)
                time.sleep(0.2)
        """
    ),
}
MISSING_DEP = {
    "needy_pkg/__init__.py": "",
    "tests/test_needy.py": "import apiary_missing_test_dependency\n\ndef test_x():\n    pass\n",
}
IMPORT_ERROR = {
    "broken_import/__init__.py": "raise ImportError('this package cannot be imported')\n",
    "tests/test_x.py": "def test_x():\n    pass\n",
}


SHARED_CRASH_SITE = textwrap.dedent(
    """
    import ctypes

    def deref(address):
        return ctypes.string_at(address)

    def walk(items):
        return [deref(i) for i in items]
    """
)
CRASH_SITE_A = {
    "site_a/__init__.py": "",
    "site_a/vendored/__init__.py": "",
    "site_a/vendored/nodes.py": SHARED_CRASH_SITE,
    "tests/test_a.py": (
        "from site_a.vendored import nodes\n\ndef test_walk_a():\n    nodes.walk([0])\n"
    ),
}
CRASH_SITE_B = {
    "site_b/__init__.py": "",
    "site_b/lib/nodes.py": SHARED_CRASH_SITE,
    "site_b/lib/__init__.py": "",
    "tests/deep/test_b.py": textwrap.dedent(
        """
        from site_b.lib import nodes

        def helper():
            return nodes.walk([0])

        def test_other_name():
            helper()
        """
    ),
}
CRASH_SITE_C = {
    "site_c/__init__.py": "import ctypes\n\ndef parse(buf):\n    return ctypes.string_at(0)\n",
    "tests/test_c.py": "import site_c\n\ndef test_parse():\n    site_c.parse(b'x')\n",
}
# Crashes only when APIARY_FIXTURE_CRASH=1: a stand-in for a JIT-only crash.
CRASH_ON_FLAG = {
    "flagged/__init__.py": "",
    "tests/test_flag.py": textwrap.dedent(
        """
        import ctypes, os

        def test_maybe_crash():
            if os.environ.get("APIARY_FIXTURE_CRASH") == "1":
                ctypes.string_at(0)
        """
    ),
}
# Crashes under the flag on its first run only: a flaky crash.
FLAKY = {
    "flaky_pkg/__init__.py": "",
    "tests/test_flaky.py": textwrap.dedent(
        """
        import ctypes, os, pathlib

        def test_sometimes():
            if os.environ.get("APIARY_FIXTURE_CRASH") != "1":
                return
            marker = pathlib.Path(".crashed-once")
            if not marker.exists():
                marker.write_text("1")
                ctypes.string_at(0)
        """
    ),
}


@dataclass(frozen=True)
class Fixture:
    name: str
    files: dict[str, str]
    install: str = "pip install pytest"
    test: str = "python -m pytest -q -p no:cacheprovider tests"
    import_name: str | None = None
    timeout: int | None = None
    skip: bool = False
    extra: str = ""


FIXTURES = {
    "passing-pkg": Fixture("passing-pkg", PASSING),
    "failing-pkg": Fixture("failing-pkg", FAILING),
    "segv-pkg": Fixture("segv-pkg", SEGFAULT),
    "abort-pkg": Fixture("abort-pkg", ABORT),
    "seed-crash": Fixture("seed-crash", SEED_CRASH),
    "hang-pkg": Fixture("hang-pkg", HANG),
    "slow-pkg": Fixture("slow-pkg", TIMEOUT, timeout=10),
    "needy-pkg": Fixture("needy-pkg", MISSING_DEP),
    "broken-import": Fixture("broken-import", IMPORT_ERROR, import_name="broken_import"),
    "site-a": Fixture("site-a", CRASH_SITE_A, import_name="site_a"),
    "site-b": Fixture("site-b", CRASH_SITE_B, import_name="site_b"),
    "site-c": Fixture("site-c", CRASH_SITE_C, import_name="site_c"),
    "flagged": Fixture("flagged", CRASH_ON_FLAG),
    "flaky-pkg": Fixture("flaky-pkg", FLAKY),
    # `--no-clean` is a pip option uv does not know: uv fails, pip installs it.
    "pip-only": Fixture(
        "pip-only",
        {"pip_only/__init__.py": "", "tests/test_ok.py": "def test_ok():\n    pass\n"},
        install="pip install --no-clean pytest",
    ),
    "skipped-pkg": Fixture("skipped-pkg", PASSING | {"skipped_pkg/__init__.py": ""}, skip=True),
    # installed under another module name than its own: the import check finds it
    "renamed-dist": Fixture(
        "renamed-dist",
        {
            "pyproject.toml": '[build-system]\nrequires = ["setuptools>=64"]\n'
            'build-backend = "setuptools.build_meta"\n'
            '[project]\nname = "renamed-dist"\nversion = "1.0"\n'
            '[tool.setuptools]\npackages = ["othermod"]\n',
            "othermod/__init__.py": "VALUE = 2\n",
            "tests/test_ok.py": "import othermod\n\ndef test_ok():\n"
            "    assert othermod.VALUE == 2\n",
        },
        install="pip install -e . pytest",
    ),
    "uninstallable": Fixture(
        "uninstallable",
        {"uninstallable/__init__.py": ""},
        install="pip install apiary-no-such-distribution-for-tests==0.0.1",
    ),
}


def make_git_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "fixture"],
    ):
        subprocess.run(argv, cwd=path, check=True, env=env)
    return path


def entry_yaml(fixture: Fixture, repo: Path) -> str:
    lines = [
        f"package: {fixture.name}",
        f"repo: {repo}",
        "extension_type: pure",
        f"install_command: {json.dumps(fixture.install)}",
        f"test_command: {json.dumps(fixture.test)}",
        "test_framework: pytest",
        "uses_xdist: false",
        f"timeout: {fixture.timeout if fixture.timeout else 'null'}",
        f"skip: {'true' if fixture.skip else 'false'}",
        "enriched: true",
        f"import_name: {fixture.import_name or 'null'}",
    ]
    return "\n".join(lines) + "\n" + fixture.extra


def build_registry(
    tmp_path: Path, *fixtures: Fixture, extra_files: dict[str, str] | None = None
) -> Path:
    """A registry folder in `tmp_path` with these fixture packages as local git repos."""
    registry = tmp_path / "registry"
    (registry / "packages").mkdir(parents=True, exist_ok=True)
    index = ["last_updated: '2026-01-01T00:00:00'", "packages:"]
    for fixture in fixtures:
        name = fixture.name
        repo = make_git_repo(tmp_path / "repos" / name, fixture.files)
        (registry / "packages" / f"{name}.yaml").write_text(entry_yaml(fixture, repo))
        index += [
            f"- name: {name}",
            "  download_count: 1",
            "  extension_type: pure",
            "  enriched: true",
            "  skip: false",
            "  skip_versions_keys: []",
        ]
    for rel, text in (extra_files or {}).items():
        (registry / rel).write_text(text)
    (registry / "index.yaml").write_text("\n".join(index) + "\n")
    return registry


@pytest.fixture
def fixture_registry(tmp_path: Path) -> Callable[..., Path]:
    """Build a registry folder with the named fixture packages as local git repos."""

    def build(*names: str, extra_files: dict[str, str] | None = None) -> Path:
        return build_registry(
            tmp_path, *(FIXTURES[name] for name in names), extra_files=extra_files
        )

    return build


def run_args(registry: Path, tmp_path: Path, run_id: str, *extra: str) -> list[str]:
    """`apiary run` on a fixture registry, results and work dir in the test's tmp dir."""
    return [
        "run",
        "--registry-dir",
        str(registry),
        "--results-dir",
        str(tmp_path / "results"),
        "--work-dir",
        str(tmp_path / "work"),
        "--run-id",
        run_id,
        *extra,
    ]


def run_apiary(
    *args: str, cwd: Path, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [APIARY, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "CI": "1", **(env or {})},
        check=False,
    )


def pyenv_python(minor: str) -> Path | None:
    for candidate in sorted(PYENV.glob(f"{minor}.*"), reverse=True):
        python = candidate / "bin" / "python3"
        if python.exists():
            return python
    return None


def package_outcomes(run_dir: Path) -> dict[str, str]:
    from normalized_events import PackageFinished, read_events

    return {
        e.package if e.condition == "default" else f"{e.package}:{e.condition}": e.outcome.value
        for e in read_events(run_dir / "events.jsonl").known()
        if isinstance(e, PackageFinished)
    }


def run_reproducer(run_dir: Path, reproducer_path: str | None, work: Path) -> str:
    """A crash's reproduce.sh run by hand (outside any venv, its own work folder): its
    output."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    done = subprocess.run(
        ["bash", str(run_dir / (reproducer_path or ""))],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**env, "WORK": str(work)},
    )
    return done.stdout + done.stderr
