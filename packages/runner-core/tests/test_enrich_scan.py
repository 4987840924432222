"""`apiary enrich scan` on source trees written in temporary folders and on real sdists."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from registry_core import load_registry
from runner_core.enrich.config import read_config
from runner_core.enrich.distnames import distribution_for, is_stdlib
from runner_core.enrich.errors import EnrichError
from runner_core.enrich.scan import scan, scan_tree
from runner_core.enrich.tests_layout import scan_tests
from runner_core.enrich.write import write_scan
from runner_fixtures import run_apiary

SDISTS = Path(__file__).parent / "data" / "sdists"


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


RICH = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=64", "setuptools-scm>=8"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "Rich-Thing"
        dependencies = ["requests>=2", "attrs"]

        [project.optional-dependencies]
        test = ["pytest>=7", "hypothesis"]
        docs = ["sphinx"]

        [tool.pytest.ini_options]
        addopts = "-n auto --cov=rich_thing --strict-markers"
        filterwarnings = ["error", "ignore::yaml.YAMLLoadWarning", "ignore::DeprecationWarning"]
        asyncio_mode = "auto"
    """,
    "src/rich_thing/__init__.py": "",
    "src/rich_thing/core.py": "",
    "tests/__init__.py": "",
    "tests/helpers.py": "import numpy\n",
    "tests/conftest.py": "import pytest\nfrom tests import helpers\n",
    "tests/test_core.py": """
        import os, json
        import requests
        import rich_thing.core
        from . import helpers
        from bs4 import BeautifulSoup
        try:
            import ujson
        except ImportError:
            ujson = None
        lxml = pytest.importorskip("lxml")

        @pytest.mark.asyncio
        async def test_a(mocker):
            pass

        @pytest.mark.timeout(5)
        def test_b(benchmark):
            pass
    """,
    "tests/data/sample.py": "import this_is_only_data\n",
}


def test_a_rich_tree_gives_every_field_with_evidence(tmp_path: Path) -> None:
    root = tree(tmp_path / "src-tree", RICH)
    proposal = scan_tree(root)
    assert proposal.package == "Rich-Thing"
    install = proposal.install_command.value
    assert install.startswith("pip install -e '.[test]' && pip install ")
    added = install.split("&& pip install ", 1)[1].split()
    # plugins from addopts and ini keys, fixtures, markers, warning classes, imports
    for dist in ("pytest-xdist", "pytest-cov", "pytest-asyncio", "pytest-mock", "pytest-timeout"):
        assert dist in added
    assert "pytest-benchmark" in added and "PyYAML" in added and "beautifulsoup4" in added
    assert "numpy" in added  # a helper module beside the tests imports it
    # runtime deps, the extra's own deps, stdlib, local modules and data files are left out
    for absent in ("requests", "hypothesis", "attrs", "rich-thing", "json", "tests", "helpers"):
        assert absent not in added
    assert "this-is-only-data" not in install
    assert {d.name for d in proposal.optional} == {"ujson", "lxml"}
    evidence = "\n".join(proposal.install_command.evidence)
    assert "fixture mocker in tests/test_core.py" in evidence
    assert "marker pytest.mark.timeout in tests/test_core.py" in evidence
    assert "ini option asyncio_mode" in evidence
    # xdist: disabled, and addopts rewritten without its options
    assert proposal.uses_xdist.value is True
    command = proposal.test_command.value
    assert command.startswith("python -m pytest tests -p no:xdist -o ")
    assert "'addopts=--cov=rich_thing --strict-markers'" in command
    assert proposal.clone_depth.value == 50
    assert "setuptools-scm" in proposal.clone_depth.evidence[0]
    assert proposal.import_name.value is None  # rich_thing is the name as a module
    assert proposal.timeout.value == 300
    assert proposal.extension_type.value == "pure"


