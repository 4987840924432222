"""Scan on trees shaped like the suites that needed a person: each test is one class of
mistake the proposal used to make."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import _pytest.config
from runner_core.enrich.distnames import PYTEST_BUILTIN_PLUGINS
from runner_core.enrich.scan import scan_tree
from test_enrich_scan import tree


def test_pytest_builtin_and_in_tree_plugins_are_not_installed(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "p",
        {
            "pytest.ini": "[pytest]\naddopts = -p warnings -p tests.plugin -pno:cacheprovider"
            " -p pytest_randomly\n",
            "demo/__init__.py": "",
            "tests/__init__.py": "",
            "tests/plugin.py": "",
            "tests/test_a.py": "def test_a(): pass\n",
        },
    )
    install = scan_tree(root).install_command.value
    assert install == "pip install -e . && pip install pytest pytest-randomly"


def test_the_builtin_plugin_list_covers_this_pytest() -> None:
    assert set(_pytest.config.default_plugins) <= PYTEST_BUILTIN_PLUGINS


def test_xdist_from_a_test_extra_sets_uses_xdist(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "x",
        {
            "pyproject.toml": """
                [project]
                name = "demo"
                [project.optional-dependencies]
                test = ["pytest", "pytest-xdist"]
            """,
            "demo/__init__.py": "",
            "tests/test_a.py": "def test_a(): pass\n",
        },
    )
    proposal = scan_tree(root)
    assert proposal.uses_xdist.value is True
    assert proposal.install_command.value == "pip install -e '.[test]'"
    assert proposal.test_command.value == "python -m pytest tests -p no:xdist"


def test_factor_conditional_tox_deps_are_left_out(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "t",
        {
            "tox.ini": """
                [testenv]
                deps =
                    pytest
                    attrs
                    py38,py39: backports.zoneinfo
                    django42: Django>=4.2,<4.3
                    !pypy3: numpy==1.21.0
            """,
            "demo/__init__.py": "",
            "tests/test_a.py": "import attrs\ndef test_a(): pass\n",
        },
    )
    assert scan_tree(root).install_command.value == "pip install -e . && pip install pytest attrs"


def test_a_top_level_tests_module_is_a_test_file(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "m",
        {
            "setup.py": "from setuptools import setup\nsetup()\n",
            "tinylib.py": "",
            "tests.py": "import unittest\nimport tinylib\nimport six\n"
            "class T(unittest.TestCase):\n    def test_x(self): pass\n",
        },
    )
    proposal = scan_tree(root)
    assert proposal.has_tests
    assert proposal.test_command.value == "python -m pytest tests.py"
    assert proposal.install_command.value == "pip install -e . && pip install pytest six"
    assert proposal.import_name.value == "tinylib"  # tests.py is not a package of the project


GUARDED = """
    import pytest
    try:
        from hypothesis import given, strategies as st
        HAVE_HYPOTHESIS = True
    except ImportError:
        HAVE_HYPOTHESIS = False
    try:
        import ujson
    except ImportError:
        ujson = None
    try:
        from attr import define
    except ImportError:
        def define(cls):
            return cls
    try:
        import simplejson
    except ImportError:
        pass

    @pytest.mark.skipif(not HAVE_HYPOTHESIS, reason="no hypothesis")
    @given(st.integers())
    def test_a(x):
        assert ujson is None or ujson.dumps(x)

    @define
    class Point:
        x: int

    @pytest.mark.skipif(simplejson is None, reason="no simplejson")
    def test_b():
        pass
