"""The fixes verify proposes, from the real output of pytest runs made here."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from normalized_events import Outcome
from packaging.utils import canonicalize_name
from registry_core import PackageEntry
from runner_core.enrich.collection_errors import ISOLATE_PURPOSE, isolate
from runner_core.enrich.edits import (
    add_requirements,
    drop_coverage,
    installed_by,
    remove_requirement,
    without_coverage_options,
)
from runner_core.enrich.fixes import propose_fix
from runner_core.enrich.released import against_installed, released_install
from runner_core.outcomes import classify


def pytest_output(tmp_path: Path, files: dict[str, str], *args: str) -> tuple[int, str]:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def entry(
    install: str = "pip install -e . && pip install pytest", test: str = "python -m pytest"
) -> PackageEntry:
    return PackageEntry(package="demo-pkg", install_command=install, test_command=test)


MAJOR = pytest.__version__.split(".")[0]
OLDER = f"pip install -e . && pip install pytest 'pytest<{MAJOR}'"

CASES = {
    # suites written against pytest internals that a later pytest dropped (flask 3.1.3)
    "pytest-internal-name-gone": (
        {"tests/test_a.py": "from _pytest.monkeypatch import apiary_gone\ndef test_a(): pass\n"},
        (),
        f"apiary_gone is gone from pytest {MAJOR} -> pytest<{MAJOR}",
        OLDER,
        "python -m pytest",
    ),
    "pytest-attribute-gone": (
        {"tests/test_a.py": "import pytest\nhelper = pytest.apiary_gone\ndef test_a(): pass\n"},
        (),
        f"apiary_gone is gone from pytest {MAJOR} -> pytest<{MAJOR}",
        OLDER,
        "python -m pytest",
    ),
    # a conftest reaching into pytest's fixture manager (urllib3's, on pytest 9)
    "pytest-object-internal-gone": (
        {
            "tests/conftest.py": (
                "def pytest_collection_modifyitems(session, config, items):\n"
                "    session._fixturemanager._apiary_gone\n"
            ),
            "tests/test_a.py": "def test_a(): pass\n",
        },
        (),
        f"_apiary_gone is gone from pytest {MAJOR} -> pytest<{MAJOR}",
        OLDER,
        "python -m pytest",
    ),
    "missing-module": (
        {"tests/test_a.py": "import apiary_absent_module\ndef test_a(): pass\n"},
        (),
        "missing apiary_absent_module -> pip install apiary-absent-module",
        "pip install -e . && pip install pytest apiary-absent-module",
        "python -m pytest",
    ),
    "missing-in-conftest": (
        {
            "tests/conftest.py": "import yaml_absent.sub\n",
            "tests/test_a.py": "def test_a(): pass\n",
        },
        (),
        "missing yaml_absent -> pip install yaml-absent",
        "pip install -e . && pip install pytest yaml-absent",
        "python -m pytest",
    ),
    "plugin-option": (
        {
            "pytest.ini": "[pytest]\naddopts = --cov=demo --cov-report=term\n",
            "tests/test_a.py": "def test_a(): pass\n",
        },
        (),
        "unrecognized --cov --cov-report -> pip install pytest-cov",
        "pip install -e . && pip install pytest pytest-cov",
        "python -m pytest",
    ),
    "unknown-option": (
        {
            "pytest.ini": "[pytest]\naddopts = --no-such-apiary-option\n",
            "tests/test_a.py": "def test_a(): pass\n",
        },
        (),
        "unrecognized --no-such-apiary-option in addopts -> -o addopts=''",
        "pip install -e . && pip install pytest",
        "python -m pytest -o addopts=",
    ),
    "strict-config-plugin-key": (
        {
            "pytest.ini": "[pytest]\naddopts = --strict-config\nasyncio_mode = auto\n",
            "tests/test_a.py": "def test_a(): pass\n",
        },
        (),
        "unknown ini option asyncio_mode -> pip install pytest-asyncio",
        "pip install -e . && pip install pytest pytest-asyncio",
        "python -m pytest",
    ),
    "strict-config-stray-key": (
        {
            "pytest.ini": "[pytest]\naddopts = --strict-config\napiary_stray = 1\n",
            "tests/test_a.py": "def test_a(): pass\n",
        },
        (),
        "unknown ini option apiary_stray under strict config -> -o strict_config=false",
        "pip install -e . && pip install pytest",
        "python -m pytest -o strict_config=false -o addopts=",
    ),
    "path-not-found": (
        {"tests/test_a.py": "def test_a(): pass\n"},
        ("tests", "testing"),
        "testing not found -> dropped from the test command",
        "pip install -e . && pip install pytest",
        "python -m pytest tests",
    ),
    # a library that names the package it needs in its own error (starlette's test client)
    "library-requires-a-package": (
        {
            "tests/test_a.py": (
                "raise RuntimeError(\n"
                "    'The starlette.testclient module requires the httpx2 package'\n"
                "    ' to be installed.'\n"
                ")\ndef test_a(): pass\n"
            ),
        },
        (),
        "a library requires httpx2 -> pip install httpx2",
        "pip install -e . && pip install pytest httpx2",
        "python -m pytest",
    ),
    # a module that resolves a host while it is collected (msal's tests/test_cryptography.py)
    "network-at-collection": (
        {
            "tests/test_net.py": (
                "import socket\nsocket.getaddrinfo('apiary-offline.invalid', 443)\n"
                "def test_a(): pass\n"
            ),
            "tests/test_b.py": "def test_b(): pass\n",
        },
        (),
        "tests/test_net.py needs the network at collection -> --ignore",
        "pip install -e . && pip install pytest",
        "python -m pytest --ignore=tests/test_net.py",
    ),
    # the last resort: a module that fails for its own reason while the others collect
    # (bitarray's free-threading stress tests assert a free-threaded build at import)
    "module-stops-at-collection": (
        {
            "tests/test_ft.py": (
                "import sysconfig\n"
                "assert sysconfig.get_config_var('APIARY_NEVER')\n"
                "def test_a(): pass\n"
            ),
            "tests/test_b.py": "def test_b(): pass\n",
        },
        (),
        "tests/test_ft.py (AssertionError: assert None) stops at collection -> --ignore",
        "pip install -e . && pip install pytest",
        "python -m pytest --ignore=tests/test_ft.py",
    ),
    # markdown: pytest's own warning about a class it cannot collect, under -W error
    "pytest-warning-as-error": (
        {
            "pytest.ini": "[pytest]\nfilterwarnings = error\n",
            "tests/test_a.py": (
                "class TestSuite:\n    def __init__(self, x): pass\ndef test_a(): pass\n"
            ),
        },
        (),
        "pytest.PytestCollectionWarning raised as an error at collection"
        " -> -W ignore::pytest.PytestCollectionWarning",
        "pip install -e . && pip install pytest",
        "python -m pytest -W ignore::pytest.PytestCollectionWarning",
    ),
    "deprecation-as-error": (
        {
            "pytest.ini": "[pytest]\nfilterwarnings = error\n",
            "tests/test_a.py": (
                "import warnings\nwarnings.warn('old', DeprecationWarning)\ndef test_a(): pass\n"
            ),
        },
        (),
        "DeprecationWarning raised as an error at collection -> -W ignore::DeprecationWarning",
        "pip install -e . && pip install pytest",
        "python -m pytest -W ignore::DeprecationWarning",
    ),
    # a plugin's warning at configure time is an INTERNALERROR, before any collection
    "deprecation-at-configure": (
        {
            "pytest.ini": "[pytest]\nfilterwarnings = error\n",
            "tests/conftest.py": (
                "import warnings\ndef pytest_configure(config):\n"
                "    warnings.warn('old api', DeprecationWarning)\n"
            ),
            "tests/test_a.py": "def test_a(): pass\n",
        },
        (),
        "DeprecationWarning raised as an error at configure time (INTERNALERROR)"
        " -> -W ignore::DeprecationWarning",
        "pip install -e . && pip install pytest",
        "python -m pytest -W ignore::DeprecationWarning",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fix_for_a_real_pytest_config_error(tmp_path: Path, case: str) -> None:
    files, args, description, install, test = CASES[case]
    code, output = pytest_output(tmp_path, files, *args)
    verdict = classify(exit_code=code, output=output)
    assert verdict.outcome is Outcome.CONFIG_ERROR, output
    current = entry(test="python -m pytest " + " ".join(args) if args else "python -m pytest")
    fix = propose_fix(current, verdict.outcome, verdict.reason, output)
    assert fix is not None, (verdict.reason, output)
    assert fix.description == description
    assert fix.install_command == install
    assert fix.test_command == test
    fixed_args = shlex.split(fix.test_command)[3:]
    if fix.install_command == current.install_command and case != "path-not-found":
        # the fixed command gets past the problem for real
        code, output = pytest_output(tmp_path, {}, *fixed_args)
        assert classify(exit_code=code, output=output).outcome is Outcome.PASS, output
    # the same fix is never proposed twice
    again = propose_fix(current, verdict.outcome, verdict.reason, output, frozenset({description}))
    assert again is None or again.description != description


def test_a_pytest_internal_gone_in_a_conftest_is_pinned_by_the_venv_s_pytest(
    tmp_path: Path,
) -> None:
    """A conftest's ImportError comes before pytest's session header: the version is the
    one the venv's inventory recorded (``installed`` of the event)."""
    files = {"tests/conftest.py": "import _pytest.apiary_gone\n", "tests/test_a.py": ""}
    code, output = pytest_output(tmp_path, files)
    verdict = classify(exit_code=code, output=output)
    assert verdict.outcome is Outcome.CONFIG_ERROR, output
    assert f"pytest-{MAJOR}." not in output
    assert propose_fix(entry(), verdict.outcome, verdict.reason, output) is None
    fix = propose_fix(
        entry(), verdict.outcome, verdict.reason, output, pytest_version=pytest.__version__
    )
    assert fix is not None
    assert fix.description == f"_pytest.apiary_gone is gone from pytest {MAJOR} -> pytest<{MAJOR}"
    assert fix.install_command == OLDER
    # on the next round, with that pytest, one major further down
    older = propose_fix(
        PackageEntry(package="demo-pkg", install_command=OLDER, test_command="python -m pytest"),
        verdict.outcome,
        verdict.reason,
        output.replace(f"pytest-{MAJOR}.", "pytest-7."),
        frozenset({fix.description}),
        pytest_version="7.4.4",
    )
    assert older is not None
    assert older.install_command == f"{OLDER} 'pytest<7'"