def test_tox_setup_cfg_and_requirements(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "t",
        {
            "setup.py": "from setuptools import setup\nsetup()\n",
            "setup.cfg": """
                [metadata]
                name = oddname
                [options]
                install_requires =
                    six
                [tool:pytest]
                testpaths = t
            """,
            "tox.ini": """
                [testenv]
                deps =
                    -r requirements-test.txt
                    py311: mock
                commands = pytest {posargs}
            """,
            "requirements-test.txt": "pytest==7.1.2\nfreezegun>=1.0\nblack\n",
            "odd_module/__init__.py": "",
            "odd_module/_speedups.c": "",
            "t/test_it.py": "import freezegun\nimport six\nimport odd_module\ndef test_x(): pass\n",
        },
    )
    config = read_config(root)
    # py311: mock is for one tox env only
    assert config.tox_deps == ["pytest==7.1.2", "freezegun>=1.0", "black"]
    assert "tox.ini: factor-conditional dep left out: py311: mock" in config.notes
    proposal = scan_tree(root)
    install = proposal.install_command.value
    # the test requirements file wins over tox's list; pins dropped, linters left out
    assert install == "pip install -e . && pip install pytest 'freezegun>=1.0'"
    assert "freezegun>=1.0: requirements file requirements-test.txt" in (
        proposal.install_command.evidence
    )
    assert proposal.test_command.value == "python -m pytest"
    assert "testpaths = t (setup.cfg [tool:pytest])" in proposal.test_command.evidence
    assert "tox.ini runs: pytest {posargs}" in proposal.test_command.evidence
    assert proposal.import_name.value == "odd_module"
    assert proposal.extension_type.value == "extensions"
    assert proposal.clone_depth.value is None


def test_dependency_groups_noxfile_and_flit_module(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "g",
        {
            "pyproject.toml": """
                [project]
                name = "my-dist"
                [tool.flit.module]
                name = "mydist"
                [dependency-groups]
                base = ["pretend"]
                test = [{include-group = "base"}, "pytest", "tomli-w; python_version >= '3.8'"]
            """,
            "mydist.py": "",
            "noxfile.py": """
                import nox
                @nox.session
                def tests(session):
                    session.install("pytest", "trustme")
                    session.run("pytest", "tests/unit")
            """,
            "tests/unit/test_a.py": "import pretend, trustme\nimport tomli_w\ndef test_a(): pass\n",
        },
    )
    config = read_config(root)
    assert config.groups["test"] == ["pretend", "pytest", "tomli-w; python_version >= '3.8'"]
    assert config.nox_installs == ["pytest", "trustme"]
    proposal = scan_tree(root)
    assert proposal.install_command.value == (
        "pip install -e . && pip install pytest pretend 'tomli-w; python_version >= \"3.8\"'"
        " trustme"
    )
    assert proposal.test_command.value == "python -m pytest tests"
    assert "noxfile.py runs: pytest tests/unit" in proposal.test_command.evidence
    assert proposal.import_name.value == "mydist"


def test_unittest_only_root_test_files_and_no_tests(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "u",
        {
            "PKG-INFO": "Metadata-Version: 2.1\nName: Tiny\nVersion: 1.0\n",
            "tiny.py": "",
            "test_tiny.py": """
                import unittest
                class T(unittest.TestCase):
                    def test_x(self): pass
            """,
        },
    )
    proposal = scan_tree(root)
    assert proposal.test_command.value == "python -m pytest test_tiny.py"
    assert "unittest-style tests, collected by pytest" in proposal.test_command.evidence
    assert proposal.install_command.value == "pip install -e . && pip install pytest"
    empty = scan_tree(tree(tmp_path / "e", {"setup.py": "", "pkg/__init__.py": ""}))
    assert not empty.has_tests and "no test files found" in empty.notes


def test_unparsable_and_deep_test_files_do_not_stop_the_scan(tmp_path: Path) -> None:
    deep = "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
    root = tree(
        tmp_path / "d",
        {"tests/test_py2.py": "print 'old'\n", "tests/test_deep.py": deep, "tests/test_ok.py": ""},
    )
    layout = scan_tests(root)
    assert sorted(layout.unparsable) == ["tests/test_deep.py", "tests/test_py2.py"]
    assert layout.test_files == ["tests/test_ok.py"]


