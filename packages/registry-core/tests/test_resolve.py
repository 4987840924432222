from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from registry_core import ResolveError, load_registry
from registry_core.pypi import PyPISettings, classify_files, forge_root, repository_url
from registry_core.resolve import ResolveRequest, read_requests, resolve_packages

DATA = Path(__file__).parent / "data" / "pypi"


def _settings(fake_pypi: Any) -> PyPISettings:
    return PyPISettings(base_url=fake_pypi.url, timeout=10, retries=0)


def _requests(*names: str) -> list[ResolveRequest]:
    return [ResolveRequest(name) for name in names]


def test_a_new_skeleton_is_the_reference_tools_with_default_commands(
    fake_pypi: Any, empty_registry: Path, sample_source: Path
) -> None:
    report = resolve_packages(empty_registry, _requests("a2a-sdk"), _settings(fake_pypi))
    assert [str(o) for o in report.outcomes] == [
        "created a2a-sdk: pure, https://github.com/a2aproject/a2a-python"
    ]
    written = (empty_registry / "packages" / "a2a-sdk.yaml").read_text()
    reference = (sample_source / "packages" / "a2a-sdk.yaml").read_text()
    # the same file, but with the format's default commands where the reference tool
    # leaves them empty
    assert written == reference.replace(
        "install_command: ''", "install_command: pip install -e ."
    ).replace("test_command: ''", "test_command: python -m pytest")


@pytest.mark.parametrize(
    ("name", "extension_type", "repo"),
    [
        ("six", "pure", "https://github.com/benjaminp/six"),
        ("click", "pure", "https://github.com/pallets/click/"),
        ("greenlet", "extensions", "https://github.com/python-greenlet/greenlet"),
        ("ruff", "extensions", "https://github.com/astral-sh/ruff"),
        ("bcrypt", "extensions", "https://github.com/pyca/bcrypt/"),
        ("docopt", "unknown", None),
    ],
)
def test_captured_projects(
    fake_pypi: Any, empty_registry: Path, name: str, extension_type: str, repo: str | None
) -> None:
    report = resolve_packages(empty_registry, _requests(name), _settings(fake_pypi))
    assert report.failed == []
    entry = load_registry(empty_registry).entries[name]
    assert (entry.extension_type, entry.repo) == (extension_type, repo)
    assert not entry.enriched
    assert (entry.install_command, entry.test_command) == ("pip install -e .", "python -m pytest")


def test_an_enriched_file_is_never_touched_nor_asked_about(fake_pypi: Any, sample: Path) -> None:
    before = (sample / "packages" / "six.yaml").read_bytes()
    report = resolve_packages(sample, _requests("six"), _settings(fake_pypi))
    assert [o.action for o in report.outcomes] == ["skipped-enriched"]
    assert (sample / "packages" / "six.yaml").read_bytes() == before
    assert fake_pypi.requests == []


def test_an_unenriched_file_is_updated_line_by_line(fake_pypi: Any, sample: Path) -> None:
    path = sample / "packages" / "a2a-sdk.yaml"
    text = path.read_text().replace(
        "repo: https://github.com/a2aproject/a2a-python", "repo: https://example.org/old"
    )
    path.write_text("# hand-written note\n" + text)
    report = resolve_packages(sample, _requests("a2a-sdk"), _settings(fake_pypi))
    assert [o.action for o in report.outcomes] == ["updated"]
    assert path.read_text() == "# hand-written note\n" + text.replace(
        "https://example.org/old", "https://github.com/a2aproject/a2a-python"
    )
    again = resolve_packages(sample, _requests("a2a-sdk"), _settings(fake_pypi))
    assert [o.action for o in again.outcomes] == ["unchanged"]


