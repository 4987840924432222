"""Registry files written to hurt: alias bombs, huge files, millions of keys, links out of
the registry. Each is one problem line for that file; every other package still loads,
and no edit reads or writes through a link that leaves the registry."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from registry_core import load_registry

APIARY = str(Path(sys.executable).with_name("apiary"))
SAMPLE_NAMES = 29


def alias_bomb(levels: int = 12, width: int = 10) -> str:
    """A dozen lines that name each other: 10**12 values once expanded."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def _problems(root: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in load_registry(root).problems:
        found.setdefault(problem.file.name, []).append(str(problem))
    return found


def test_an_alias_bomb_in_a_package_file_is_one_problem(sample: Path) -> None:
    (sample / "packages" / "bomb.yaml").write_text("package: bomb\n" + alias_bomb())
    loaded = load_registry(sample)
    assert len(loaded.entries) == SAMPLE_NAMES
    assert [str(p).split(": ", 1)[1] for p in loaded.problems] == [
        "(file): YAML aliases (*a0) are not allowed in registry files"
    ]
    assert str(loaded.problems[0]).startswith(f"{sample}/packages/bomb.yaml:3:")


def test_an_alias_bomb_in_the_index_is_one_problem(sample: Path) -> None:
    (sample / "index.yaml").write_text(alias_bomb() + "packages: []\n")
    loaded = load_registry(sample)
    assert len(loaded.entries) == SAMPLE_NAMES
    assert [p.message for p in loaded.problems] == [
        "YAML aliases (*a0) are not allowed in registry files"
    ]


def test_a_200_mb_file_of_millions_of_keys_is_never_read(sample: Path) -> None:
    line = b"".join(b"k%07d: 1\n" % i for i in range(10_000))
    with (sample / "packages" / "huge.yaml").open("wb") as out:
        out.write(b"package: huge\n")
        for _ in range(1_700):  # 17 million keys, 204 MB
            out.write(line)
    assert _problems(sample) == {
        "huge.yaml": [
            f"{sample}/packages/huge.yaml:1:1: (file): the file is 195 MiB, over the 1 MiB limit"
        ]
    }


def test_a_file_of_many_fields_under_the_size_limit_is_one_problem(sample: Path) -> None:
    keys = "".join(f"k{i}: 1\n" for i in range(100_000))
    (sample / "packages" / "many.yaml").write_text("package: many\n" + keys)
    assert _problems(sample) == {
        "many.yaml": [
            f"{sample}/packages/many.yaml:1:1: (file): 100001 fields,"
            " more than the 100 a file may have"
        ]
    }


def test_an_index_of_millions_of_keys_is_one_problem(sample: Path) -> None:
    keys = "".join(f"k{i}: 1\n" for i in range(1_200_000))  # 14 MB, under the size limit
    (sample / "index.yaml").write_text(keys)
    loaded = load_registry(sample)
    assert len(loaded.entries) == SAMPLE_NAMES
    assert [p.message for p in loaded.problems] == ["more than 500000 values in one file"]