@pytest.mark.parametrize(
    ("module", "dist"),
    [
        ("yaml", "PyYAML"),
        ("yaml.constructor", "PyYAML"),
        ("PIL.Image", "Pillow"),
        ("dateutil.tz", "python-dateutil"),
        ("jaraco.text.layouts", "jaraco.text"),
        ("zope.interface.verify", "zope.interface"),
        ("google.protobuf.message", "protobuf"),
        # not the unrelated `proto` project: google's generated clients import proto-plus
        ("proto", "proto-plus"),
        ("google.oauth2.credentials", "google-auth"),
        # the protos every generated client shares (google-cloud-texttospeech's tests)
        ("google.longrunning.operations_pb2", "googleapis-common-protos"),
        ("google.logging.type.log_severity_pb2", "googleapis-common-protos"),
        ("google.iam.v1.policy_pb2", "grpc-google-iam-v1"),
        # a generated API client comes with its google-cloud-* distribution
        ("google.pubsub_v1.types.pubsub", "google-cloud-pubsub"),
        ("google.bigtable_admin_v2", "google-cloud-bigtable-admin"),
        ("google.cloud.storage.blob", "google-cloud-storage"),
        # OpenTelemetry's namespace: seen in the suites of its own distributions
        ("opentelemetry.sdk.trace", "opentelemetry-sdk"),
        ("opentelemetry.test.globals_test", "opentelemetry-test-utils"),
        ("opentelemetry.semconv.trace", "opentelemetry-semantic-conventions"),
        ("opentelemetry._logs", "opentelemetry-api"),
        ("opentelemetry.instrumentation.requests", "opentelemetry-instrumentation-requests"),
        ("opentelemetry.instrumentation.utils", "opentelemetry-instrumentation"),
        ("opentelemetry.instrumentation._semconv", "opentelemetry-instrumentation"),
        ("opentelemetry.exporter.otlp.proto.grpc", "opentelemetry-exporter-otlp"),
        ("typing_extensions", "typing-extensions"),
        # a module of another project (stack-data's tests import Cython's pyximport)
        ("pyximport", "Cython"),
        ("pytest_mock", "pytest-mock"),
        ("more_itertools", "more-itertools"),
        ("numpy", "numpy"),
        # cattrs' tests: pymongo's bson, not the `bson` project
        ("bson.codec_options", "pymongo"),
        # gRPC: the `grpc` project refuses to build and names grpcio
        ("grpc.aio", "grpcio"),
        ("grpc_status.rpc_status", "grpcio-status"),
        # google-cloud-core's modules, and a versioned API under google.cloud
        ("google.cloud._helpers", "google-cloud-core"),
        ("google.cloud.exceptions", "google-cloud-core"),
        ("google.cloud.datacatalog_v1", "google-cloud-datacatalog"),
        ("stdnum.iso7064", "python-stdnum"),
    ],
)
def test_import_names_map_to_distributions(module: str, dist: str) -> None:
    assert distribution_for(module) == dist


def test_stdlib_includes_other_versions_modules() -> None:
    assert is_stdlib("annotationlib") and is_stdlib("distutils.core") and is_stdlib("tomllib")
    assert not is_stdlib("yaml")


def test_real_sdist_archives(tmp_path: Path) -> None:
    result = scan(str(SDISTS / "iniconfig-2.3.1.tar.gz"), tmp_path / "work")
    assert result.target.from_sdist and result.target.version == "2.3.1"
    proposal = result.proposal
    assert proposal.package == "iniconfig" and proposal.has_tests
    # testpaths names the folder; the dev group brings xdist, which the command disables
    assert proposal.test_command.value == "python -m pytest -p no:xdist"
    assert proposal.install_command.value == (
        "pip install -e . && pip install pytest 'pytest-xdist>=3.8'"
    )
    assert proposal.uses_xdist.value is True
    assert proposal.clone_depth.value == 50  # [tool.setuptools_scm]
    six = scan(str(SDISTS / "six-1.17.0.tar.gz"), tmp_path / "work").proposal
    assert six.test_command.value == "python -m pytest test_six.py"
    assert six.import_name.value is None


def _registry(root: Path, files: dict[str, str] | None = None) -> Path:
    (root / "packages").mkdir(parents=True)
    (root / "index.yaml").write_text("last_updated: '2026-01-01T00:00:00'\npackages: []\n")
    for name, text in (files or {}).items():
        (root / "packages" / name).write_text(text)
    return root


