from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from registry_core import EditError, load_registry
from registry_core.indexing import build_index, plan_index, write_index

# Two sample files changed after the sample's index was written; the rebuilt index follows
# the files there and reproduces everything else.
STALE_IN_SAMPLE = {("bcrypt", "skip_versions_keys"): [], ("pika", "skip"): True}


def test_index_over_the_sample_reproduces_the_sample_index(sample: Path) -> None:
    original = yaml.safe_load((sample / "index.yaml").read_text())
    update = write_index(load_registry(sample), last_updated=original["last_updated"])
    assert update.changed
    rebuilt = yaml.safe_load((sample / "index.yaml").read_text())
    assert rebuilt["last_updated"] == original["last_updated"]
    assert [p["name"] for p in rebuilt["packages"]] == [p["name"] for p in original["packages"]]
    for old, new in zip(original["packages"], rebuilt["packages"], strict=True):
        for key, value in old.items():
            expected = STALE_IN_SAMPLE.get((old["name"], key), value)
            assert new[key] == expected, (old["name"], key)
        assert list(new) == list(old)
    # Only the stale values changed: the lines of everything else are identical.
    changed = [
        line
        for line in update.diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("---", "+++"))
    ]
    assert changed == [
        "-  skip_versions_keys:",
        "-  - '3.15'",
        "+  skip_versions_keys: []",
        "-  skip: false",
        "+  skip: true",
    ]


def test_an_up_to_date_index_is_left_untouched(sample: Path) -> None:
    write_index(load_registry(sample))
    before = (sample / "index.yaml").read_bytes()
    update = write_index(load_registry(sample))
    assert not update.changed and update.diff == ""
    assert (sample / "index.yaml").read_bytes() == before


def test_new_packages_go_last_until_they_have_counts(sample: Path) -> None:
    (sample / "packages" / "zzz-new.yaml").write_text("package: zzz-new\nextension_type: rust\n")
    (sample / "packages" / "aaa-new.yaml").write_text("package: aaa-new\n")
    items = build_index(load_registry(sample))
    assert [i.name for i in items[-2:]] == ["aaa-new", "zzz-new"]
    assert items[-1].download_count is None and items[-1].extension_type == "extensions"
    items = build_index(load_registry(sample), {"zzz-new": 2_000_000_000})
    assert items[0].name == "zzz-new" and items[0].download_count == 2_000_000_000


def test_a_broken_file_keeps_its_index_entry_and_a_deleted_one_loses_it(sample: Path) -> None:
    (sample / "packages" / "six.yaml").write_text("package: six\ntimeout: [\n")
    (sample / "packages" / "idna.yaml").unlink()
    items = {i.name: i for i in build_index(load_registry(sample))}
    assert items["six"].download_count == 794696816
    assert "idna" not in items


def test_unknown_index_fields_are_kept(sample: Path) -> None:
    text = (
        (sample / "index.yaml").read_text().replace("- name: six\n", "- name: six\n  note: kept\n")
    )
    (sample / "index.yaml").write_text(text + "schema: 1\n")
    write_index(load_registry(sample))
    data = yaml.safe_load((sample / "index.yaml").read_text())
    assert data["schema"] == 1
    six = next(p for p in data["packages"] if p["name"] == "six")
    assert six["note"] == "kept"


def test_check_does_not_write(sample: Path) -> None:
    before = (sample / "index.yaml").read_bytes()
    update = plan_index(load_registry(sample))
    assert update.changed and "+  skip: true" in update.diff
    assert (sample / "index.yaml").read_bytes() == before


def test_index_from_nothing(empty_registry: Path) -> None:
    (empty_registry / "packages" / "one.yaml").write_text("package: one\n")
    update = write_index(load_registry(empty_registry))
    assert update.changed
    data = yaml.safe_load((empty_registry / "index.yaml").read_text())
    assert data["packages"] == [
        {
            "name": "one",
            "download_count": None,
            "extension_type": "unknown",
            "enriched": False,
            "skip": False,
            "skip_versions_keys": [],
        }
    ]
    assert load_registry(empty_registry).strict_problems == []


def test_a_broken_index_is_not_rebuilt_over(sample: Path) -> None:
    (sample / "index.yaml").write_text("packages: [\n")
    with pytest.raises(EditError, match=r"index.yaml:2:1: .*fix index.yaml first"):
        write_index(load_registry(sample))
    (sample / "index.yaml").unlink()
    assert write_index(load_registry(sample)).changed