def test_plugin_already_installed_falls_back_to_overriding_addopts(tmp_path: Path) -> None:
    files = {
        "pytest.ini": "[pytest]\naddopts = --cov=demo\n",
        "tests/test_a.py": "def test_a(): pass\n",
    }
    code, output = pytest_output(tmp_path, files)
    verdict = classify(exit_code=code, output=output)
    current = entry(install="pip install -e . && pip install pytest pytest-cov")
    fix = propose_fix(current, verdict.outcome, verdict.reason, output)
    assert fix is not None and fix.test_command == "python -m pytest -o addopts="


def test_an_unknown_option_in_the_command_s_own_addopts_is_dropped(tmp_path: Path) -> None:
    """The override was written by an earlier fix or scan (coverage's `--no-flaky-report`,
    from a plugin that is not installed): `-o addopts=` again would change nothing."""
    args = ["-o", "addopts=-q --no-such-apiary-option -rfEX"]
    files = {"tests/test_a.py": "def test_a(): pass\n"}
    code, output = pytest_output(tmp_path, files, *args)
    verdict = classify(exit_code=code, output=output)
    current = entry(test="python -m pytest " + shlex.join(args))
    fix = propose_fix(current, verdict.outcome, verdict.reason, output)
    assert fix is not None
    assert fix.description == "unrecognized --no-such-apiary-option in the test command -> dropped"
    assert fix.test_command == "python -m pytest -o 'addopts=-q -rfEX'"
    code, output = pytest_output(tmp_path, {}, *shlex.split(fix.test_command)[3:])
    assert classify(exit_code=code, output=output).outcome is Outcome.PASS, output