def test_write_fills_a_skeleton_and_refuses_an_enriched_entry(tmp_path: Path) -> None:
    skeleton = (
        "package: iniconfig\nrepo: https://github.com/pytest-dev/iniconfig\n"
        "pypi_url: https://pypi.org/project/iniconfig/\nextension_type: pure\n"
        "install_command: ''\ntest_command: ''\nenriched: false\n"
    )
    registry = _registry(tmp_path / "reg", {"iniconfig.yaml": skeleton})
    result = scan(str(SDISTS / "iniconfig-2.3.1.tar.gz"), tmp_path / "work")
    written = write_scan(registry, result)
    assert written.changed and not written.created
    text = written.path.read_text()
    assert text.startswith("package: iniconfig\nrepo: https://github.com/pytest-dev/iniconfig\n")
    entry = load_registry(registry, use_cache=False).entries["iniconfig"]
    assert entry.test_command == "python -m pytest -p no:xdist"
    assert entry.clone_depth == 50 and entry.enriched is False
    assert entry.field_value("sdist_has_tests") is True
    assert "Scanned" in entry.notes
    # now enriched: refused, then overwritten with --force
    write_scan(registry, result, force=True, mark_enriched=True)
    with pytest.raises(EnrichError, match="enriched; pass --force"):
        write_scan(registry, result)
    # a package missing from the registry gets a new file and an index entry
    six = scan(str(SDISTS / "six-1.17.0.tar.gz"), tmp_path / "work")
    assert write_scan(registry, six).created
    loaded = load_registry(registry, use_cache=False)
    assert {i.name for i in loaded.index} == {"iniconfig", "six"}
    assert loaded.problems == []