"""


def test_a_guarded_import_used_at_collection_is_required(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "g",
        {"demo/__init__.py": "", "tests/test_a.py": GUARDED},
    )
    proposal = scan_tree(root)
    # hypothesis binds given, used as a decorator: without it, a NameError at collection
    assert proposal.install_command.value == "pip install -e . && pip install pytest hypothesis"
    # checked only (ujson, simplejson) or given a stand-in (attr): optional
    assert {d.name for d in proposal.optional} == {"ujson", "attrs", "simplejson"}


def test_scripts_beside_the_tests_are_not_the_suite(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "b",
        {
            "demo/__init__.py": "",
            "tests/__init__.py": "",
            "tests/test_a.py": "from tests.helpers import make\nfrom . import util\n"
            "def test_a(): pass\n",
            "tests/helpers.py": "import attrs\nfrom .deep import x\n",
            "tests/deep.py": "import six\nx = 1\n",
            "tests/util.py": "import freezegun\n",
            "tests/benchmark_parse.py": "import matplotlib.pyplot\nimport pyperf\n",
            "tests/plot_results.py": "import pandas\n",
        },
    )
    proposal = scan_tree(root)
    assert proposal.install_command.value == (
        "pip install -e . && pip install pytest attrs freezegun six"
    )
    assert proposal.missing_local == []


def test_helpers_the_sdist_left_out_mean_it_needs_git(tmp_path: Path) -> None:
    from registry_core import load_registry
    from runner_core.enrich.scan import ScanResult, ScanTarget
    from runner_core.enrich.write import write_scan

    root = tree(
        tmp_path / "sdist",
        {
            "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            "demo/__init__.py": "",
            "tests/__init__.py": "",
            "tests/test_a.py": "from tests.helpers import make\nfrom testing.support import x\n"
            "from tests import fixtures_data\nimport test.support\ndef test_a(): pass\n",
        },
    )
    proposal = scan_tree(root)
    assert proposal.missing_local == [
        "tests.helpers (imported by tests/test_a.py)",
        "testing.support (imported by tests/test_a.py)",
        "tests.fixtures_data (imported by tests/test_a.py)",
    ]
    registry = tmp_path / "registry"
    (registry / "packages").mkdir(parents=True)
    (registry / "packages" / "demo.yaml").write_text(
        "package: demo\nnotes: Needs a local Redis for two tests.\n"
    )
    target = ScanTarget(root, "demo", from_sdist=True, version="1.0", origin="demo==1.0 sdist")
    write_scan(registry, ScanResult(target, proposal))
    entry = load_registry(registry).entries["demo"]
    assert entry.field_value("sdist_has_tests") is False
    assert "Needs git: the sdist lacks tests.helpers" in entry.notes
    # what a person wrote stays, and a second scan replaces only its own sentence
    assert entry.notes.startswith("Needs a local Redis for two tests. Scanned demo==1.0")
    write_scan(registry, ScanResult(target, proposal))
    again = load_registry(registry).entries["demo"].notes
    assert again.count("Scanned ") == 1 and again == entry.notes


def test_scan_notes_keep_what_others_wrote() -> None:
    from runner_core.enrich.write import notes_with_scan

    new = "Scanned x==2 sdist: tests in tests."
    cases = {
        "": new,
        "A person's words.": f"A person's words. {new}",
        "Scanned x==1 sdist: tests in t. Test deps: a (b).": new,
        "Mine. Scanned x==1 sdist: t. Verified 2026-01-02 by apiary enrich verify: pass.": (
            f"Mine. {new} Verified 2026-01-02 by apiary enrich verify: pass."
        ),
    }
    for notes, expected in cases.items():
        assert notes_with_scan(notes, new) == expected


def test_the_package_a_dotted_name_starts_with_is_its_import_name(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "d",
        {
            "PKG-INFO": "Metadata-Version: 2.1\nName: pdfminer.six\nVersion: 1\n",
            "pdfminer/__init__.py": "",
            "tools/dumppdf.py": "",
            "tests/test_a.py": "def test_a(): pass\n",
        },
    )
    assert scan_tree(root).import_name.value == "pdfminer"


def test_linter_plugins_of_a_dev_group_are_left_out(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "l",
        {
            "pyproject.toml": """
                [project]
                name = "demo"
                [dependency-groups]
                dev = ["pytest-flake8", "tbump", "deptry", "pytest-cov", "referencing"]
            """,
            "demo/__init__.py": "",
            "tests/test_a.py": "def test_a(): pass\n",
        },
    )
    assert scan_tree(root).install_command.value == (
        "pip install -e . && pip install pytest pytest-cov referencing"
    )


VERSION_BRANCHES = """
import sys

if sys.version_info >= (3, 9):
    from zoneinfo import ZoneInfo
else:
    from backports.zoneinfo import ZoneInfo
if (3, 11) > sys.version_info[:2]:
    import tomli
elif sys.platform == "win32":
    import winreg_helpers
if sys.version_info < (3, 8, 2):
    import attrs
import attrs
from google.pubsub_v1.types import Subscription

def test_a():
    assert ZoneInfo and Subscription
