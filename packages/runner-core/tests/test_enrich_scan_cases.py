"""Scan on trees shaped like the suites that needed a person: each test is one class of
mistake the proposal used to make."""

from __future__ import annotations

import _pytest.config
from runner_core.enrich.distnames import PYTEST_BUILTIN_PLUGINS
from runner_core.enrich.scan import scan_tree
from test_enrich_scan import tree


def test_pytest_builtin_and_in_tree_plugins_are_not_installed(tmp_path) -> None:
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


def test_xdist_from_a_test_extra_sets_uses_xdist(tmp_path) -> None:
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


def test_factor_conditional_tox_deps_are_left_out(tmp_path) -> None:
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


def test_a_top_level_tests_module_is_a_test_file(tmp_path) -> None:
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