def test_no_fix_for_verdicts_and_unknown_problems(tmp_path: Path) -> None:
    code, output = pytest_output(tmp_path, {"tests/test_a.py": "def test_a(): assert 0\n"})
    verdict = classify(exit_code=code, output=output)
    assert verdict.outcome is Outcome.FAIL
    assert propose_fix(entry(), verdict.outcome, verdict.reason, output) is None
    # its own package missing is not a dependency to install
    own = "ModuleNotFoundError: No module named 'demo_pkg'"
    assert propose_fix(entry(), Outcome.IMPORT_ERROR, own, own) is None
    assert propose_fix(entry(), Outcome.CONFIG_ERROR, "no tests collected", "") is None
    # nor is a module of the suite itself (run from the wrong folder, not a dependency)
    local = "ModuleNotFoundError: No module named 'test_mixins'"
    assert propose_fix(entry(), Outcome.CONFIG_ERROR, "missing module: test_mixins", local) is None


INSTALL_LOGS = {
    # pip's and uv's words for a requirement PyPI does not have (as they print them)
    "pip": "ERROR: Could not find a version that satisfies the requirement apiary-nope "
    "(from versions: none)\nERROR: No matching distribution found for apiary-nope\n",
    "uv": "  × No solution found when resolving dependencies:\n  ╰─▶ Because apiary-nope was"
    " not found in the package registry and you require apiary-nope, we can conclude that"
    " your requirements are unsatisfiable.\n",
}


