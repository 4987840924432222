"""`apiary enrich verify` end to end: real runs, a fix, a re-run, the entry rewritten."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from registry_core import load_registry
from runner_core.enrich.verdicts import suggested_timeout
from runner_core.enrich.verify import VerifyOptions, verify
from runner_fixtures import APIARY, pyenv_python, run_apiary

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("enrich")]


def _package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _entry(name: str, folder: Path, install: str) -> str:
    return "\n".join(
        [
            f"package: {name}",
            f"repo: {folder}",
            "extension_type: pure",
            f"install_command: {json.dumps(install)}",
            "test_command: python -m pytest -q -p no:cacheprovider tests",
            "test_framework: pytest",
            "uses_xdist: false",
            "timeout: null",
            "skip: false",
            "notes: Hand-written.",
            "enriched: false",
            "",
        ]
    )


def _registry_of(tmp_path: Path, folders: dict[str, Path]) -> Path:
    """A registry of the local projects in ``folders`` (name -> folder), unenriched."""
    registry = tmp_path / "registry"
    (registry / "packages").mkdir(parents=True)
    for name, folder in folders.items():
        (registry / "packages" / f"{name}.yaml").write_text(
            _entry(name, folder, "pip install pytest")
        )
    (registry / "index.yaml").write_text("last_updated: '2026-01-01T00:00:00'\npackages: []\n")
    return registry


def _registry(tmp_path: Path) -> Path:
    needs = _package(
        tmp_path / "src" / "needs-six",
        {
            "needs_six/__init__.py": "",
            "tests/test_it.py": "import six\n\ndef test_it():\n    assert six\n",
        },
    )
    hopeless = _package(
        tmp_path / "src" / "hopeless",
        {
            "hopeless/__init__.py": "",
            "tests/test_it.py": "import apiary_never_on_pypi_xyz\n\ndef test_it():\n    pass\n",
        },
    )
    registry = tmp_path / "registry"
    (registry / "packages").mkdir(parents=True)
    (registry / "packages" / "needs-six.yaml").write_text(
        _entry("needs-six", needs, "pip install pytest")
    )
    (registry / "packages" / "hopeless.yaml").write_text(
        _entry("hopeless", hopeless, "pip install pytest")
    )
    (registry / "index.yaml").write_text("last_updated: '2026-01-01T00:00:00'\npackages: []\n")
    return registry


def test_verify_fixes_a_missing_module_and_records_what_it_tried(tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    options = VerifyOptions(
        registry_dir=registry,
        results_dir=tmp_path / "results",
        work_dir=tmp_path / "work",
        pythons=(str(Path(__import__("sys").executable)),),
        workers=2,
        max_attempts=3,
        source="auto",
        idle_timeout_s=120,
        run_prefix="v",
        write=True,
    )
    rounds: list[tuple[int, list[str]]] = []
    results = {
        r.name: r
        for r in verify(["needs-six", "hopeless"], options, lambda n, p: rounds.append((n, p)))
    }
    needs, hopeless = results["needs-six"], results["hopeless"]
    assert needs.verified and [
        a.results[next(iter(a.results))].outcome.value for a in needs.attempts
    ] == [
        "config_error",
        "pass",
    ]
    assert needs.tried == ["missing six -> pip install six"]
    # hopeless: the module is installed, PyPI has no such project, the install is undone,
    # and the same fix is not tried again
    assert not hopeless.verified
    assert hopeless.tried == [
        "missing apiary_never_on_pypi_xyz -> pip install apiary-never-on-pypi-xyz",
        "apiary-never-on-pypi-xyz is not on PyPI: not installed",
    ]
    assert rounds[0] == (1, ["needs-six", "hopeless"]) and len(rounds) == 3
    for number in (1, 2, 3):
        assert (tmp_path / "results" / f"v-{number}" / "events.jsonl").is_file()

    loaded = load_registry(registry, use_cache=False)
    assert loaded.problems == []
    assert loaded.strict_problems == []  # the index says what the entries say
    entry = loaded.entries["needs-six"]
    assert entry.enriched is True
    assert entry.install_command == "pip install pytest six"
    assert entry.timeout == 300
    assert entry.python_versions == [needs.attempts[-1].results.popitem()[0]]
    assert entry.notes.startswith("Hand-written. Verified ")
    assert "pass on CPython" in entry.notes
    assert "Tried: missing six -> pip install six." in entry.notes
    assert entry.field_value("sdist_has_tests") is None  # a local folder, not an sdist
    other = loaded.entries["hopeless"]
    assert other.enriched is False and other.install_command == "pip install pytest"
    assert "Not verified" in other.notes and "config_error" in other.notes


def test_suggested_timeout() -> None:
    assert suggested_timeout(None, 120) == 120
    assert suggested_timeout(2.0, None) == 300
    assert suggested_timeout(100.0, None) == 540
    assert suggested_timeout(5000.0, None) == 3600


def test_verify_command_errors_are_one_line(tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    done = run_apiary(
        "enrich", "verify", "Not.There", "--registry-dir", str(registry), cwd=tmp_path
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: verify: 'not-there' is not in {registry / 'packages'}"


def test_record_skips_only_versions_that_never_reached_the_tests(tmp_path: Path) -> None:
    import sys

    from normalized_events import Outcome
    from runner_core.enrich.verdicts import Attempt, Result, Verification, record
    from runner_core.interpreter import probe_interpreter

    registry = _registry(tmp_path)
    interpreter = probe_interpreter(sys.executable)
    loaded = load_registry(registry, use_cache=False)
    original = loaded.entries["hopeless"]
    item = Verification("hopeless", original, original)
    item.attempts.append(
        Attempt(
            None,
            {
                interpreter.minor: Result(Outcome.PASS, "3 passed", "1.0", 12.0, "sdist"),
                "3.98": Result(Outcome.INSTALL_ERROR, "build failed", "1.0", None, "sdist"),
                "3.99": Result(Outcome.CRASH, "Segmentation fault", "1.0", 3.0, "sdist"),
                # hung with the JIT on only: the entry works there, the JIT failed
                "3.97": Result(
                    Outcome.TIMEOUT,
                    "stopped at the time limit",
                    "1.0",
                    300.0,
                    "sdist",
                    jit_only_hang="bucket 6f74a9eb4c95, with PYTHON_JIT=0 the suite finished",
                ),
                "3.96": Result(Outcome.TIMEOUT, "stopped at the time limit", "1.0", 300.0, "sdist"),
            },
        )
    )
    assert record(registry, item, [interpreter])
    entry = load_registry(registry, use_cache=False).entries["hopeless"]
    assert entry.enriched and entry.python_versions == ["3.97", interpreter.minor]
    assert "[JIT only: bucket 6f74a9eb4c95, with PYTHON_JIT=0 the suite finished]" in entry.notes
    # the crash is what apiary hunts: never skipped; the failed install is
    assert entry.skip_versions == {"3.98": "verify: install_error: build failed"}
    assert entry.field_value("sdist_has_tests") is True
    assert "crash on CPython 3.99 (Segmentation fault)" in entry.notes


def test_a_run_that_stops_before_its_tests_is_never_verified(tmp_path: Path) -> None:
    # pytest exits 1 when coverage cannot start (here a coverage plugin that refuses to
    # load): no test ran, so verify runs the suite again without coverage. apiary keeps
    # pytest-cov from starting coverage through its pytest plugin, which this command
    # turns off (plugins not autoloaded, pytest-cov named): so coverage still starts.
    package = _package(
        tmp_path / "src" / "cov-stops",
        {
            "cov_stops/__init__.py": "",
            "covplug.py": "raise RuntimeError('this coverage plugin needs the C tracer')\n",
            ".coveragerc": "[run]\nplugins = covplug\n",
            "tests/test_it.py": "def test_it():\n    assert True\n",
        },
    )
    registry = tmp_path / "registry"
    (registry / "packages").mkdir(parents=True)
    entry = _entry("cov-stops", package, "pip install pytest pytest-cov").replace(
        "test_command: python -m pytest -q -p no:cacheprovider tests\n",
        "test_command: PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest -q -p no:cacheprovider"
        " -p pytest_cov --cov --cov-config=.coveragerc tests\n",
        1,
    )
    (registry / "packages" / "cov-stops.yaml").write_text(entry)
    (registry / "index.yaml").write_text("last_updated: '2026-01-01T00:00:00'\npackages: []\n")
    options = VerifyOptions(
        registry_dir=registry,
        results_dir=tmp_path / "results",
        work_dir=tmp_path / "work",
        pythons=(str(Path(__import__("sys").executable)),),
        workers=1,
        max_attempts=2,
        source="auto",
        idle_timeout_s=120,
        run_prefix="v",
    )
    (result,) = verify(["cov-stops"], options)
    first, second = (next(iter(a.results.values())) for a in result.attempts)
    assert (first.outcome.value, first.reason) == (
        "config_error",
        "RuntimeError: this coverage plugin needs the C tracer",
    )
    assert result.tried == ["coverage could not start -> the coverage options dropped"]
    assert result.verified and second.outcome.value == "pass"
    assert result.entry.test_command == (
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest -q -p no:cacheprovider tests"
    )


def test_a_git_verify_unmarks_a_broken_sdist(tmp_path: Path) -> None:
    import sys

    from normalized_events import Outcome
    from registry_core.edits import save_entry
    from runner_core.enrich.verdicts import Attempt, Result, Verification, record
    from runner_core.enrich.write import with_fields
    from runner_core.interpreter import probe_interpreter

    registry = _registry(tmp_path)
    interpreter = probe_interpreter(sys.executable)
    path = registry / "packages" / "hopeless.yaml"
    save_entry(
        path, with_fields(load_registry(registry).entries["hopeless"], {"sdist_has_tests": True})
    )
    original = load_registry(registry, use_cache=False).entries["hopeless"]
    item = Verification("hopeless", original, original)
    sdist = Result(Outcome.CONFIG_ERROR, "missing module: tests.helpers", "1.0", 1.0, "sdist")
    git = Result(Outcome.PASS, "3 passed", "1.0", 2.0, "git", "git failed, used the sdist: nothing")
    item.attempts += [
        Attempt(None, {interpreter.minor: sdist}),
        Attempt("x", {interpreter.minor: git}),
    ]
    record(registry, item, [interpreter])
    entry = load_registry(registry, use_cache=False).entries["hopeless"]
    # verified from git only: `--source auto` must not take the sdist any more
    assert entry.enriched and entry.field_value("sdist_has_tests") is False
    assert "Source: git failed, used the sdist: nothing." in entry.notes


def test_an_sdist_known_to_lack_its_suite_says_it_needs_git(tmp_path: Path) -> None:
    import sys

    from registry_core.edits import save_entry
    from runner_core.enrich.write import with_fields

    registry = _registry(tmp_path)
    path = registry / "packages" / "hopeless.yaml"
    save_entry(
        path, with_fields(load_registry(registry).entries["hopeless"], {"sdist_has_tests": False})
    )
    options = VerifyOptions(
        registry_dir=registry,
        results_dir=tmp_path / "results",
        work_dir=tmp_path / "work",
        pythons=(sys.executable,),
        source="sdist",
        run_prefix="n",
    )
    rounds: list[int] = []
    (result,) = verify(["hopeless"], options, lambda n, p: rounds.append(n))
    assert not result.verified and rounds == []
    assert (
        result.summary().startswith("source_error on 3.")
        and "sdist_has_tests: false, the suite needs its git repository" in result.summary()
    )


@pytest.mark.parametrize("spelling", ["--target-python", "--python"])
def test_verify_takes_the_run_spelling_of_the_interpreter(tmp_path: Path, spelling: str) -> None:
    import sys

    from registry_core.edits import save_entry
    from runner_core.enrich.write import with_fields

    registry = _registry(tmp_path)
    path = registry / "packages" / "hopeless.yaml"
    entry = load_registry(registry).entries["hopeless"]
    save_entry(path, with_fields(entry, {"sdist_has_tests": False}))
    done = run_apiary(
        "enrich", "verify", "hopeless", spelling, sys.executable, "--source", "sdist",
        "--registry-dir", str(registry), "--results-dir", str(tmp_path / "r"), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "FAIL hopeless  source_error on 3." in done.stdout
    assert "needs its git repository (--source auto or git)" in done.stdout


def test_a_stopped_verify_keeps_the_packages_it_had_settled(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    quick = _package(
        tmp_path / "src" / "quick",
        {"quick/__init__.py": "", "tests/test_it.py": "def test_it():\n    pass\n"},
    )
    # a missing module in round 1; once it is installed, a test that never ends
    slow = _package(
        tmp_path / "src" / "slow-after-fix",
        {
            "slow_after_fix/__init__.py": "",
            "tests/test_it.py": "import six, time\n\ndef test_it():\n    time.sleep(600)\n",
        },
    )
    registry = _registry_of(tmp_path, {"quick": quick, "slow-after-fix": slow})
    command = [
        str(Path(sys.executable).with_name("apiary")),
        *("enrich", "verify", "quick", "slow-after-fix", "--write", "--workers", "2"),
        *("--registry-dir", str(registry), "--results-dir", str(tmp_path / "results")),
        *("--work-dir", str(tmp_path / "work"), "--run-prefix", "v"),
    ]
    verify_run = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        round_two = tmp_path / "results" / "v-2" / "events.jsonl"
        deadline = time.monotonic() + 600
        while not round_two.is_file() and verify_run.poll() is None:
            assert time.monotonic() < deadline, "round 2 never started"
            time.sleep(1)
        assert verify_run.poll() is None, "verify ended before its second round"
    finally:
        verify_run.kill()
        verify_run.wait()
    loaded = load_registry(registry, use_cache=False)
    assert loaded.entries["quick"].enriched is True
    assert "Verified " in loaded.entries["quick"].notes
    assert loaded.entries["slow-after-fix"].enriched is False


def test_a_stopped_verify_keeps_the_verdicts_its_round_reached(tmp_path: Path) -> None:
    """Ctrl-C in the middle of a round: the package that already passed is recorded, the
    one still running is left as it was, and the command says it was interrupted."""
    quick = _package(
        tmp_path / "src" / "quick",
        {"quick/__init__.py": "", "tests/test_it.py": "def test_it():\n    pass\n"},
    )
    slow = _package(
        tmp_path / "src" / "slow",
        {
            "slow/__init__.py": "",
            "tests/test_it.py": "import time\n\ndef test_it():\n    time.sleep(600)\n",
        },
    )
    registry = _registry_of(tmp_path, {"quick": quick, "slow": slow})
    argv = [
        APIARY,
        "enrich",
        "verify",
        "quick",
        "slow",
        "--write",
        "--workers",
        "2",
        "--registry-dir",
        str(registry),
        "--results-dir",
        str(tmp_path / "results"),
        "--work-dir",
        str(tmp_path / "work"),
        "--target-python",
        sys.executable,
        "--run-prefix",
        "v",
    ]
    events = tmp_path / "results" / "v-1" / "events.jsonl"
    with subprocess.Popen(
        argv,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CI": "1"},
    ) as verifying:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            text = events.read_text() if events.is_file() else ""
            if '"package":"quick","condition":"default","outcome":"pass"' in text:
                break
            time.sleep(0.5)
        else:
            verifying.kill()
            pytest.fail("quick never passed")
        verifying.send_signal(signal.SIGINT)
        out, err = verifying.communicate(timeout=120)
    assert verifying.returncode == 130, (out, err)
    loaded = load_registry(registry, use_cache=False)
    assert loaded.entries["quick"].enriched is True
    assert "Verified " in loaded.entries["quick"].notes
    assert loaded.entries["slow"].enriched is False
    assert loaded.entries["slow"].notes == "Hand-written."


def test_a_module_that_stops_on_one_interpreter_only_is_never_left_out(tmp_path: Path) -> None:
    """Leaving a module out is the last resort for a suite none of whose targets collects;
    a module that stops at collection on one interpreter while another reaches a verdict
    is what the hunt looks for, so the entry keeps it and says where it stopped."""
    other = pyenv_python("3.12")
    if other is None:
        pytest.skip("pyenv 3.12 is needed")
    package = _package(
        tmp_path / "src" / "gated",
        {
            "gated/__init__.py": "",
            "tests/test_ok.py": "def test_ok():\n    pass\n",
            "tests/test_gate.py": (
                "import sys\nassert sys.version_info[:2] != (3, 12)\ndef test_gate():\n    pass\n"
            ),
            "tests/test_all.py": "assert False, 'never collects'\n",
            # what 3.12 dropped: left out, on every interpreter
            "tests/test_old.py": "import imp\ndef test_old():\n    pass\n",
        },
    )
    registry = _registry_of(tmp_path, {"gated": package})
    options = VerifyOptions(
        registry_dir=registry,
        results_dir=tmp_path / "results",
        work_dir=tmp_path / "work",
        pythons=(sys.executable, str(other)),
        workers=1,
        max_attempts=3,
        source="auto",
        idle_timeout_s=120,
        run_prefix="v",
    )
    (result,) = verify(["gated"], options)
    # test_all.py stops everywhere: left out; test_old.py uses what 3.12 dropped: left
    # out; test_gate.py stops on 3.12 only: kept
    assert result.tried == [
        "tests/test_all.py (AssertionError: never collects) stops at collection -> --ignore",
        "tests/test_old.py (ModuleNotFoundError: No module named 'imp')"
        " uses what the standard library dropped -> --ignore",
    ]
    outcomes = {minor: r.outcome.value for minor, r in result.last.items()}
    assert outcomes == {"3.11": "pass", "3.12": "config_error"}
    assert "test_gate" not in str(result.entry.test_command)
    assert "--ignore=tests/test_old.py" in str(result.entry.test_command)