def test_a_precise_compiled_kind_is_kept(fake_pypi: Any, empty_registry: Path) -> None:
    path = empty_registry / "packages" / "greenlet.yaml"
    path.write_text("package: greenlet\nextension_type: c_extension\n")
    resolve_packages(empty_registry, _requests("greenlet"), _settings(fake_pypi))
    assert load_registry(empty_registry).entries["greenlet"].extension_type == "c_extension"


def test_one_failure_never_stops_the_others(fake_pypi: Any, empty_registry: Path) -> None:
    names = ("no-such-project", "server-error", "not-json", "no-info", "bad name", "six")
    report = resolve_packages(empty_registry, _requests(*names), _settings(fake_pypi), workers=3)
    outcomes = {o.name: o for o in report.outcomes}
    assert outcomes["six"].action == "created"
    messages = {o.name: o.message for o in report.failed}
    assert messages["no-such-project"].startswith("not found on PyPI")
    assert messages["server-error"].startswith("PyPI answered HTTP 503")
    assert messages["not-json"].startswith("PyPI sent a document that is not JSON")
    assert messages["no-info"].startswith("PyPI sent JSON without an info object")
    assert messages["bad name"] == "not a valid PyPI project name"
    assert all("\n" not in str(o) for o in report.outcomes)
    assert sorted(p.name for p in (empty_registry / "packages").iterdir()) == ["six.yaml"]
    assert [i.name for i in load_registry(empty_registry).index] == ["six"]


