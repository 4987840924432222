"""The install failure classifier, as a table over real installer output: logs of verify
runs on CPython 3.12 (kombu, ecdsa, pymssql, nh3, pyodbc) and of pip and uv run here on purpose-made
projects (no compiler, a Cython error, a build requirement that raises, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from normalized_events import InstallFailure
from runner_core.install_failures import install_failure
from runner_core.outcomes import StepStatus, classify_install

DATA = Path(__file__).parent / "data"
K = InstallFailure

TABLE = [
    # an old pinned test dependency (gmpy) includes a header CPython 3.11 removed
    ("install-logs/pip-removed-c-api-header.log", K.C_API),
    ("install-logs/uv-removed-c-api-header.log", K.C_API),
    # backports.zoneinfo (a kombu test dependency) uses _PyLong_One, gone in 3.12
    ("install-logs/pip-removed-c-api-name.log", K.C_API),
    ("install-logs/uv-removed-c-api-name.log", K.C_API),
    # pymssql needs FreeTDS's headers (sqlfront.h)
    ("install-logs/pip-missing-system-header.log", K.SYSTEM_LIBRARY),
    ("install-logs/uv-missing-system-header.log", K.SYSTEM_LIBRARY),
    ("crashes/install_pip_build_failure.out", K.SYSTEM_LIBRARY),
    ("crashes/install_uv_build_failure.out", K.SYSTEM_LIBRARY),
    # the azure meta-package's setup.py refuses to build
    ("install-logs/pip-dependency-refuses-to-build.log", K.BUILD_BACKEND),
    ("install-logs/uv-dependency-refuses-to-build.log", K.BUILD_BACKEND),
    ("install-logs/pip-build-requirement-does-not-build.log", K.BUILD_BACKEND),
    ("install-logs/uv-build-requirement-does-not-build.log", K.BUILD_BACKEND),
    ("install-logs/pip-cython.log", K.CYTHON),
    ("install-logs/uv-cython.log", K.CYTHON),
    ("install-logs/pip-no-compiler.log", K.NO_COMPILER),
    # nh3 (PyO3 through maturin): no cargo, and rustup cannot be downloaded
    ("install-logs/pip-no-rust-toolchain.log", K.NO_COMPILER),
    ("install-logs/uv-no-rust-toolchain.log", K.NO_COMPILER),
    # gssapi (an asyncpg test dependency) runs krb5-config, which is not installed
    ("install-logs/uv-missing-config-tool.log", K.SYSTEM_LIBRARY),
    # pyodbc needs unixODBC's headers
    ("install-logs/pip-missing-odbc-header.log", K.SYSTEM_LIBRARY),
    ("install-logs/uv-no-compiler.log", K.NO_COMPILER),
    ("install-logs/pip-python-version.log", K.PYTHON_VERSION),
    ("install-logs/pip-network.log", K.NETWORK),
    ("install-logs/uv-network.log", K.NETWORK),
    ("crashes/install_pip_no_match.out", K.RESOLUTION),
    ("crashes/install_uv_no_solution.out", K.RESOLUTION),
]


@pytest.mark.parametrize(("log", "kind"), TABLE)
def test_install_failure_kinds(log: str, kind: InstallFailure) -> None:
    assert install_failure((DATA / log).read_text(encoding="utf-8")) is kind


def test_status_kinds_and_the_verdict_carries_the_kind() -> None:
    output = (DATA / "install-logs/pip-removed-c-api-header.log").read_text(encoding="utf-8")
    verdict = classify_install(StepStatus(exit_code=1), output)
    assert verdict.install_failure is K.C_API
    assert verdict.reason == (
        "build failed for gmpy: src/gmpy.c:243:10: fatal error: longintrepr.h:"
        " No such file or directory"
    )
    slow = classify_install(StepStatus(exit_code=-9, timed_out=True), output)
    assert slow.install_failure is K.TIMEOUT
    died = classify_install(StepStatus(exit_code=-11), output)
    assert died.install_failure is K.INSTALLER_DIED
    assert install_failure("something nobody foresaw") is K.OTHER
    assert classify_install(StepStatus(exit_code=0), "").install_failure is None


def test_the_reason_names_the_cause_not_the_wrap_up() -> None:
    # pip 25 quotes the name it failed to build: the reason says which, not
    # subprocess-exited-with-error
    output = (DATA / "install-logs/pip-dependency-refuses-to-build.log").read_text()
    assert classify_install(StepStatus(exit_code=1), output).reason == "build failed for azure"


def test_a_failed_build_of_a_local_tree_names_it_and_the_exception_it_raised() -> None:
    """html5lib 1.1's setup.py imports pkg_resources, which today's setuptools lacks: pip
    names the folder it built (a file:// address) and the cause is the traceback's end."""
    output = (DATA / "install-logs/pip-setup-imports-pkg-resources.log").read_text()
    verdict = classify_install(StepStatus(exit_code=1), output)
    assert verdict.reason == (
        "build failed for html5lib-1.1: ModuleNotFoundError: No module named 'pkg_resources'"
    )
    assert verdict.install_failure is K.BUILD_BACKEND
