from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from registry_core import EditError, load_registry
from registry_core.document import Document
from registry_core.edits import (
    entry_changes,
    parse_value,
    plan_add_field,
    plan_remove_field,
    plan_rename_field,
    plan_set_field,
    render_entry,
    save_entry,
)
from registry_core.model import PackageEntry


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "packages").glob("*.yaml"))}


def _changed_lines(before: bytes, after: bytes) -> list[str]:
    """The removed then added lines, as ``- text`` / ``+ text``."""
    diff = difflib.unified_diff(before.decode().splitlines(True), after.decode().splitlines(True))
    return [
        f"{line[0]} {line[1:]}"
        for line in diff
        if line[:1] in "+-" and not line.startswith(("---", "+++"))
    ]


def test_saving_every_unchanged_sample_entry_changes_no_byte(sample: Path) -> None:
    before = _snapshot(sample)
    loaded = load_registry(sample)
    for name, entry in loaded.entries.items():
        assert entry_changes(loaded.files[name], entry) is None
        assert save_entry(loaded.files[name], entry) is False
    assert _snapshot(sample) == before


def test_saving_a_copy_with_one_change_changes_one_line(sample: Path) -> None:
    loaded = load_registry(sample)
    entry = loaded.entries["click"].model_copy(update={"timeout": 900})
    before = loaded.files["click"].read_bytes()
    assert save_entry(loaded.files["click"], entry)
    after = loaded.files["click"].read_bytes()
    assert _changed_lines(before, after) == ["- timeout: null\n", "+ timeout: 900\n"]
    assert load_registry(sample).entries["click"].timeout == 900


def test_set_field_on_one_package_changes_exactly_one_line_of_one_file(sample: Path) -> None:
    before = _snapshot(sample)
    plan = plan_set_field(load_registry(sample), "timeout", 900, packages=["six"])
    assert [c.path.name for c in plan.changes] == ["six.yaml"] and plan.refused == []
    assert plan.diff().count("\n-timeout: null") == 1
    plan.apply()
    after = _snapshot(sample)
    assert [name for name in before if before[name] != after[name]] == ["six.yaml"]
    assert _changed_lines(before["six.yaml"], after["six.yaml"]) == [
        "- timeout: null\n",
        "+ timeout: 900\n",
    ]


def test_set_field_replaces_a_folded_value_and_only_its_lines(sample: Path) -> None:
    path = sample / "packages" / "attrs.yaml"
    before = path.read_bytes()
    plan_set_field(load_registry(sample), "notes", "short", packages=["attrs"]).apply()
    assert _changed_lines(before, path.read_bytes()) == [
        "- notes: Uses xdist (-n auto) by default, disabled for JIT testing. Uses hypothesis\n",
        "-   for property-based testing. Hatchling build backend.\n",
        "+ notes: short\n",
    ]


def test_a_long_value_is_folded_like_the_reference_emitter(sample: Path) -> None:
    notes = "word " * 30
    plan_set_field(load_registry(sample), "notes", notes.strip(), packages=["six"]).apply()
    text = (sample / "packages" / "six.yaml").read_text()
    assert "\n  word" in text  # folded over two lines, as yaml.dump does
    assert load_registry(sample).entries["six"].notes == notes.strip()


def test_set_field_adds_a_missing_field_at_its_place_in_the_field_order(sample: Path) -> None:
    path = sample / "packages" / "six.yaml"  # has no skip_versions, clone_depth, import_name
    before = path.read_bytes()
    plan_set_field(load_registry(sample), "skip_versions", {"3.15": "x"}, packages=["six"]).apply()
    lines = path.read_text().splitlines()
    assert lines[lines.index("skip_reason: null") + 1 : lines.index("skip_reason: null") + 3] == [
        "skip_versions:",
        "  '3.15': x",
    ]
    assert _changed_lines(before, path.read_bytes()) == ["+ skip_versions:\n", "+   '3.15': x\n"]