"""


def test_imports_of_a_version_branch_carry_its_marker(tmp_path: Path) -> None:
    root = tree(tmp_path / "t", {"demo/__init__.py": "", "tests/test_a.py": VERSION_BRANCHES})
    # attrs is also imported outside any branch; an elif is under the else's marker; the
    # namespace import is a distribution; the Windows branch never runs here
    assert scan_tree(root).install_command.value == (
        "pip install -e . && pip install pytest attrs"
        " 'backports.zoneinfo; python_version < \"3.9\"' google-cloud-pubsub"
        " 'tomli; python_version < \"3.11\"'"
    )


PLATFORM_BRANCHES = """
import os
import sys

from psutil import WINDOWS, PYPY, LINUX

if WINDOWS and not PYPY:
    import win32con
if sys.platform.startswith("darwin"):
    import appnope
if os.name != "nt":
    import ptyprocess
else:
    import winpty
if sys.platform in ("win32", "cygwin"):
    import colorama
if LINUX:
    import distro

def test_a():
    pass
"""


def test_imports_of_another_platforms_branch_are_not_installed(tmp_path: Path) -> None:
    """psutil's tests import `win32con` under `if WINDOWS and not PYPY:`: on Linux the
    branch never runs, and `win32con` is on no index."""
    root = tree(tmp_path / "t", {"psutil/__init__.py": "", "tests/test_a.py": PLATFORM_BRANCHES})
    assert scan_tree(root).install_command.value == (
        "pip install -e . && pip install pytest distro ptyprocess"
    )


def test_the_installer_evaluates_markers_for_its_interpreter() -> None:
    # what the install step does with the marker: pip (or uv) run by the venv's
    # interpreter, which is the one under test, skips a requirement not meant for it
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index",
         'apiary-never-on-pypi-xyz; python_version < "3.0"'],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Ignoring apiary-never-on-pypi-xyz" in done.stdout + done.stderr


def test_the_test_files_that_import_what_the_sdist_lacks_are_left_out(tmp_path: Path) -> None:
    from registry_core import load_registry
    from runner_core.enrich.scan import ScanResult, ScanTarget
    from runner_core.enrich.write import write_scan

    root = tree(
        tmp_path / "sdist",
        {
            "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            "demo/__init__.py": "",
            "tests/__init__.py": "",
            # directly, through a helper two levels down, and not at all
            "tests/test_stdin.py": "from tests.mock_stdin import feed\ndef test_a(): pass\n",
            "tests/test_repl.py": "from tests.util import run\ndef test_b(): pass\n",
            "tests/util.py": "from tests.deep import run\n",
            "tests/deep.py": "from tests.generated_pb2 import Message\nrun = 1\n",
            "tests/test_basic.py": "def test_c(): pass\n",
            "tests/test_more.py": "from tests.ok_helper import x\ndef test_d(): assert x\n",
            "tests/ok_helper.py": "x = 1\n",
        },
    )
    proposal = scan_tree(root)
    assert proposal.ignored == ["tests/test_repl.py", "tests/test_stdin.py"]
    command = str(proposal.test_command.value)
    assert command.endswith("--ignore=tests/test_repl.py --ignore=tests/test_stdin.py")
    assert "2 of 4 test files run" in " ".join(proposal.test_command.evidence)
    # the proposed command runs what is left, for real
    _runs_to_pass(root, command, 2)
    registry = tmp_path / "registry"
    (registry / "packages").mkdir(parents=True)
    target = ScanTarget(root, "demo", from_sdist=True, version="1.0", origin="demo==1.0 sdist")
    write_scan(registry, ScanResult(target, proposal))
    entry = load_registry(registry).entries["demo"]
    assert entry.field_value("sdist_has_tests") is True
    assert "only part of the suite runs" in entry.notes


def test_a_conftest_that_lacks_a_module_leaves_no_part_to_run(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "c",
        {
            "demo/__init__.py": "",
            "tests/conftest.py": "from tests.fixtures_data import loop\n",
            "tests/test_a.py": "def test_a(): pass\n",
            "tests/test_b.py": "from tests.gone import x\ndef test_b(): pass\n",
        },
    )
    proposal = scan_tree(root)
    assert proposal.missing_local
    assert proposal.ignored == []
    assert "--ignore" not in str(proposal.test_command.value)


def test_a_repository_helper_the_sdist_lacks_leaves_out_what_imports_it(tmp_path: Path) -> None:
    """google-resumable-media's system tests import `test_utils`, a folder of its
    repository that no sdist carries: by its name a suite's module, not a distribution."""
    root = tree(
        tmp_path / "sdist",
        {
            "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            "demo/__init__.py": "",
            "tests/__init__.py": "",
            "tests/system/__init__.py": "",
            "tests/system/utils.py": "from test_utils.retry import RetryResult\n",
            "tests/system/test_live.py": "from tests.system import utils\ndef test_a(): pass\n",
            # a conftest below imports the helper too: its whole folder goes
            "tests/system/requests/__init__.py": "",
            "tests/system/requests/conftest.py": "from tests.system import utils\n",
            "tests/system/requests/test_download.py": "def test_c(): pass\n",
            "tests/unit/__init__.py": "",
            "tests/unit/test_unit.py": "def test_b(): pass\n",
        },
    )
    proposal = scan_tree(root)
    assert proposal.ignored == ["tests/system/requests", "tests/system/test_live.py"]
    assert "test-utils" not in str(proposal.install_command.value)
    assert "1 of 3 test files run" in " ".join(proposal.test_command.evidence)
    _runs_to_pass(root, str(proposal.test_command.value), 1)