def test_a_link_out_of_the_registry_is_not_read(sample: Path, tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("package: shadow\nnotes: root:$6$secret-hash\n")
    (sample / "packages" / "shadow.yaml").symlink_to(secret)
    (sample / "packages" / "twin.yaml").symlink_to(sample / "packages" / "six.yaml")
    loaded = load_registry(sample)
    assert "shadow" not in loaded.entries
    # A link inside the registry is read (and here gives another package's file).
    assert [str(p) for p in loaded.problems] == [
        f"{sample}/packages/shadow.yaml:1:1: (file): a symbolic link out of the registry"
        f" (to {secret}): not read",
        f"{sample}/packages/twin.yaml:1:10: package: name 'six' does not match the file"
        " name 'twin.yaml'",
    ]


def test_set_field_never_writes_through_a_link(cli: Any, sample: Path, tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("package: shadow\nnotes: root:$6$secret-hash\n")
    link = sample / "packages" / "shadow.yaml"
    link.symlink_to(secret)
    inner = sample / "packages" / "inner.yaml"
    (sample / "elsewhere.yaml").write_text("package: inner\n")
    inner.symlink_to(sample / "elsewhere.yaml")
    for name in ("shadow", "inner"):
        done = cli(
            "set-field", "notes", "x", "--packages", name, "--apply", "--registry-dir", sample
        )
        assert done.exit_code == 1
        assert "Traceback" not in done.stderr
        assert "a symbolic link; edit the file it points to" in done.stderr
    assert link.is_symlink() and inner.is_symlink()
    assert secret.read_text() == "package: shadow\nnotes: root:$6$secret-hash\n"
    assert not any(
        "secret-hash" in p.read_text()
        for p in (sample / "packages").glob("*.yaml")
        if not p.is_symlink()
    )


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))


def test_commands_on_a_hostile_registry_say_one_line_per_file(sample: Path) -> None:
    (sample / "packages" / "bomb.yaml").write_text("package: bomb\n" + alias_bomb())
    (sample / "packages" / "huge.yaml").write_bytes(b"package: huge\n" + b"k: 1\n" * (1 << 19))
    for command in (["validate"], ["list"]):
        done = subprocess.run(
            [APIARY, "registry", *command, "--registry-dir", str(sample)],
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_limit_memory,
            check=False,
        )
        assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
        if command == ["validate"]:
            assert done.returncode == 1
            assert len(done.stdout.splitlines()) == 2
            assert "bomb.yaml:3:" in done.stdout and "huge.yaml:1:1:" in done.stdout
        else:
            assert done.returncode == 0
            assert "six" in done.stdout
            assert "2 file(s)" in done.stderr


# A hundred thousand levels in 200-400 KB: libyaml's composer recursed once per level in
# C and the reading process died of a segmentation fault (or, reading in forked
# processes, the load waited for ever for the one that died).
DEEP = 100_000
DEEP_VALUES = {
    "lists": "[" * DEEP + "]" * DEEP,
    "mappings": "{a: " * DEEP + "x" + "}" * DEEP,
    "block sequences": "\n  " + "- " * DEEP + "x",
}


def _registry_command(sample: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [APIARY, "registry", *command, "--registry-dir", str(sample)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("shape", sorted(DEEP_VALUES))
def test_a_value_nested_a_hundred_thousand_levels_is_one_problem(sample: Path, shape: str) -> None:
    (sample / "packages" / "deep.yaml").write_text(f"package: deep\nnotes: {DEEP_VALUES[shape]}\n")
    (sample / "index.yaml").write_text(
        f"packages:\n- name: six\n  download_count: 1\n  x: {DEEP_VALUES[shape]}\n"
    )
    listed = _registry_command(sample, "list")
    assert listed.returncode == 0, listed.stderr
    assert "six" in listed.stdout and "2 file(s)" in listed.stderr
    validated = _registry_command(sample, "validate")
    assert validated.returncode == 1, validated.stderr
    lines = validated.stdout.splitlines()
    assert len(lines) == 2
    for line, name in zip(lines, ("index.yaml", "deep.yaml"), strict=True):
        assert f"/{name}:" in line and line.endswith("nested more than 100 levels deep")


def test_a_deep_file_among_files_read_by_other_processes_is_one_problem(sample: Path) -> None:
    for i in range(600):
        (sample / "packages" / f"extra-{i}.yaml").write_text(f"package: extra-{i}\n")
    (sample / "packages" / "deep.yaml").write_text(f"package: deep\nx: {DEEP_VALUES['lists']}\n")
    done = _registry_command(sample, "validate")
    assert done.returncode == 1, done.stderr
    assert [line.split(": ", 1)[0].rsplit("/", 1)[1] for line in done.stdout.splitlines()] == [
        "deep.yaml:2:103"
    ]