@pytest.mark.parametrize("installer", sorted(INSTALL_LOGS))
def test_a_requirement_pypi_lacks_is_dropped(installer: str) -> None:
    current = entry(install="pip install -e . && pip install pytest apiary-nope 'six>=1'")
    log = INSTALL_LOGS[installer]
    fix = propose_fix(current, Outcome.INSTALL_ERROR, None, log)
    assert fix is not None
    assert fix.install_command == "pip install -e . && pip install pytest 'six>=1'"
    assert fix.description == "apiary-nope is not on PyPI: not installed"


INSTALL_DATA = Path(__file__).parent / "data" / "install-logs"
KOMBU = "pip install -e . && pip install pytest 'redis>=6' azure msgpack"
ECDSA = "pip install -e . && pip install pytest hypothesis gmpy gmpy2"
BUILD_REQUIRES = "pip install -e '.[test]' && pip install pytest"
# captured logs (two from real verify runs of kombu and ecdsa on CPython 3.12) -> the fix
BUILD_FIXES = [
    (
        "pip-dependency-refuses-to-build.log",
        KOMBU,
        "azure does not build here: not installed",
        "pip install -e . && pip install pytest 'redis>=6' msgpack",
    ),
    (
        "uv-dependency-refuses-to-build.log",
        KOMBU,
        "azure does not build here: not installed",
        "pip install -e . && pip install pytest 'redis>=6' msgpack",
    ),
    (
        "pip-removed-c-api-header.log",
        ECDSA,
        "gmpy does not build here: not installed",
        "pip install -e . && pip install pytest hypothesis gmpy2",
    ),
    (
        "uv-removed-c-api-header.log",
        ECDSA,
        "gmpy does not build here: not installed",
        "pip install -e . && pip install pytest hypothesis gmpy2",
    ),
    (
        "uv-build-requirement-does-not-build.log",
        BUILD_REQUIRES,
        "the build requirements of demo-pkg do not install -> the released demo-pkg==1.0",
        "pip install 'demo-pkg[test]==1.0' && pip install pytest",
    ),
    # pip 26's words; platformdirs 4.14.9 needs python-sbom, which the index lacks
    (
        "pip26-build-requirement-not-on-pypi.log",
        BUILD_REQUIRES,
        "the build requirements of demo-pkg do not install -> the released demo-pkg==1.0",
        "pip install 'demo-pkg[test]==1.0' && pip install pytest",
    ),
    (
        "pip-build-requirement-does-not-build.log",
        BUILD_REQUIRES,
        "the build requirements of demo-pkg do not install -> the released demo-pkg==1.0",
        "pip install 'demo-pkg[test]==1.0' && pip install pytest",
    ),
]


@pytest.mark.parametrize(("log_name", "install", "description", "fixed"), BUILD_FIXES)
def test_what_does_not_build_is_left_out_or_taken_as_released(
    log_name: str, install: str, description: str, fixed: str
) -> None:
    log = (INSTALL_DATA / log_name).read_text()
    fix = propose_fix(entry(install=install), Outcome.INSTALL_ERROR, None, log, version="1.0")
    assert fix is not None
    assert (fix.description, fix.install_command) == (description, fixed)
    # a dependency left out is not installed again when the tests then miss it
    dropped = description.split(" ", 1)[0]
    missing = f"ModuleNotFoundError: No module named '{dropped}'"
    again = propose_fix(
        entry(install=fixed), Outcome.CONFIG_ERROR, None, missing, frozenset({description})
    )
    assert again is None or dropped == "the"


def test_a_requirement_no_current_python_installs_is_not_counted_as_installed() -> None:
    """html5lib's tests import mock, which its requirements name for Python < 3.6 only."""
    install = "pip install -e . && pip install pytest 'mock; python_version < \"3.6\"' six"
    assert installed_by(install) == {"pytest", "six"}
    assert "tomli" in installed_by("pip install 'tomli; python_version < \"3.11\"'")
    assert "x" in installed_by("pip install 'x; python_version >= \"3.13\"'")
    missing = "E   ModuleNotFoundError: No module named 'mock'"
    fix = propose_fix(entry(install=install), Outcome.CONFIG_ERROR, None, missing)
    assert fix is not None and fix.install_command == f"{install} mock"