def test_where_selects_files_and_already_set_files_are_left_alone(sample: Path) -> None:
    loaded = load_registry(sample)
    plan = plan_set_field(loaded, "clone_depth", 50, where=["extension_type=pure"])
    pure = {n for n, e in loaded.entries.items() if e.extension_type == "pure"}
    assert {c.path.stem for c in plan.changes} == pure - {"setuptools-scm"}
    assert plan.unchanged == 1  # setuptools-scm already says 50


def test_add_field_only_where_missing(sample: Path) -> None:
    loaded = load_registry(sample)
    missing = {n for n, e in loaded.entries.items() if "import_name" not in e.model_fields_set}
    plan = plan_add_field(loaded, "import_name", None)
    assert {c.path.stem for c in plan.changes} == missing
    for change in plan.changes:
        assert _changed_lines(change.before.encode(), change.after.encode()) == [
            "+ import_name: null\n"
        ]
    assert plan.unchanged == len(loaded.entries) - len(missing)


def test_remove_and_rename(sample: Path) -> None:
    loaded = load_registry(sample)
    plan = plan_remove_field(loaded, "python_versions", packages=["click", "ruff"])
    assert [c.path.stem for c in plan.changes] == ["click", "ruff"]
    assert _changed_lines(plan.changes[0].before.encode(), plan.changes[0].after.encode()) == [
        "- python_versions:\n",
        "- - '3.15'\n",
        "- - '3.14'\n",
    ]
    plan = plan_rename_field(loaded, "notes", "remarks", packages=["ruff"])
    plan.apply()
    reloaded = load_registry(sample)
    assert reloaded.entries["ruff"].notes == "" and reloaded.entries["ruff"].unknown_fields == {
        "remarks": "Rust binary."
    }


def test_rename_refuses_a_file_that_has_both(sample: Path) -> None:
    loaded = load_registry(sample)
    plan = plan_rename_field(loaded, "skip_reason", "notes", packages=["six", "ruff"])
    assert plan.changes == []
    assert len(plan.refused) == 2 and "field 'notes' already exists" in plan.refused[0]


def test_an_edit_that_would_break_the_file_is_refused(sample: Path) -> None:
    before = _snapshot(sample)
    plan = plan_set_field(load_registry(sample), "timeout", "soon", packages=["six", "click"])
    assert plan.changes == []
    assert [r.split(":")[0] for r in plan.refused] == [
        str(sample / "packages" / "six.yaml"),
        str(sample / "packages" / "click.yaml"),
    ]
    assert "timeout: Input should be a valid integer, got a string 'soon'" in plan.refused[0]
    assert _snapshot(sample) == before


def test_package_field_cannot_be_edited(sample: Path) -> None:
    loaded = load_registry(sample)
    makers: list[Callable[[], object]] = [
        lambda: plan_set_field(loaded, "package", "x"),
        lambda: plan_remove_field(loaded, "package"),
        lambda: plan_rename_field(loaded, "package", "name"),
    ]
    for make in makers:
        with pytest.raises(EditError, match="rename the file"):
            make()
    with pytest.raises(EditError, match="not a field name"):
        plan_set_field(loaded, "bad-name", 1)


def test_a_file_with_problems_can_be_repaired_by_naming_it(sample: Path) -> None:
    path = sample / "packages" / "six.yaml"
    path.write_text(path.read_text().replace("timeout: null", "timeout: later"))
    loaded = load_registry(sample)
    assert "six" not in loaded.entries
    plan_set_field(loaded, "timeout", 60, packages=["six"]).apply()
    assert load_registry(sample).entries["six"].timeout == 60


