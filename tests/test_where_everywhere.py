"""One ``--where`` language: every command that selects packages picks the same ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

APIARY = str(Path(sys.executable).with_name("apiary"))

ENTRIES = {
    "pure-done": ("pure", True),
    "ext-done": ("c_extension", True),
    "pure-skeleton": ("pure", False),
}


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    root = tmp_path / "registry"
    (root / "packages").mkdir(parents=True)
    for name, (extension_type, enriched) in ENTRIES.items():
        (root / "packages" / f"{name}.yaml").write_text(
            f"package: {name}\nrepo: {tmp_path / name}\nextension_type: {extension_type}\n"
            f"enriched: {str(enriched).lower()}\n"
        )
    (root / "index.yaml").write_text("last_updated: '2026-01-01T00:00:00'\npackages: []\n")
    return root


def _apiary(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [APIARY, *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done


def _listed(registry: Path, where: str) -> set[str]:
    done = _apiary(
        "registry",
        "list",
        "--registry-dir",
        registry,
        "--where",
        where,
        "--format",
        "json",
        cwd=registry,
    )
    return {record["package"] for record in json.loads(done.stdout)}


def _edited(registry: Path, where: str) -> set[str]:
    done = _apiary(
        "registry",
        "set-field",
        "notes",
        "chosen",
        "--where",
        where,
        "--registry-dir",
        registry,
        cwd=registry,
    )
    return {
        Path(line.split()[1]).stem for line in done.stdout.splitlines() if line.startswith("+++ ")
    }


def _run_plan(registry: Path, where: str) -> set[str]:
    done = _apiary(
        "run",
        "--dry-run",
        "--registry-dir",
        registry,
        "--where",
        where,
        "--results-dir",
        registry.parent / "results",
        cwd=registry,
    )
    # The plan's lines "  run   NAME" and "  skip  NAME: why" (unenriched entries).
    lines = [line.split() for line in done.stdout.splitlines() if line.startswith("  ")]
    return {words[1].rstrip(":") for words in lines if words[0] in ("run", "skip")}


def _verify_plan(registry: Path, where: str) -> set[str]:
    done = _apiary(
        "enrich", "verify", "--dry-run", "--registry-dir", registry, "--where", where, cwd=registry
    )
    return {line.removeprefix("verify ") for line in done.stdout.splitlines()}


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("enriched!=false", {"pure-done", "ext-done"}),
        ("has_compiled_code=false", {"pure-done", "pure-skeleton"}),
        ("extension_type=C_Extension", {"ext-done"}),
    ],
)
@pytest.mark.parametrize("command", [_listed, _edited, _run_plan, _verify_plan])
def test_every_command_selects_the_same_packages(
    registry: Path, command: object, where: str, expected: set[str]
) -> None:
    assert callable(command)
    assert command(registry, where) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["registry", "list"],
        ["run", "--dry-run"],
        ["enrich", "verify", "--dry-run"],
    ],
)
def test_an_unknown_field_is_one_line_in_every_command(registry: Path, argv: list[str]) -> None:
    done = subprocess.run(
        [APIARY, *argv, "--registry-dir", str(registry), "--where", "colour=red"],
        cwd=registry,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2  # a user error, in every command
    assert done.stderr.strip() == "error: --where: unknown field 'colour' (no package file has it)"