def test_command_edits() -> None:
    assert installed_by("pip install -e '.[test]' && pip install pytest 'Foo_Bar>=1' -r r.txt") == {
        "pytest",
        "foo-bar",
    }
    assert add_requirements("pip install -e .", ["six"]) == "pip install -e . && pip install six"
    assert add_requirements("pip install -e . && pip install pytest", ["a>=1"]) == (
        "pip install -e . && pip install pytest 'a>=1'"
    )
    assert add_requirements("", ["six"]) == "pip install six"
    assert remove_requirement("pip install -e . && pip install only-one", "only-one") == (
        "pip install -e ."
    )
    assert remove_requirement("pip install -e .", "six") is None


CAPTURED = Path(__file__).parent / "data" / "crashes"
PROPCACHE_TEST = (
    "python -m pytest -p no:xdist -o 'addopts=--durations=10 -ra --showlocals"
    " --doctest-modules -p pytest_cov --cov --cov-config=.coveragerc --cov-context=test"
    " --no-cov-on-fail --strict-markers'"
)
PROPCACHE_WITHOUT_COVERAGE = (
    "python -m pytest -p no:xdist -o 'addopts=--durations=10 -ra --showlocals"
    " --doctest-modules --strict-markers'"
)
NO_TRACER = "a coverage plugin needs coverage's C tracer, which this interpreter lacks"
COV_MISSING = "pytest_exit1_coverage_plugin_missing_312"
WITH_COV = "python -m pytest --cov --cov-config=.coveragerc tests"

# (captured output, test command, fixes tried, the fix's description, its test command)
COVERAGE_CASES = [
    (COV_MISSING, WITH_COV, frozenset(), "missing covdefaults -> pip install covdefaults", None),
    (COV_MISSING, WITH_COV, frozenset({"missing covdefaults -> pip install covdefaults"}),
     "coverage could not start -> the coverage options dropped", "python -m pytest tests"),
    (COV_MISSING, PROPCACHE_TEST,
     frozenset({"missing covdefaults -> pip install covdefaults"}),
     "coverage could not start -> the coverage options dropped", PROPCACHE_WITHOUT_COVERAGE),
    # a real free-threaded 3.13.5: coverage without its C tracer, Cython's plugin refuses
    ("pytest_exit1_cython_coverage_ft_313t", PROPCACHE_TEST, frozenset(),
     f"{NO_TRACER} -> the coverage options dropped", PROPCACHE_WITHOUT_COVERAGE),
    ("pytest_exit1_cython_coverage_ft_313t", "python -m pytest tests", frozenset(),
     f"{NO_TRACER} -> -o addopts=''", "python -m pytest tests -o addopts="),
    ("pytest_cython_coverage_plugin_ft_313t", "python -m pytest -p Cython.Coverage tests",
     frozenset(), f"{NO_TRACER} -> the coverage options dropped", "python -m pytest tests"),
    # the options come from the ini file's addopts
    (COV_MISSING, "python -m pytest tests",
     frozenset({"missing covdefaults -> pip install covdefaults"}),
     "coverage could not start -> -o addopts=''", "python -m pytest tests -o addopts="),
]  # fmt: skip


@pytest.mark.parametrize(("name", "test", "tried", "description", "new_test"), COVERAGE_CASES)
def test_coverage_that_cannot_start_is_run_without(
    name: str, test: str, tried: frozenset[str], description: str, new_test: str | None
) -> None:
    output = (CAPTURED / f"{name}.out").read_text(encoding="utf-8")
    code = json.loads((CAPTURED / f"{name}.json").read_text(encoding="utf-8"))["exit_code"]
    verdict = classify(exit_code=code, output=output)
    assert verdict.outcome is Outcome.CONFIG_ERROR
    current = entry(test=test)
    fix = propose_fix(current, verdict.outcome, verdict.reason, output, tried)
    assert fix is not None
    assert fix.description == description
    assert fix.test_command == (new_test or test)
    if new_test is not None:
        assert fix.install_command == current.install_command