def test_apply_refuses_a_file_changed_since_the_plan(sample: Path) -> None:
    plan = plan_set_field(load_registry(sample), "timeout", 5, packages=["six"])
    path = sample / "packages" / "six.yaml"
    path.write_text(path.read_text() + "# edited meanwhile\n")
    with pytest.raises(EditError, match="changed on disk"):
        plan.apply()


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("notes", "yes", "yes"),
        ("notes", "", ""),
        ("install_command", "pip install -e '.[test]'", "pip install -e '.[test]'"),
        ("test_command", "null", None),
        ("repo", "~", None),
        ("timeout", "300", 300),
        ("timeout", "null", None),
        ("skip", "true", True),
        ("python_versions", "['3.14', '3.15']", ["3.14", "3.15"]),
        ("skip_versions", "{'3.15': numpy}", {"3.15": "numpy"}),
        ("custom_field", "[1, 2]", [1, 2]),
    ],
)
def test_parse_value(name: str, text: str, value: object) -> None:
    assert parse_value(name, text) == value


def test_parse_value_rejects_broken_yaml() -> None:
    with pytest.raises(EditError, match="cannot read"):
        parse_value("skip_versions", "{unclosed")


# --- the document editor on odd layouts ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "operation", "expected"),
    [
        ("a: 1\r\nb: 2\r\n", ("set", "b", 3), "a: 1\r\nb: 3\r\n"),
        ("a: 1\r\nb: 2\r\n", ("set", "c", 3), "a: 1\r\nb: 2\r\nc: 3\r\n"),
        ("a: 1\nb: 2", ("set", "b", 3), "a: 1\nb: 3"),
        ("a: 1\nb: 2", ("set", "c", 3), "a: 1\nb: 2\nc: 3\n"),
        (
            "# head\na: 1\n\n# about b\nb: 2\n# tail\n",
            ("set", "a", 5),
            "# head\na: 5\n\n# about b\nb: 2\n# tail\n",
        ),
        ("a: |\n  one\n  two\n\nb: 2\n", ("set", "a", "x"), "a: x\n\nb: 2\n"),
        ("a:\n- x\n- y\n# note\nb: 2\n", ("remove", "a", None), "# note\nb: 2\n"),
        ("a:\n  k: v\n  l: w\nb: 2\n", ("rename", "a", "z"), "z:\n  k: v\n  l: w\nb: 2\n"),
        ("'a': 1\nb: 2\n", ("rename", "a", "c"), "c: 1\nb: 2\n"),
        ("a: 1 # keep?\nb: 2\n", ("set", "b", None), "a: 1 # keep?\nb: null\n"),
        (
            "a: 1\ntest_command: \nb: 2\n",
            ("set", "test_command", "pytest"),
            "a: 1\ntest_command: pytest\nb: 2\n",
        ),
    ],
)
def test_document_edits(text: str, operation: tuple[str, str, object], expected: str) -> None:
    document = Document(text)
    action, name, argument = operation
    if action == "set":
        document.set(name, argument)
    elif action == "remove":
        document.remove(name)
    else:
        assert isinstance(argument, str)
        document.rename(name, argument)
    assert document.text() == expected
    assert yaml.safe_load(document.text()) is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{a: 1, b: 2}\n", "not a block mapping"),
        ("- a\n", "not a block mapping"),
        ("a: 1\na: 2\n", "duplicate field 'a'"),
        ("a: [\n", "invalid YAML"),
    ],
)
def test_document_refuses_what_it_cannot_edit_by_lines(text: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        Document(text, "x.yaml")


def test_render_entry_writes_the_reference_skeleton_layout() -> None:
    sample_text = (
        "package: demo\nrepo: null\npypi_url: https://pypi.org/project/demo/\n"
        "extension_type: unknown\npython_versions: []\ninstall_method: pip\n"
        "install_command: ''\ntest_command: ''\ntest_framework: pytest\nuses_xdist: false\n"
        "timeout: null\nskip: false\nskip_reason: null\nskip_versions: {}\nnotes: ''\n"
        "enriched: false\nclone_depth: null\nimport_name: null\n"
    )
    entry = PackageEntry(
        package="demo",
        pypi_url="https://pypi.org/project/demo/",
        install_command="",
        test_command="",
    )
    assert render_entry(entry) == sample_text