def test_a_broken_conftest_at_the_top_of_the_suite_leaves_nothing_to_run(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "sdist",
        {
            "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            "demo/__init__.py": "",
            "tests/__init__.py": "",
            "tests/conftest.py": "from tests.helpers_gone import x\n",
            "tests/test_a.py": "def test_a(): pass\n",
        },
    )
    assert scan_tree(root).ignored == []


def test_a_helper_above_the_test_folders_that_import_it_is_read(tmp_path: Path) -> None:
    """google-resumable-media 2.11.0's sdist as it is: `tests/system/utils.py`, with no test
    file beside it, imported by the conftest and tests of `tests/system/requests/`."""
    root = tree(
        tmp_path / "sdist",
        {
            "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            "demo/__init__.py": "",
            "tests/__init__.py": "",
            "tests/system/__init__.py": "",
            "tests/system/utils.py": "from test_utils.retry import RetryResult\n",
            "tests/system/requests/__init__.py": "",
            "tests/system/requests/conftest.py": "from tests.system import utils\n",
            "tests/system/requests/test_download.py": "from tests.system import utils\n",
            "tests/unit/__init__.py": "",
            "tests/unit/test_unit.py": "def test_b(): pass\n",
        },
    )
    assert scan_tree(root).ignored == ["tests/system/requests"]


def test_a_helper_file_the_sdist_left_out_is_no_distribution(tmp_path: Path) -> None:
    """mmh3 5.3.1's sdist as it is: its tests import `helper` from a tests/helper.py that
    only the repository has; `helper` on PyPI is another project."""
    root = tree(
        tmp_path / "sdist",
        {
            "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            "demo/__init__.py": "",
            "tests/test_a.py": "from helper import u32_to_s32\ndef test_a(): pass\n",
            "tests/test_b.py": "from helper import u32_to_s32\ndef test_b(): pass\n",
        },
    )
    proposal = scan_tree(root)
    assert "helper" not in str(proposal.install_command.value)
    assert proposal.missing_local[0] == "helper (imported by tests/test_a.py)"
    assert any("needs its git repository" in note for note in proposal.notes)


def test_a_test_module_inside_the_package_is_a_helper(tmp_path: Path) -> None:
    """opensearch-py's sdist has `opensearchpy/helpers/test.py` (a base TestCase) and no
    suite: the helper is no test file, so the sdist has no tests."""
    root = tree(
        tmp_path / "o",
        {
            "setup.py": "from setuptools import setup\nsetup()\n",
            "searchlib/__init__.py": "",
            "searchlib/helpers/__init__.py": "",
            "searchlib/helpers/test.py": "from unittest import TestCase\n"
            "class SearchTestCase(TestCase):\n    pass\n",
        },
    )
    proposal = scan_tree(root)
    assert not proposal.has_tests
    assert "test.py" not in str(proposal.test_command.value)