def test_coverage_options_dropped() -> None:
    assert without_coverage_options(
        ["--cov", "src", "tests", "-pCython.Coverage", "-p", "no:cov", "--cov-report", "term"]
    ) == ["tests", "-p", "no:cov"]
    assert without_coverage_options(["--cov=pkg", "--cov-fail-under=90", "-x", "--cov"]) == ["-x"]
    assert drop_coverage("python -m pytest -p pytest_cov -p covdefaults tests") == (
        "python -m pytest tests"
    )
    assert drop_coverage("python -m pytest tests") is None


WHEEL = "the released wheel of demo-pkg==1.0"
LIB = f"demo-pkg does not build here (a system library or header is missing) -> {WHEEL}"
CC = f"demo-pkg does not build here (no compiler for its code) -> {WHEEL}"
BACKEND = (
    f"demo-pkg does not build here (its build script fails with today's build tools) -> {WHEEL}"
)
# captured logs of the project's own build -> the fix (nothing when a build of it could work)
OWN_BUILD_FIXES = [
    ("pip-missing-system-header.log", LIB),  # pymssql
    ("uv-missing-system-header.log", LIB),
    ("pip-missing-odbc-header.log", LIB),  # pyodbc
    ("pip-no-rust-toolchain.log", CC),  # nh3
    ("uv-no-rust-toolchain.log", CC),
    ("uv-no-compiler.log", CC),
    ("pip-setup-imports-pkg-resources.log", BACKEND),  # html5lib
    ("uv-removed-c-api-name.log", None),  # a C API error: a wheel would hide what apiary hunts
    ("uv-cython.log", None),
]  # fmt: skip


@pytest.mark.parametrize(("log_name", "description"), OWN_BUILD_FIXES)
def test_a_build_that_needs_what_the_machine_lacks_takes_the_released_wheel(
    log_name: str, description: str | None
) -> None:
    log = (INSTALL_DATA / log_name).read_text()
    current = entry(install="pip install -e '.[test]' && pip install pytest", test=PYTEST_TESTS)
    fix = propose_fix(current, Outcome.INSTALL_ERROR, None, log, version="1.0")
    if description is None:
        assert fix is None
        return
    assert fix is not None and fix.description == description
    assert fix.install_command == (
        "pip install --only-binary=demo-pkg 'demo-pkg[test]==1.0' && pip install pytest"
    )
    # the tests take the installed copy when the tree lacks its compiled parts; a build
    # script's failure leaves the tree importable (html5lib's suite is inside the package)
    compiled = description != BACKEND
    assert fix.test_command == (
        f"PYTHONSAFEPATH=1 {PYTEST_TESTS} --import-mode=append" if compiled else PYTEST_TESTS
    )
    # without the version of the sdist there is no release to take
    assert propose_fix(current, Outcome.INSTALL_ERROR, None, log) is None
    # tried once, never twice
    assert (
        propose_fix(current, Outcome.INSTALL_ERROR, None, log, frozenset({description}), "1.0")
        is None
    )


PYTEST_TESTS = "python -m pytest -p no:xdist tests"


def test_released_install_and_the_test_command_against_it() -> None:
    assert released_install("pip install . pytest", "a", "2") == "pip install a==2 pytest"
    assert released_install("pip install './[x]'", "a", "2", wheel_only=True) == (
        "pip install --only-binary=a 'a[x]==2'"
    )
    assert released_install("pip install pytest", "a", "2") is None
    assert against_installed("cd tests && pytest -x") == (
        "cd tests && PYTHONSAFEPATH=1 pytest -x --import-mode=append"
    )
    assert against_installed("python -m pytest --import-mode=importlib") == (
        "PYTHONSAFEPATH=1 python -m pytest --import-mode=importlib"
    )
    assert against_installed("python -m unittest") == "python -m unittest"


def test_an_editable_install_that_rebuilds_on_import_is_installed_as_a_wheel() -> None:
    # contourpy 1.4.0's import check on 3.12: meson-python's loader rebuilding with the
    # build env's pybind11, gone by then (captured, paths shortened)
    log = (Path(__file__).parent / "data" / "meson-editable-rebuild.log").read_text()
    current = entry("pip install -e '.[test]' && pip install pytest", "python -m pytest tests")
    reason = 'ImportError: rebuilding the "contourpy" editable package failed'
    fix = propose_fix(current, Outcome.IMPORT_ERROR, reason, log)
    assert fix is not None
    assert fix.install_command == "pip install '.[test]' && pip install pytest"
    assert fix.test_command == "PYTHONSAFEPATH=1 python -m pytest tests --import-mode=append"
    assert fix.description.startswith("the editable install rebuilds on import")
    # not without that message, and not when nothing is editable
    assert propose_fix(current, Outcome.IMPORT_ERROR, "No module named 'x'", "") != fix
    built = entry("pip install . && pip install pytest")
    assert propose_fix(built, Outcome.IMPORT_ERROR, reason, log) is None


