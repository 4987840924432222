from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from registry_core import (
    RegistryNotFoundError,
    checks,
    indexfile,
    load_registry,
    packages_by_popularity,
    parsing,
)
from registry_core.fileio import read_capped
from registry_core.limits import MAX_PACKAGE_FILE_BYTES
from registry_core.loader import LoadedRegistry
from registry_core.model import FIELD_ORDER
from registry_core.results import FileResult, IndexResult

SAMPLE_NAMES = 29


def test_every_sample_file_loads_without_a_problem(sample: Path) -> None:
    loaded = load_registry(sample)
    assert len(loaded.entries) == SAMPLE_NAMES
    assert loaded.problems == []
    assert set(loaded.entries) == {p.stem for p in (sample / "packages").glob("*.yaml")}
    assert len(loaded.index) == SAMPLE_NAMES


def test_entries_hold_exactly_what_yaml_reads(sample: Path) -> None:
    loaded = load_registry(sample, use_cache=False)
    for path in sorted((sample / "packages").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        entry = loaded.entries[path.stem]
        assert entry.model_fields_set == set(raw), path.name
        for name, value in raw.items():
            if value is None and name in ("skip_versions", "notes"):
                continue  # null reads as empty
            assert entry.field_value(name) == value, (path.name, name)


def test_sample_facts(sample: Path) -> None:
    entries = load_registry(sample).entries
    assert entries["ruff"].has_compiled_code and entries["ruff"].extension_type == "rust"
    assert entries["duckdb"].extension_type == "cpp_extension"
    assert entries["aiohttp"].skip_versions == {}  # `skip_versions: null`
    assert entries["alabaster"].test_command is None  # `test_command: ` (trailing space)
    assert entries["accelerate"].skip_versions == {
        "3.15": "Depends on numpy (meson build fails on 3.15)"
    }
    assert entries["markdown-it-py"].effective_import_name == "markdown_it"
    assert (
        entries["six"].clone_depth is None and "clone_depth" not in entries["six"].model_fields_set
    )
    assert not entries["a2a-sdk"].enriched
    assert entries["pika"].test_framework == "nose2"


def test_popularity_order_is_the_index_then_the_rest_by_name(sample: Path) -> None:
    for name in ("zeta-pkg", "alpha-pkg"):
        (sample / "packages" / f"{name}.yaml").write_text(f"package: {name}\n")
    loaded = load_registry(sample)
    names = [entry.package for entry in loaded.by_popularity()]
    assert names[:3] == ["packaging", "requests", "idna"]
    assert names[-3:] == ["a2a-sdk", "alpha-pkg", "zeta-pkg"]
    assert [e.package for e in packages_by_popularity(loaded, 2)] == ["packaging", "requests"]
    assert loaded.by_popularity(0) == []


BAD_FILES = [
    # (file name, content, (line, column, field, message start))
    (
        "timeout.yaml",
        b"package: timeout\ntimeout: abc\n",
        (2, 10, "timeout", "Input should be a valid integer, got a string 'abc'"),
    ),
    (
        "flow.yaml",
        b"package: flow\nrepo: [unclosed\n",
        (3, 1, "(file)", "invalid YAML: did not find expected ',' or ']'"),
    ),
    ("alist.yaml", b"- a\n- b\n", (1, 1, "(file)", "expected a mapping of fields, got a list")),
    ("empty.yaml", b"", (1, 1, "(file)", "file is empty")),
    (
        "other.yaml",
        b"package: another\n",
        (1, 10, "package", "name 'another' does not match the file name 'other.yaml'"),
    ),
    (
        "unquoted.yaml",
        b"package: unquoted\npython_versions:\n- '3.14'\n- 3.15\n",
        (4, 3, "python_versions", "item 2: versions must be quoted strings like '3.14'"),
    ),
    (
        "twice.yaml",
        b"package: twice\nskip: true\nskip: false\n",
        (3, 1, "skip", "duplicate field (first at line 2)"),
    ),
    ("numkey.yaml", b"package: numkey\n1: one\n", (2, 1, "1", "field names must be strings")),
    (
        "latin.yaml",
        b"package: latin\nnotes: caf\xe9\n",
        (2, 11, "(file)", "not valid UTF-8 (byte 0xe9)"),
    ),
    (
        "reason.yaml",
        b"package: reason\nskip_versions:\n  '3.15': 7\n",
        (3, 11, "skip_versions", "key '3.15': Input should be a valid string, got an integer 7"),
    ),
    ("noname.yaml", b"timeout: 5\n", (1, 1, "package", "required field is missing")),
    (
        "twodocs.yaml",
        b"package: twodocs\n---\npackage: twodocs\n",
        (2, 1, "(file)", "invalid YAML: expected a single document"),
    ),
    (
        "control.yaml",
        b"package: control\nnotes: ab\x01\n",
        (2, 10, "(file)", "invalid YAML: unacceptable character #x0001"),
    ),
    (
        "alias.yaml",
        b"package: alias\nrepo: *nowhere\n",
        (2, 7, "(file)", "YAML aliases (*nowhere) are not allowed in registry files"),
    ),
    ("tab.yaml", b"\tpackage: tab\n", (1, 1, "(file)", "invalid YAML")),
    (
        "bad name.yaml",
        b"package: bad name\n",
        (1, 10, "package", "'bad name' is not a valid PyPI project name"),
    ),
    (
        "negative.yaml",
        b"package: negative\nclone_depth: -1\n",
        (2, 14, "clone_depth", "Input should be greater than or equal to 0"),
    ),
    (
        "boolstr.yaml",
        b"package: boolstr\nskip: 'false'\n",
        (2, 7, "skip", "Input should be a valid boolean, got a string 'false'"),
    ),
]


@pytest.mark.parametrize(("name", "content", "expected"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_a_bad_file_is_one_located_problem_and_the_rest_still_loads(
    sample: Path, name: str, content: bytes, expected: tuple[int, int, str, str]
) -> None:
    path = sample / "packages" / name
    path.write_bytes(content)
    loaded = load_registry(sample)
    assert len(loaded.entries) == SAMPLE_NAMES
    assert [p.file for p in loaded.problems] == [path]
    problem = loaded.problems[0]
    line, column, field, message = expected
    assert (problem.line, problem.column, problem.field) == (line, column, field)
    assert problem.message.startswith(message), problem.message
    assert str(problem) == f"{path}:{line}:{column}: {field}: {problem.message}"
    assert "\n" not in str(problem)
    assert name.removesuffix(".yaml") in loaded.files
    assert name.removesuffix(".yaml") not in loaded.entries


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("x: " + "[" * 3000 + "]" * 3000 + "\n", "2:103: (file): lists and mappings nested more"),
        ("x:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(900)), "102:201: (file)"),
        ("x:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(100)), "x: value nested more"),
        ("x: " + "[" * 40 + "]" * 40 + "\n", "x: value nested more than 32 levels deep"),
    ],
)
def test_absurdly_nested_values_are_problems(sample: Path, content: str, message: str) -> None:
    path = sample / "packages" / "deep.yaml"
    path.write_text("package: deep\n" + content)
    (sample / "index.yaml").write_text(
        "packages:\n- name: deep\n  x: " + "[" * 50 + "]" * 50 + "\n"
    )
    loaded = load_registry(sample)
    assert len(loaded.entries) == SAMPLE_NAMES
    found = {p.file.name: str(p) for p in loaded.problems}
    assert message in found["deep.yaml"]
    assert "nested more than 32 levels" in found["index.yaml"]


def test_many_bad_files_at_once(sample: Path) -> None:
    for name, content, _ in BAD_FILES:
        (sample / "packages" / name).write_bytes(content)
    loaded = load_registry(sample)
    assert len(loaded.entries) == SAMPLE_NAMES
    assert len({p.file for p in loaded.problems}) == len(BAD_FILES)


def test_odd_entries_in_the_packages_folder(sample: Path) -> None:
    packages = sample / "packages"
    (packages / "folder.yaml").mkdir()
    (packages / "dangling.yaml").symlink_to(sample / "nowhere.yaml")
    (packages / "linked.yaml").symlink_to(packages / "six.yaml")
    (packages / "README.md").write_text("not a package file")
    (packages / "notes.yml").write_text("package: notes\n")
    loaded = load_registry(sample)
    found = {p.file.name: p.message for p in loaded.problems}
    assert found["folder.yaml"] == "not a regular file"
    assert found["dangling.yaml"].startswith("cannot read the file")
    assert found["linked.yaml"].startswith("name 'six' does not match")
    assert len(found) == 3
    assert len(loaded.entries) == SAMPLE_NAMES


def test_a_file_that_cannot_be_read_is_a_problem(sample: Path) -> None:
    loop = sample / "packages" / "loop.yaml"
    loop.symlink_to(loop)
    loaded = load_registry(sample)
    assert [p.message for p in loaded.problems] == [
        "cannot read the file: Too many levels of symbolic links"
    ]


@pytest.mark.parametrize(
    ("content", "field", "message"),
    [
        (b"packages: [\n", "(file)", "invalid YAML"),
        (b"- a\n", "(file)", "expected a mapping with a packages list"),
        (b"packages: 3\n", "packages", "expected a list"),
        (
            b"packages:\n- name: a\n  download_count: lots\n",
            "packages[0]",
            "Input should be a valid integer",
        ),
        (b"packages:\n- name: six\n- name: six\n", "packages[1]", "'six' is listed twice"),
        (b"packages:\n- just-a-name\n", "packages[0]", "Input should be a valid dictionary"),
    ],
)
def test_index_problems(sample: Path, content: bytes, field: str, message: str) -> None:
    (sample / "index.yaml").write_bytes(content)
    loaded = load_registry(sample)
    assert len(loaded.entries) == SAMPLE_NAMES
    assert [p.field for p in loaded.problems] == [field]
    assert loaded.problems[0].message.startswith(message), loaded.problems[0].message


def test_strict_problems_of_the_sample(sample: Path) -> None:
    loaded = load_registry(sample)
    found = [(p.file.name, p.field, p.message.split(":")[0]) for p in loaded.strict_problems]
    assert found == [
        ("index.yaml", "packages[bcrypt]", "stale skip_versions_keys"),
        ("index.yaml", "packages[pika]", "stale skip"),
        ("accelerate.yaml", "test_command", "uses_xdist is true but the command lacks -p no"),
    ]
    assert all(p.strict for p in loaded.strict_problems)


def test_strict_flags_unknown_fields_and_unrunnable_enriched_entries(empty_registry: Path) -> None:
    files = {
        "extra": "package: extra\nmaintainer: me\n",
        "nocmd": "package: nocmd\nenriched: true\ntest_command: ''\ninstall_command: pip\n",
        "skipped": "package: skipped\nenriched: true\nskip: true\ntest_command: ''\n",
        "oddtype": "package: oddtype\nextension_type: extentions\ntest_framework: ward\n",
    }
    for name, text in files.items():
        (empty_registry / "packages" / f"{name}.yaml").write_text(text)
    loaded = load_registry(empty_registry)
    assert loaded.problems == []
    found = [(p.file.stem, p.line, p.field, p.message) for p in loaded.strict_problems]
    assert found == [
        ("extra", 2, "maintainer", "unknown field"),
        ("nocmd", 3, "test_command", "enriched entry has an empty command"),
        (
            "oddtype",
            2,
            "extension_type",
            "unknown extension type 'extentions' "
            "(c_extension, cpp_extension, extensions, pure, rust, unknown)",
        ),
        ("oddtype", 3, "test_framework", "unknown test framework 'ward'"),
    ]


def test_not_a_registry(tmp_path: Path) -> None:
    with pytest.raises(RegistryNotFoundError, match="no such registry directory"):
        load_registry(tmp_path / "missing")
    with pytest.raises(RegistryNotFoundError, match="not a registry directory"):
        load_registry(tmp_path)


def test_index_only_registry_is_valid(tmp_path: Path) -> None:
    (tmp_path / "index.yaml").write_text("last_updated: '2026-01-01T00:00:00'\npackages: []\n")
    loaded = load_registry(tmp_path)
    assert loaded.entries == {} and loaded.problems == [] and loaded.index == []


# --- the load cache ---------------------------------------------------------------------


@pytest.mark.usefixtures("trust_fresh_files")
def test_warm_load_reads_no_unchanged_file(sample: Path, opened_files: Any) -> None:
    cold = load_registry(sample)
    assert cold.stats.parsed == SAMPLE_NAMES + 1 and cold.stats.cache_written
    with opened_files() as opened:
        warm = load_registry(sample)
    assert warm.stats.parsed == 0 and warm.stats.from_cache == SAMPLE_NAMES + 1
    read = [path for path in opened if path.startswith(str(sample)) and path.endswith(".yaml")]
    assert read == []
    assert [str(p) for p in opened if p.endswith(".json")] == [str(warm.stats.cache_file)]
    assert warm.entries == cold.entries
    for name, entry in warm.entries.items():
        assert entry.model_dump_json() == cold.entries[name].model_dump_json()
        assert entry.model_fields_set == cold.entries[name].model_fields_set
    assert warm.index == cold.index and warm.strict_problems == cold.strict_problems


_WARM_PROBE = """
import json, sys
from pathlib import Path
from registry_core.loader import load_registry
from registry_core.model import PackageEntry
loaded = load_registry(Path(sys.argv[1]))
before = {"yaml": "yaml" in sys.modules, "checks": "registry_core.checks" in sys.modules,
          "built": PackageEntry.__pydantic_complete__, "from_cache": loaded.stats.from_cache}
entry = loaded.entries["six"]
entry.timeout = 77  # validated on assignment: the validator is built now
try:
    entry.timeout = "soon"
    refused = False
except ValueError:
    refused = True
print(json.dumps({**before, "timeout": entry.timeout, "refused": refused}))
"""


@pytest.mark.usefixtures("trust_fresh_files")
def test_warm_load_imports_no_yaml_reader_and_builds_no_validator(sample: Path) -> None:
    cold = load_registry(sample)
    done = subprocess.run(
        [sys.executable, "-c", _WARM_PROBE, str(sample)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout)
    assert found["from_cache"] == cold.stats.files == SAMPLE_NAMES + 1
    assert (found["yaml"], found["checks"], found["built"]) == (False, False, False)
    assert (found["timeout"], found["refused"]) == (77, True)


@pytest.mark.usefixtures("trust_fresh_files")
def test_warm_load_reads_only_the_changed_file(sample: Path, opened_files: Any) -> None:
    load_registry(sample)
    six = sample / "packages" / "six.yaml"
    text = six.read_text().replace("timeout: null", "timeout: 99999")
    six.write_text(text)
    with opened_files() as opened:
        warm = load_registry(sample)
    assert [p for p in opened if p.endswith(".yaml")] == [str(six)]
    assert warm.entries["six"].timeout == 99999
    assert warm.stats.parsed == 1


@pytest.mark.usefixtures("trust_fresh_files")
def test_an_edit_keeping_size_and_mtime_is_still_seen(sample: Path) -> None:
    load_registry(sample)
    six = sample / "packages" / "six.yaml"
    before = six.stat()
    six.write_text(six.read_text().replace("timeout: null", "timeout: 1234"))
    os.utime(six, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert six.stat().st_size == before.st_size and six.stat().st_mtime_ns == before.st_mtime_ns
    loaded = load_registry(sample)
    assert loaded.entries["six"].timeout == 1234 and loaded.stats.parsed == 1


def test_recently_written_files_are_not_trusted_from_the_cache(empty_registry: Path) -> None:
    path = empty_registry / "packages" / "fresh.yaml"
    path.write_text("package: fresh\ntimeout: 10\n")
    first = load_registry(empty_registry)
    assert first.stats.parsed == 1
    # Same size and mtime (a write within the timestamp granularity): still re-read.
    stamp = path.stat().st_mtime_ns
    path.write_text("package: fresh\ntimeout: 20\n")
    os.utime(path, ns=(stamp, stamp))
    again = load_registry(empty_registry)
    assert again.entries["fresh"].timeout == 20


@pytest.mark.usefixtures("trust_fresh_files")
def test_a_corrupt_cache_is_ignored_and_replaced(sample: Path) -> None:
    cache_file = load_registry(sample).stats.cache_file
    assert cache_file is not None
    for garbage in (b"{not json", b"[]", json.dumps({"header": 1}).encode(), b"\xff\xfe"):
        cache_file.write_bytes(garbage)
        loaded = load_registry(sample)
        assert len(loaded.entries) == SAMPLE_NAMES and loaded.stats.parsed == SAMPLE_NAMES + 1
    data = json.loads(cache_file.read_text())
    for record in data["files"].values():
        record[3] = ["not", "a", "payload"]
    cache_file.write_text(json.dumps(data))
    loaded = load_registry(sample)
    assert len(loaded.entries) == SAMPLE_NAMES and loaded.problems == []


def test_an_unwritable_cache_is_not_an_error(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("APIARY_CACHE_DIR", str(blocker / "cache"))
    loaded = load_registry(sample)
    assert len(loaded.entries) == SAMPLE_NAMES and not loaded.stats.cache_written


def test_cache_can_be_turned_off(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIARY_NO_CACHE", "1")
    load_registry(sample)
    again = load_registry(sample)
    assert again.stats.cache_file is None and again.stats.parsed == SAMPLE_NAMES + 1


@pytest.mark.usefixtures("trust_fresh_files")
def test_files_with_problems_are_cached_too(sample: Path) -> None:
    (sample / "packages" / "broken.yaml").write_bytes(b"package: broken\ntimeout: x\n")
    shutil.copystat(sample / "packages" / "six.yaml", sample / "packages" / "broken.yaml")
    cold = load_registry(sample)
    warm = load_registry(sample)
    assert warm.stats.parsed == 0 and warm.problems == cold.problems != []


def test_unknown_values_that_json_cannot_hold_are_reread(empty_registry: Path) -> None:
    path = empty_registry / "packages" / "dated.yaml"
    path.write_text("package: dated\nreleased: 2024-01-01\n")
    os.utime(path, (1_000_000_000, 1_000_000_000))
    load_registry(empty_registry)
    warm = load_registry(empty_registry)
    assert warm.stats.parsed == 1
    assert str(warm.entries["dated"].unknown_fields["released"]) == "2024-01-01"


@pytest.mark.usefixtures("trust_fresh_files")
def test_format_fields_survive_the_cache_in_order(sample: Path) -> None:
    load_registry(sample)
    entry = load_registry(sample).entries["duckdb"]
    assert list(entry.model_dump())[: len(FIELD_ORDER)] == list(FIELD_ORDER)
    assert entry.clone_depth == 50


@pytest.mark.usefixtures("trust_fresh_files")
def test_a_change_to_the_reading_code_makes_the_cache_stale(
    sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry_core import cache

    load_registry(sample)
    assert load_registry(sample).stats.parsed == 0
    monkeypatch.setattr(cache, "_code_stamp", lambda: [1, 2, 3])
    assert load_registry(sample).stats.parsed == SAMPLE_NAMES + 1


def test_apiary_fields_are_known_to_strict_and_kept(tmp_path: Path) -> None:
    from registry_core import load_registry

    (tmp_path / "packages").mkdir()
    (tmp_path / "packages" / "six.yaml").write_text(
        "package: six\nenriched: true\nsdist_has_tests: true\nmystery: 1\n"
    )
    (tmp_path / "index.yaml").write_text("packages: []\n")
    loaded = load_registry(tmp_path, use_cache=False)
    assert loaded.entries["six"].field_value("sdist_has_tests") is True
    flagged = {p.field for p in loaded.strict_problems if p.message == "unknown field"}
    assert flagged == {"mystery"}


@pytest.mark.parametrize(
    ("command", "flagged"),
    [
        ("python -m pytest -p no:xdist", False),
        ("python -m pytest -pno:xdist tests", False),
        ("python -m pytest -n 0", False),
        ("python -m pytest --numprocesses=0", False),
        ("python -m pytest -n 4", True),
        ("python -m pytest tests", True),
        ("python -m pytest 'unclosed", True),
    ],
)
def test_xdist_users_must_run_in_one_process(
    empty_registry: Path, command: str, flagged: bool
) -> None:
    text = f"package: x\nuses_xdist: true\ntest_command: {json.dumps(command)}\n"
    (empty_registry / "packages" / "x.yaml").write_text(text)
    loaded = load_registry(empty_registry)
    assert [p.field for p in loaded.strict_problems] == (["test_command"] if flagged else [])


def _many(sample: Path, copies: int) -> Path:
    """The sample's files `copies` times over (renamed), its bad files, one too big."""
    packages = sample / "packages"
    originals = sorted(packages.glob("*.yaml"))
    for number in range(copies):
        for path in originals:
            name = f"{path.stem}-{number}"
            text = path.read_text().replace(f"package: {path.stem}\n", f"package: {name}\n", 1)
            (packages / f"{name}.yaml").write_text(text)
    for name, content, _ in BAD_FILES:
        (packages / name).write_bytes(content)
    (packages / "huge.yaml").write_bytes(b"package: huge\nnotes: " + b"x" * MAX_PACKAGE_FILE_BYTES)
    return sample


def _seen(loaded: LoadedRegistry) -> tuple[object, ...]:
    return (
        {name: entry.model_dump() for name, entry in loaded.entries.items()},
        [str(p) for p in loaded.problems],
        [str(p) for p in loaded.file_strict_problems],
        sorted(loaded.files.names.items()),
    )


def test_processes_read_what_one_process_reads(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = _many(sample, 20)
    files = len(list((registry / "packages").iterdir()))
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU here: nothing to share")
    pids = tmp_path / "pids"
    pids.mkdir()
    real_check = checks.check_package_text

    def check(path: Path, raw: bytes) -> FileResult:
        (pids / str(os.getpid())).touch()
        return real_check(path, raw)

    monkeypatch.setattr(checks, "check_package_text", check)
    shared = load_registry(registry, use_cache=False)
    readers = {int(p.name) for p in pids.iterdir()}
    assert len(readers) >= 2 and os.getpid() not in readers
    shutil.rmtree(pids)
    pids.mkdir()
    monkeypatch.setattr(parsing, "MIN_FILES_TO_SHARE", files + 1)
    alone = load_registry(registry, use_cache=False)
    assert {int(p.name) for p in pids.iterdir()} == {os.getpid()}
    assert _seen(shared) == _seen(alone)
    assert len(shared.entries) == 29 * 21
    found = {p.file.name: p.message for p in shared.problems}
    assert "huge.yaml" in found
    assert {name for name, _, _ in BAD_FILES} <= set(found)


def test_a_few_files_or_a_threaded_process_read_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parsing.processes_for(parsing.MIN_FILES_TO_SHARE - 1) == 1
    monkeypatch.setattr("threading.active_count", lambda: 2)
    assert parsing.processes_for(100_000) == 1


def test_the_index_is_read_while_other_processes_read_the_files(
    sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = _many(sample, 20)
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU here: nothing to share")
    real_check = indexfile.check_index_text
    seen: list[tuple[int, int]] = []

    def check(path: Path, raw: bytes) -> IndexResult:
        seen.append((os.getpid(), len(multiprocessing.active_children())))
        return real_check(path, raw)

    monkeypatch.setattr(indexfile, "check_index_text", check)
    loaded = load_registry(registry, use_cache=False)
    assert seen == [(os.getpid(), parsing.processes_for(29 * 21 + len(BAD_FILES) + 1))]
    assert seen[0][1] >= 2
    listed = yaml.safe_load((registry / "index.yaml").read_text())["packages"]
    assert [item.name for item in loaded.index] == [item["name"] for item in listed]


@pytest.mark.timeout(120)
def test_a_reading_process_that_dies_costs_no_file_and_no_wait(
    sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader killed (out of memory, a signal) used to leave the load waiting for ever
    for the chunk it held; its files are now read by the loading process."""
    registry = _many(sample, 20)
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU here: nothing to share")
    whole = load_registry(registry, use_cache=False)
    victim = sorted(registry.glob("packages/*.yaml"))[300].name
    loading = os.getpid()

    def read(path: Path, limit: int) -> bytes:
        if os.getpid() != loading and path.name == victim:
            os.kill(os.getpid(), signal.SIGKILL)
        return read_capped(path, limit)

    monkeypatch.setattr("registry_core.parsing.read_capped", read)
    assert _seen(load_registry(registry, use_cache=False)) == _seen(whole)