def test_an_unreachable_pypi_is_reported_per_package(empty_registry: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = PyPISettings(
        base_url=f"http://127.0.0.1:{port}/pypi", timeout=5, retries=1, backoff=0.01
    )
    report = resolve_packages(empty_registry, _requests("six", "click"), settings)
    assert [o.action for o in report.outcomes] == ["failed", "failed"]
    assert report.outcomes[0].message.startswith(f"cannot reach PyPI at http://127.0.0.1:{port}")


def test_download_counts_from_a_top_packages_dump_order_the_index(
    fake_pypi: Any, empty_registry: Path, tmp_path: Path
) -> None:
    dump = tmp_path / "top.json"
    dump.write_text(
        json.dumps(
            {
                "rows": [
                    {"project": "click", "download_count": 10},
                    {"project": "Six", "download_count": 20},
                    {"project": "docopt"},
                ]
            }
        )
    )
    report = resolve_packages(empty_registry, read_requests(dump), _settings(fake_pypi))
    assert [o.name for o in report.outcomes] == ["click", "six", "docopt"]
    index = yaml.safe_load((empty_registry / "index.yaml").read_text())
    assert [(p["name"], p["download_count"]) for p in index["packages"]] == [
        ("six", 20),
        ("click", 10),
        ("docopt", None),
    ]


def test_dry_run_writes_nothing(fake_pypi: Any, empty_registry: Path) -> None:
    report = resolve_packages(empty_registry, _requests("six"), _settings(fake_pypi), dry_run=True)
    assert [o.action for o in report.outcomes] == ["created"]
    # what it says tells that nothing was written
    assert str(report.outcomes[0]).startswith("would create six")
    assert list((empty_registry / "packages").iterdir()) == []
    assert not (empty_registry / "index.yaml").exists()


def test_read_requests(tmp_path: Path) -> None:
    text = tmp_path / "names.txt"
    text.write_text("# top projects\nsix\n\nclick  # the CLI one\n")
    assert read_requests(text) == _requests("six", "click")
    listed = tmp_path / "names.json"
    listed.write_text('["six", {"name": "click", "download_count": 3}]')
    assert read_requests(listed) == [ResolveRequest("six"), ResolveRequest("click", 3)]
    for content, message in [
        ("{not json", "not valid JSON"),
        ('{"rows": 3}', "expected a list"),
        ("[3]", "cannot read the entry 3"),
    ]:
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        with pytest.raises(ResolveError, match=message):
            read_requests(bad)
    with pytest.raises(ResolveError, match="cannot read"):
        read_requests(tmp_path / "missing.txt")


def test_base_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIARY_PYPI_URL", "http://127.0.0.1:9/mirror/")
    assert PyPISettings.from_env().project_url("six") == "http://127.0.0.1:9/mirror/pypi/six/json"
    assert (
        PyPISettings.from_env().project_url("six", "1.0")
        == "http://127.0.0.1:9/mirror/pypi/six/1.0/json"
    )
    monkeypatch.setenv("APIARY_PYPI_URL", "ftp://example.org")
    with pytest.raises(ResolveError, match=r"^APIARY_PYPI_URL='ftp://example\.org': expected"):
        PyPISettings.from_env()
    monkeypatch.delenv("APIARY_PYPI_URL")
    assert PyPISettings.from_env().base_url == "https://pypi.org"


@pytest.mark.parametrize(
    ("files", "kind"),
    [
        ([], "unknown"),
        ([{"filename": "x-1.0.tar.gz"}], "unknown"),
        ([{"filename": "x-1.0-py3-none-any.whl"}, {"filename": "x-1.0.tar.gz"}], "pure"),
        ([{"filename": "x-1.0-py2.py3-none-any.whl"}], "pure"),
        (
            [{"filename": "x-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"}],
            "extensions",
        ),
        ([{"filename": "x-1.0-py3-none-musllinux_1_2_x86_64.whl"}], "extensions"),
        (
            [{"filename": "x-1.0-cp38-abi3-win_amd64.whl"}, {"filename": "x-1.0-py3-none-any.whl"}],
            "extensions",
        ),
        ([{"filename": "x-1.0-cp311-cp311-macosx_11_0_arm64.whl"}], "extensions"),
        ("not a list", "unknown"),
        ([None, {"filename": 5}], "unknown"),
    ],
)
def test_classification_from_wheel_tags(files: Any, kind: str) -> None:
    assert classify_files(files) == kind


@pytest.mark.parametrize(
    ("info", "repo"),
    [
        ({"project_urls": {"Source": "https://git.example.org/x"}}, "https://git.example.org/x"),
        (
            {"project_urls": {"Homepage": "https://x.org", "Repository": "https://github.com/o/x"}},
            "https://github.com/o/x",
        ),
        ({"project_urls": {"Homepage": "https://gitlab.com/o/x"}}, "https://gitlab.com/o/x"),
        (
            {"project_urls": {"Bug Tracker": "https://github.com/o/x/issues"}},
            "https://github.com/o/x",
        ),
        ({"project_urls": {"Docs": "https://codeberg.org/o/x.git"}}, "https://codeberg.org/o/x"),
        (
            {"home_page": "https://github.com/o/x/tree/main", "project_urls": None},
            "https://github.com/o/x",
        ),
        ({"home_page": "https://x.org", "download_url": "UNKNOWN"}, None),
        ({"project_urls": {"Sponsor": "https://github.com/sponsors/someone"}}, None),
        ({"project_urls": "garbage"}, None),
    ],
)
def test_repository_url(info: dict[str, Any], repo: str | None) -> None:
    assert repository_url({"info": info}) == repo


def test_forge_root() -> None:
    assert forge_root("https://GitHub.com/Owner/Repo.git") == "https://github.com/Owner/Repo"
    assert forge_root("https://example.org/a/b") is None


@pytest.mark.network
@pytest.mark.skipif(
    os.environ.get("APIARY_NETWORK_TESTS") != "1", reason="set APIARY_NETWORK_TESTS=1"
)
def test_resolve_against_the_real_pypi(empty_registry: Path) -> None:
    report = resolve_packages(empty_registry, _requests("six", "greenlet"), PyPISettings())
    assert report.failed == []
    entries = load_registry(empty_registry).entries
    assert entries["six"].extension_type == "pure"
    assert entries["six"].repo == "https://github.com/benjaminp/six"
    assert entries["greenlet"].has_compiled_code