@pytest.mark.parametrize(
    "module", ["tests_python", "test_helpers", "my_tests", "unit_test", "helper", "utils"]
)
def test_a_missing_module_of_the_suite_itself_is_never_installed(
    tmp_path: Path, module: str
) -> None:
    """debugpy's tests import their helpers from `tests_python`: not on PyPI's side."""
    files = {"tests/test_a.py": f"import {module}.debug\ndef test_a(): pass\n"}
    code, output = pytest_output(tmp_path, files)
    verdict = classify(exit_code=code, output=output)
    assert verdict.outcome is Outcome.CONFIG_ERROR, output
    assert module in (verdict.reason or "")
    fix = propose_fix(entry(), verdict.outcome, verdict.reason, output)
    assert fix is None or canonicalize_name(module) not in installed_by(fix.install_command)


def test_a_test_runner_the_install_lost_is_installed(tmp_path: Path) -> None:
    """The released wheel of google-crc32c has no `testing` extra: its pytest never came,
    and `python -m pytest` said so in runpy's words, with no quotes."""
    done = subprocess.run(
        [sys.executable, "-I", "-m", "apiary_absent_runner", "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    output = f"$ python -m apiary_absent_runner tests\n{done.stderr}"
    verdict = classify(exit_code=done.returncode, output=output)
    assert verdict.outcome is Outcome.CONFIG_ERROR, output
    install = "pip install --only-binary=demo-pkg 'demo-pkg[testing]==1.0'"
    fix = propose_fix(entry(install=install), verdict.outcome, verdict.reason, output)
    assert fix is not None, output
    assert fix.description == ("missing apiary_absent_runner -> pip install apiary-absent-runner")
    assert fix.install_command == f"{install} apiary-absent-runner"


def test_sibling_test_modules_imported_by_bare_name_go_on_the_path(tmp_path: Path) -> None:
    """dill's tests (a package folder) `import test_mixins`: only their own folder on
    sys.path makes that work, as dill's own runner has it."""
    files = {
        "pkg/__init__.py": "",
        "pkg/tests/__init__.py": "",
        "pkg/tests/test_mixins.py": "VALUE = 3\ndef test_m(): pass\n",
        "pkg/tests/test_module.py": "import test_mixins\ndef test_a():\n"
        "    assert test_mixins.VALUE == 3\n",
    }
    code, output = pytest_output(tmp_path, files, "pkg/tests")
    verdict = classify(exit_code=code, output=output)
    assert verdict.outcome is Outcome.CONFIG_ERROR, output
    current = entry(test="python -m pytest pkg/tests")
    fix = propose_fix(current, verdict.outcome, verdict.reason, output)
    assert fix is not None, output
    assert fix.description == (
        "test_mixins imported by bare name beside the tests -> PYTHONPATH=pkg/tests"
    )
    assert fix.test_command == "PYTHONPATH=pkg/tests python -m pytest pkg/tests"
    assert fix.install_command == current.install_command
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    fixed = subprocess.run(
        f"{fix.test_command.replace('python', shlex.quote(sys.executable), 1)}"
        " -p no:cacheprovider -p no:xdist",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert classify(exit_code=fixed.returncode, output=fixed.stdout).outcome is Outcome.PASS
    # not over a PYTHONPATH the command already sets: only the last resort is left
    again = propose_fix(entry(test=fix.test_command), verdict.outcome, verdict.reason, output)
    assert again is not None and again.description.endswith(ISOLATE_PURPOSE)
    assert "PYTHONPATH=pkg/tests PYTHONPATH" not in str(again.test_command)


def test_a_module_its_installed_distribution_dropped_pins_the_last_that_had_it() -> None:
    """click-plugins' tests import pkg_resources, which setuptools 82 no longer has (the
    log as a run captured it on 3.12.1)."""
    output = Path(__file__).parent / "data" / "test-logs" / "click-plugins-pkg-resources.log"
    text = output.read_text()
    verdict = classify(exit_code=2, output=text)
    assert verdict.outcome is Outcome.CONFIG_ERROR
    install = "pip install -e . && pip install pytest pytest-cov setuptools"
    fix = propose_fix(entry(install=install), verdict.outcome, verdict.reason, text)
    assert fix is not None
    assert fix.description == "pkg_resources is gone from current releases -> setuptools<82"
    assert fix.install_command == f"{install} 'setuptools<82'"
    pinned = entry(install=fix.install_command)
    assert propose_fix(pinned, verdict.outcome, verdict.reason, text) is None


def test_modules_reported_at_once_by_instafail_are_all_left_out_as_the_last_resort() -> None:
    """psutil 7.2.2 on 3.12.1 (`--instafail --verbose` in its addopts): the first section
    follows `collecting ... ` on its line and was missed."""
    log = Path(__file__).parent / "data" / "test-logs" / "psutil-instafail-collection.log"
    (candidate,) = isolate(log.read_text(), None, "python -m pytest -p no:xdist")
    description, _, test = candidate
    modules = ("connections", "heap", "linux", "process", "unicode")
    assert test == "python -m pytest -p no:xdist " + " ".join(
        f"--ignore=tests/test_{name}.py" for name in modules
    )
    assert description.startswith("tests/test_connections.py (an error); tests/test_heap.py")


def test_tests_that_ran_under_a_coverage_threshold_run_without_coverage() -> None:
    """yarl 1.25.1 on 3.12.1: 1880 passed, then pytest-cov's threshold failed the run."""
    log = Path(__file__).parent / "data" / "test-logs" / "yarl-coverage-under-threshold.log"
    text = log.read_text()
    verdict = classify(exit_code=1, output=text)
    assert verdict.outcome is Outcome.CONFIG_ERROR
    test = (
        "python -m pytest -p no:xdist -o 'addopts=--durations=10 -ra -p pytest_cov --cov"
        " --cov-config=.coveragerc --strict-markers'"
    )
    fix = propose_fix(entry(test=test), verdict.outcome, verdict.reason, text)
    assert fix is not None
    assert fix.description == (
        "the tests ran, under a coverage threshold -> the coverage options dropped"
    )
    assert fix.test_command == (
        "python -m pytest -p no:xdist -o 'addopts=--durations=10 -ra --strict-markers'"
    )


def test_xdist_markers_lost_with_the_plugin_keep_it_loaded_with_no_workers(
    tmp_path: Path,
) -> None:
    """psutil's tests mark `xdist_group` under `--strict-markers`: `-p no:xdist` drops the
    marker's registration with the plugin, and collection stops."""
    files = {
        "pytest.ini": "[pytest]\naddopts = --strict-markers\n",
        "tests/test_a.py": "import pytest\n\n@pytest.mark.xdist_group('net')\n"
        "def test_a():\n    pass\n",
    }
    code, output = pytest_output(tmp_path, files, "tests")
    verdict = classify(exit_code=code, output=output)
    assert verdict.outcome is Outcome.CONFIG_ERROR, output
    current = entry(test="python -m pytest tests -p no:xdist")
    fix = propose_fix(current, verdict.outcome, verdict.reason, output)
    assert fix is not None
    assert fix.description == "xdist's markers unknown under -p no:xdist -> -n 0"
    assert fix.test_command == "python -m pytest tests -n 0"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    fixed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests", "-n", "0"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert classify(exit_code=fixed.returncode, output=fixed.stdout).outcome is Outcome.PASS


def test_a_hook_argument_pytest_no_longer_passes_pins_the_pytest_before(tmp_path: Path) -> None:
    """html5lib 1.1's conftest defines `pytest_collect_file(path, parent)`: pluggy refuses
    it before pytest's session header, so the major comes from the venv's inventory."""
    files = {
        "tests/conftest.py": "def pytest_collect_file(apiary_gone, parent):\n    pass\n",
        "tests/test_a.py": "def test_a(): pass\n",
    }
    code, output = pytest_output(tmp_path, files)
    verdict = classify(exit_code=code, output=output)
    assert verdict.outcome is Outcome.CONFIG_ERROR, output
    fix = propose_fix(
        entry(), verdict.outcome, verdict.reason, output, pytest_version=pytest.__version__
    )
    assert fix is not None
    assert fix.description == f"apiary_gone is gone from pytest {MAJOR} -> pytest<{MAJOR}"
    assert fix.install_command == OLDER
