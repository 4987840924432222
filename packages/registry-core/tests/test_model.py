from __future__ import annotations

import pytest
from pydantic import ValidationError
from registry_core import PackageEntry
from registry_core.model import FIELD_ORDER, IndexEntry, index_entry_for


def test_every_format_field_with_its_default() -> None:
    entry = PackageEntry(package="demo")
    assert tuple(PackageEntry.model_fields) == FIELD_ORDER
    assert entry.model_dump() == {
        "package": "demo",
        "repo": None,
        "pypi_url": "",
        "extension_type": "unknown",
        "python_versions": [],
        "install_method": "pip",
        "install_command": "pip install -e .",
        "test_command": "python -m pytest",
        "test_framework": "pytest",
        "uses_xdist": False,
        "timeout": None,
        "skip": False,
        "skip_reason": None,
        "skip_versions": {},
        "notes": "",
        "enriched": False,
        "clone_depth": None,
        "import_name": None,
    }


@pytest.mark.parametrize(
    ("extension_type", "compiled"),
    [
        ("pure", False),
        ("unknown", False),
        ("", False),
        ("extensions", True),
        ("c_extension", True),
        ("rust", True),
        ("cpp_extension", True),
        ("Pure", False),
    ],
)
def test_has_compiled_code(extension_type: str, compiled: bool) -> None:
    entry = PackageEntry(package="x", extension_type=extension_type)
    assert entry.has_compiled_code is compiled


@pytest.mark.parametrize(
    ("package", "import_name", "effective"),
    [
        ("six", None, "six"),
        ("more-itertools", None, "more_itertools"),
        ("zope.interface", None, "zope_interface"),
        ("PyYAML", None, "pyyaml"),
        ("python-dateutil", "dateutil", "dateutil"),
        ("absl-py", "", "absl_py"),
    ],
)
def test_effective_import_name(package: str, import_name: str | None, effective: str) -> None:
    assert PackageEntry(package=package, import_name=import_name).effective_import_name == effective


@pytest.mark.parametrize(
    "data",
    [
        {"skip_versions": None},
        {"python_versions": None},
        {"notes": None},
        {"pypi_url": None},
        {"test_command": None, "install_command": None},
        {"test_command": "", "install_command": ""},
        {"test_framework": "stestr"},
        {"test_framework": "nose2"},
        {"extension_type": "rust"},
        {"clone_depth": 0},
        {"clone_depth": 50},
        {"timeout": 3600},
        {"skip_versions": {"3.15": "numpy does not build"}},
    ],
)
def test_values_seen_in_the_wild_are_accepted(data: dict[str, object]) -> None:
    entry = PackageEntry.model_validate({"package": "x", **data})
    assert entry.skip_versions is not None and entry.python_versions is not None
    assert isinstance(entry.notes, str)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"timeout": "300"}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"uses_xdist": "yes"}, "uses_xdist"),
        ({"skip": 1}, "skip"),
        ({"enriched": None}, "enriched"),
        ({"python_versions": [3.14]}, "python_versions"),
        ({"python_versions": ["3.x"]}, "python_versions"),
        ({"skip_versions": {"3.15": 1}}, "skip_versions"),
        ({"skip_versions": ["3.15"]}, "skip_versions"),
        ({"skip_versions": {"three": "x"}}, "skip_versions"),
        ({"repo": 5}, "repo"),
        ({"package": "bad name"}, "package"),
        ({"clone_depth": 1.5}, "clone_depth"),
    ],
)
def test_wrong_types_are_refused(data: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PackageEntry.model_validate({"package": "x", **data})
    assert caught.value.errors()[0]["loc"][0] == field


def test_unknown_fields_are_kept() -> None:
    entry = PackageEntry.model_validate({"package": "x", "maintainer": "me", "tags": ["a"]})
    assert entry.unknown_fields == {"maintainer": "me", "tags": ["a"]}
    assert entry.model_dump()["maintainer"] == "me"
    assert entry.field_value("tags") == ["a"]
    assert entry.field_value("absent") is None


def test_skip_reason_for_a_version() -> None:
    entry = PackageEntry(package="x", skip_versions={"3.15": "numpy"})
    assert entry.skip_reason_for("3.15") == "numpy"
    assert entry.skip_reason_for("3.14") is None
    assert PackageEntry(package="x", skip=True).skip_reason_for("3.14") == "skipped"


def test_index_entry_summarises_compiled_kinds_as_extensions() -> None:
    entry = PackageEntry(
        package="bcrypt", extension_type="rust", enriched=True, skip_versions={"3.15": "a"}
    )
    item = index_entry_for(entry, 10)
    assert item == IndexEntry(
        name="bcrypt",
        download_count=10,
        extension_type="extensions",
        enriched=True,
        skip=False,
        skip_versions_keys=["3.15"],
    )