def test_scan_command_text_json_and_errors(tmp_path: Path) -> None:
    archive = str(SDISTS / "six-1.17.0.tar.gz")
    work = str(tmp_path / "work")
    done = run_apiary("enrich", "scan", archive, "--work-dir", work, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "test_command: python -m pytest test_six.py" in done.stdout
    assert "    - test files test_six.py" in done.stdout
    shown = run_apiary(
        "enrich", "scan", archive, "--format", "json", "--work-dir", work, cwd=tmp_path
    )
    payload = json.loads(shown.stdout)
    assert payload["fields"]["test_command"]["value"] == "python -m pytest test_six.py"
    assert payload["source"]["from_sdist"] is True
    registry = _registry(tmp_path / "reg")
    args = ("--write", "--registry-dir", str(registry), "--work-dir", work)
    first = run_apiary("enrich", "scan", archive, "--mark-enriched", *args, cwd=tmp_path)
    assert first.returncode == 0 and "created" in first.stderr
    again = run_apiary("enrich", "scan", archive, *args, cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines()[-1].endswith("pass --force to overwrite it")
    assert "Traceback" not in again.stderr
    missing = run_apiary("enrich", "scan", str(tmp_path / "nope.tar.gz"), cwd=tmp_path)
    assert missing.returncode == 2 and "no such folder or archive" in missing.stderr


def test_test_files_pytest_would_not_collect_are_named(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "n",
        {
            "pyproject.toml": """
                [project]
                name = "odd"
                [tool.pytest.ini_options]
                testpaths = ["tests"]
            """,
            "src/odd/__init__.py": "",
            "tests/test.py": "def test_a(): pass\n",
            "tests/samples/sample_a.py": "import never_installed\n",
        },
    )
    proposal = scan_tree(root)
    assert proposal.test_command.value == "python -m pytest tests/test.py"
    assert "never-installed" not in proposal.install_command.value


def test_own_fixtures_and_python2_imports_are_not_dependencies(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "f",
        {
            "setup.py": "",
            "own/__init__.py": "",
            "tests/conftest.py": "import pytest\n@pytest.fixture\ndef benchmark():\n    yield\n",
            "tests/test_a.py": """
                import sys
                if sys.version_info[0] == 2:
                    import urllib2, StringIO
                def test_a(benchmark, mocker):
                    import module_the_test_writes
            """,
        },
    )
    install = scan_tree(root).install_command.value
    assert install == "pip install -e . && pip install pytest pytest-mock"


def test_other_parts_of_the_tree_s_namespace_are_installed(tmp_path: Path) -> None:
    """The tree has opentelemetry/sdk; its tests also import opentelemetry.test, another
    distribution of the same namespace (opentelemetry-sdk's suite does)."""
    root = tree(
        tmp_path / "o",
        {
            "pyproject.toml": '[project]\nname = "opentelemetry-sdk"\nversion = "1"\n',
            "src/opentelemetry/sdk/__init__.py": "",
            "src/opentelemetry/sdk/trace/__init__.py": "",
            "tests/test_x.py": (
                "from opentelemetry.sdk.trace import x\n"
                "from opentelemetry.test.globals_test import reset\n"
                "def test_x(): pass\n"
            ),
        },
    )
    install = scan_tree(root).install_command.value
    assert install == "pip install -e . && pip install pytest opentelemetry-test-utils"


def test_namespace_packages_are_imported_with_their_dots(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "z",
        {
            "setup.py": "",
            "PKG-INFO": "Metadata-Version: 2.1\nName: zope.thing\nVersion: 1\n",
            "src/zope/thing/__init__.py": "",
            "src/zope/thing/tests/test_x.py": "def test_x(): pass\n",
        },
    )
    proposal = scan_tree(root)
    assert proposal.import_name.value == "zope.thing"
    assert proposal.test_command.value == "python -m pytest src/zope/thing/tests"


@pytest.mark.parametrize(
    ("name", "files", "expected"),
    [
        # a dash where the import has a dot: a namespace package under src/
        ("backports-zstd", {"src/backports/zstd/__init__.py": ""}, "backports.zstd"),
        ("azure-core", {"azure/__init__.py": "", "azure/core/__init__.py": ""}, "azure.core"),
        # the rest of the name joined under the deepest namespace folder
        (
            "google-resumable-media",
            {"google/resumable_media/__init__.py": ""},
            "google.resumable_media",
        ),
        (
            "google-cloud-os-login",
            {"google/cloud/oslogin/__init__.py": "", "google/cloud/oslogin_v1/__init__.py": ""},
            "google.cloud.oslogin",
        ),
        (
            "google-cloud-core",
            {"google/cloud/client.py": "", "google/api_core/x.py": ""},
            "google.cloud",
        ),
        # setuptools listed a namespace folder (no __init__.py) as the top-level name
        (
            "googleapis-common-protos",
            {
                "googleapis_common_protos.egg-info/top_level.txt": "google\n",
                "google/api/http_pb2.py": "",
                "setup.py": "",
            },
            "google",
        ),
        # in a folder setuptools is told to look in
        (
            "backports-zstd",
            {
                "pyproject.toml": '[tool.setuptools.packages.find]\nwhere = ["src/python"]\n',
                "src/python/backports/zstd/__init__.py": "",
            },
            "backports.zstd",
        ),
        # ... or, in setup.cfg, [options.packages.find] where
        (
            "jaraco-demo",
            {
                "setup.cfg": "[options]\npackages = find_namespace:\n"
                "[options.packages.find]\nwhere = lib\n",
                "lib/jaraco/demo/__init__.py": "",
            },
            "jaraco.demo",
        ),
        # a folder outside the tree is never looked in
        (
            "jaraco-demo",
            {"setup.cfg": "[options.packages.find]\nwhere = ../lib\n", "x/__init__.py": ""},
            "x",
        ),
        # the name's module with a leading underscore
        (
            "argon2-cffi-bindings",
            {"src/_argon2_cffi_bindings/__init__.py": ""},
            "_argon2_cffi_bindings",
        ),
        ("speedups", {"_speedups.py": "", "setup.py": ""}, "_speedups"),
        # setuptools' record of the top-level names: the largest package listed
        (
            "google-api-python-client",
            {
                "google_api_python_client.egg-info/top_level.txt": "apiclient\ngoogleapiclient\n",
                "apiclient/__init__.py": "",
                "googleapiclient/__init__.py": "",
                "googleapiclient/discovery.py": "",
                "setup.py": "",
            },
            "googleapiclient",
        ),
        # ... unless the plain name is listed too
        (
            "demo",
            {
                "src/demo.egg-info/top_level.txt": "demo\nextra\n",
                "src/demo/__init__.py": "",
                "src/extra/__init__.py": "",
                "src/extra/more.py": "",
            },
            None,
        ),
        # the plain module wins; a dash with no such folder is no namespace
        ("demo-lib", {"demo_lib/__init__.py": "", "_demo_lib.py": ""}, None),
        ("flask-cors", {"flask_cors/__init__.py": ""}, None),
    ],
)
def test_import_names_the_project_name_does_not_spell(
    tmp_path: Path, name: str, files: dict[str, str], expected: str | None
) -> None:
    root = tree(
        tmp_path / "p",
        {
            "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1\n",
            "tests/test_x.py": "def test_x(): pass\n",
            **files,
        },
    )
    assert scan_tree(root).import_name.value == expected


def test_a_meson_python_project_is_installed_as_a_wheel_and_tested_as_installed(
    tmp_path: Path,
) -> None:
    root = tree(
        tmp_path / "m",
        {
            "pyproject.toml": '[build-system]\nrequires = ["meson-python"]\n'
            'build-backend = "mesonpy"\n[project]\nname = "mesondemo"\n',
            "mesondemo/__init__.py": "",
            "tests/test_x.py": "def test_x(): pass\n",
        },
    )
    proposal = scan_tree(root)
    assert proposal.install_command.value == "pip install . && pip install pytest"
    assert proposal.test_command.value == (
        "PYTHONSAFEPATH=1 python -m pytest tests --import-mode=append"
    )
    assert "mesonpy rebuilds an editable install on import" in proposal.install_command.evidence[0]


def test_plugin_options_given_as_one_item_of_a_toml_list(tmp_path: Path) -> None:
    """psutil's addopts: "-p instafail" and "-p no:doctest" as single list items."""
    root = tree(
        tmp_path / "p",
        {
            "pyproject.toml": (
                '[project]\nname = "demo"\nversion = "1"\n'
                "[tool.pytest.ini_options]\n"
                'addopts = ["-p instafail", "-p no:doctest", "-p  no:nose"]\n'
            ),
            "demo/__init__.py": "",
            "tests/test_x.py": "def test_x(): pass\n",
        },
    )
    install = scan_tree(root).install_command.value
    assert install == "pip install -e . && pip install pytest pytest-instafail"


def test_files_outside_the_tree_are_never_read(tmp_path: Path) -> None:
    """A repository can hold links to any host path, and its requirements files and
    noxfile can name one: scan reads only the package's own files."""
    host = tmp_path / "host"
    host.mkdir()
    secrets = {
        "tokens.txt": "linked-secret-token\n",
        "tox-reqs.txt": "tox-secret-token\n",
        "nox-reqs.txt": "nox-secret-token\n",
        "setup.cfg": "[options]\ninstall_requires =\n    cfg-secret-token\n",
        "PKG-INFO": "Metadata-Version: 2.1\nName: x\nVersion: 9.9.secret\n",
    }
    for name, text in secrets.items():
        (host / name).write_text(text)
    root = tree(
        tmp_path / "tree",
        {
            "setup.py": "from setuptools import setup\nsetup()\n",
            "tox.ini": """
                [testenv]
                deps =
                    -r ../host/tox-reqs.txt
                    pytest
                commands = pytest
            """,
            "noxfile.py": f"""
                import nox
                @nox.session
                def tests(session):
                    session.install("-r", {str(host / "nox-reqs.txt")!r})
                    session.run("pytest")
            """,
            "pkg/__init__.py": "",
            "tests/test_it.py": "import pkg\ndef test_x(): pass\n",
        },
    )
    (root / "requirements-test.txt").symlink_to(host / "tokens.txt")
    (root / "setup.cfg").symlink_to(host / "setup.cfg")
    (root / "PKG-INFO").symlink_to(host / "PKG-INFO")
    config = read_config(root)
    proposal = scan_tree(root)
    seen = repr(config) + repr(proposal)
    assert "secret" not in seen
    assert "pytest" in proposal.install_command.value
    assert any(
        n.startswith("setup.cfg: unreadable") and "outside the package's tree" in n
        for n in config.notes
    )