def test_what_only_the_left_out_files_import_is_not_installed(tmp_path: Path) -> None:
    """google-cloud-bigquery's system tests need its repository's `test_utils` and import
    other Google clients: left out, they need nothing installed; google-cloud-core's own
    modules and the versioned API modules map to their distributions."""
    root = tree(
        tmp_path / "sdist",
        {
            "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            "demo/__init__.py": "",
            "tests/__init__.py": "",
            "tests/system/__init__.py": "",
            "tests/system/test_live.py": (
                "from test_utils.imports import maybe_fail_import\n"
                "import psutil\nimport google.cloud.datacatalog_v1\n"
                "def test_a(): pass\n"
            ),
            "tests/unit/__init__.py": "",
            "tests/unit/test_unit.py": (
                "import psutil\nimport freezegun\nfrom google.cloud import _helpers\n"
                "from google.cloud.exceptions import NotFound\n"
                "from google.cloud import bigquery_storage_v1\ndef test_b(): pass\n"
            ),
        },
    )
    proposal = scan_tree(root)
    assert proposal.ignored == ["tests/system/test_live.py"]
    needed = {dependency.requirement for dependency in proposal.dependencies}
    assert {"psutil", "freezegun", "google-cloud-core", "google-cloud-bigquery-storage"} <= needed
    assert not any("datacatalog" in name for name in needed)
    assert "google.cloud" not in needed


def test_a_helper_pytest_puts_on_sys_path_through_a_conftest_is_not_missing(
    tmp_path: Path,
) -> None:
    """azure-core's tests/async_tests import `utils`, which is tests/utils.py: pytest puts
    tests/ on sys.path for its conftest.py."""
    root = tree(
        tmp_path / "sdist",
        {
            "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            "demo/__init__.py": "",
            "tests/conftest.py": "",
            "tests/utils.py": "HTTP = 1\n",
            "tests/test_sync.py": "from utils import HTTP\ndef test_a(): assert HTTP\n",
            "tests/async_tests/conftest.py": "",
            "tests/async_tests/test_async.py": (
                "from utils import HTTP\nfrom test_fixtures import x\ndef test_b(): assert HTTP\n"
            ),
            "tests/async_tests/test_more.py": "from utils import HTTP\ndef test_c(): pass\n",
        },
    )
    proposal = scan_tree(root)
    assert proposal.ignored == ["tests/async_tests/test_async.py"]
    _runs_to_pass(root, str(proposal.test_command.value), 2)


def _runs_to_pass(root: Path, command: str, passed: int) -> None:
    """The proposed test command, run for real in the tree: what it keeps passes."""
    done = subprocess.run(
        [sys.executable, *command.split()[1:], "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert f"{passed} passed" in done.stdout


def test_a_fallback_for_a_module_every_current_python_has_is_not_installed(
    tmp_path: Path,
) -> None:
    """alembic's tests fall back to backports.zoneinfo, which no longer builds, when
    `zoneinfo` is missing: it never is on 3.9 and later. A fallback for what 3.12 dropped
    (`imp`) is still needed."""
    root = tree(
        tmp_path / "sdist",
        {
            "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            "demo/__init__.py": "",
            "tests/test_a.py": (
                "try:\n    from zoneinfo import ZoneInfo\n"
                "except ImportError:\n    from backports.zoneinfo import ZoneInfo\n"
                "try:\n    import imp\nexcept ImportError:\n    import apiary_imp_shim\n"
                "def test_a(): assert ZoneInfo\n"
            ),
        },
    )
    needed = {dependency.name for dependency in scan_tree(root).dependencies}
    assert "backports-zoneinfo" not in needed
    assert "apiary-imp-shim" in needed


def test_a_distribution_named_like_a_suite_module_is_installed_not_left_out(
    tmp_path: Path,
) -> None:
    """pytest-cov's tests import `process_tests` (the process-tests distribution), which
    its name alone would make a module of the suite that the sdist lacks."""
    root = tree(
        tmp_path / "sdist",
        {
            "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            "demo/__init__.py": "",
            "tests/test_a.py": "from process_tests import TestProcess\ndef test_a(): pass\n",
            "tests/test_b.py": "from data_tests import x\ndef test_b(): pass\n",
        },
    )
    proposal = scan_tree(root)
    assert proposal.ignored == ["tests/test_b.py"]
    assert "process-tests" in {dependency.name for dependency in proposal.dependencies}
