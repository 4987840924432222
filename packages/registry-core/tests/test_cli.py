from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml


def test_validate_clean_sample(cli: Any, sample: Path) -> None:
    done = cli("validate", "--registry-dir", sample)
    assert done.exit_code == 0 and done.stdout == ""
    assert done.stderr == f"30 file(s) in {sample}, 29 valid package(s), 0 problem(s)\n"


def test_validate_prints_one_line_per_problem(cli: Any, sample: Path) -> None:
    (sample / "packages" / "six.yaml").write_text("package: six\ntimeout: soon\n")
    (sample / "packages" / "broken.yaml").write_text("package: [\n")
    done = cli("validate", "--registry-dir", sample)
    assert done.exit_code == 1
    assert done.stdout.splitlines() == [
        f"{sample}/packages/broken.yaml:2:1: (file): "
        "invalid YAML: did not find expected node content",
        f"{sample}/packages/six.yaml:2:10: timeout: Input should be a valid integer, "
        "got a string 'soon'",
    ]


def test_validate_strict(cli: Any, sample: Path) -> None:
    done = cli("validate", "--strict", "--registry-dir", sample)
    assert done.exit_code == 1
    assert [line.split(": ")[1] for line in done.stdout.splitlines()] == [
        "packages[bcrypt]",
        "packages[pika]",
        "test_command",
    ]
    assert cli("index", "--registry-dir", sample).exit_code == 0
    assert len(cli("validate", "--strict", "--registry-dir", sample).stdout.splitlines()) == 1


def test_list_table_where_top_and_json(cli: Any, sample: Path) -> None:
    done = cli("list", "--registry-dir", sample, "--top", "3")
    assert done.exit_code == 0
    lines = done.stdout.splitlines()
    assert lines[0].split() == [
        "package",
        "downloads",
        "extension",
        "enriched",
        "skip",
        "framework",
    ]
    assert [line.split()[0] for line in lines[1:]] == ["packaging", "requests", "idna"]
    assert lines[1].split()[1] == "1,293,053,828"
    done = cli(
        "list",
        "--registry-dir",
        sample,
        "--where",
        "has_compiled_code=true",
        "--where",
        "skip!=true",
        "--format",
        "json",
    )
    records = json.loads(done.stdout)
    assert [r["package"] for r in records] == ["aiohttp", "greenlet", "bcrypt", "dulwich", "duckdb"]
    assert records[0]["download_count"] == 335099063 and records[0]["has_compiled_code"] is True
    done = cli(
        "list", "--registry-dir", sample, "--where", "python_versions=3.14", "--format", "json"
    )
    assert len(json.loads(done.stdout)) == 11
    done = cli(
        "list", "--registry-dir", sample, "--where", "skip_versions=3.15", "--format", "json"
    )
    assert [r["package"] for r in json.loads(done.stdout)] == ["duckdb", "accelerate"]
    done = cli("list", "--registry-dir", sample, "--packages", "six,click", "--format", "json")
    assert [r["package"] for r in json.loads(done.stdout)] == ["six", "click"]


def test_list_errors_are_one_line(cli: Any, sample: Path) -> None:
    for args, message in [
        (
            ("--where", "colour=blue"),
            "error: --where: unknown field 'colour' (no package file has it)",
        ),
        (
            ("--where", "nonsense"),
            "error: --where 'nonsense': expected FIELD=VALUE or FIELD!=VALUE",
        ),
        (("--packages", "nope"), f"error: no package 'nope' in {sample}"),
        (("--packages", "../etc"), "error: --packages: '../etc' is not a package name"),
    ]:
        done = cli("list", "--registry-dir", sample, *args)
        assert (done.exit_code, done.stderr) == (2, message + "\n")


def test_list_warns_about_left_out_files(cli: Any, sample: Path) -> None:
    (sample / "packages" / "six.yaml").write_text("- not a mapping\n")
    done = cli("list", "--registry-dir", sample)
    assert done.exit_code == 0 and "six" not in done.stdout.split()
    assert done.stderr.startswith("warning: 1 file(s) in") and done.stderr.count("\n") == 1


def test_show(cli: Any, sample: Path) -> None:
    done = cli("show", "dulwich", "--registry-dir", sample)
    assert done.exit_code == 0
    assert 'extension_type         "c_extension"' in done.stdout
    assert "has_compiled_code      true  (derived)" in done.stdout
    data = json.loads(cli("show", "Six", "--format", "json", "--registry-dir", sample).stdout)
    assert data["effective_import_name"] == "six" and data["download_count"] == 794696816
    missing = cli("show", "nope", "--registry-dir", sample)
    assert (missing.exit_code, missing.stderr) == (2, f"error: no package 'nope' in {sample}\n")
    (sample / "packages" / "six.yaml").write_text("package: six\nskip: maybe\n")
    broken = cli("show", "six", "--registry-dir", sample)
    assert broken.exit_code == 2
    assert broken.stderr.splitlines()[0].endswith(
        "skip: Input should be a valid boolean, got a string 'maybe'"
    )
    assert broken.stderr.splitlines()[1].startswith("error: ")


def test_set_field_is_a_dry_run_until_apply(cli: Any, sample: Path) -> None:
    path = sample / "packages" / "six.yaml"
    before = path.read_bytes()
    done = cli("set-field", "timeout", "900", "--packages", "six", "--registry-dir", sample)
    assert done.exit_code == 0
    assert "-timeout: null\n+timeout: 900\n" in done.stdout
    assert done.stdout.startswith("--- a/packages/six.yaml\n+++ b/packages/six.yaml\n")
    assert "would change" in done.stderr and path.read_bytes() == before
    done = cli(
        "set-field", "timeout", "900", "--packages", "six", "--apply", "--registry-dir", sample
    )
    assert done.exit_code == 0 and done.stdout == ""
    assert done.stderr == "changed 1 file(s), 0 already as asked\n"
    assert path.read_bytes() == before.replace(b"timeout: null", b"timeout: 900")


def test_set_field_refusals_exit_1_and_bad_arguments_2(cli: Any, sample: Path) -> None:
    done = cli(
        "set-field", "timeout", "soon", "--where", "enriched=false", "--registry-dir", sample
    )
    assert done.exit_code == 1
    assert done.stderr.splitlines()[0].startswith(f"refused: {sample}/packages/a2a-sdk.yaml:11:10:")
    for args, message in [
        (
            ("set-field", "package", "x"),
            "error: the package field names the file; rename the file instead",
        ),
        (
            ("set-field", "bad-field", "x"),
            "error: 'bad-field' is not a field name (letters, digits and _ only)",
        ),
        (
            ("set-field", "skip_versions", "{oops"),
            "error: skip_versions: cannot read '{oops' as a YAML value",
        ),
    ]:
        done = cli(*args, "--registry-dir", sample)
        assert done.exit_code == 2 and done.stderr.startswith(message), done.stderr


def test_add_remove_rename_commands(cli: Any, sample: Path) -> None:
    add = cli("add-field", "clone_depth", "--apply", "--registry-dir", sample)
    assert add.exit_code == 0 and add.stderr.startswith("changed 8 file(s), 21 already as asked")
    assert "clone_depth: null" in (sample / "packages" / "six.yaml").read_text()
    add = cli(
        "add-field",
        "maintainer",
        "--default",
        "team",
        "--where",
        "extension_type=rust",
        "--apply",
        "--registry-dir",
        sample,
    )
    assert add.stderr.startswith("changed 2 file(s)")
    rename = cli("rename-field", "maintainer", "owner", "--apply", "--registry-dir", sample)
    assert rename.stderr.startswith("changed 2 file(s)")
    assert "owner: team\n" in (sample / "packages" / "ruff.yaml").read_text()
    remove = cli("remove-field", "owner", "--apply", "--registry-dir", sample)
    assert remove.stderr.startswith("changed 2 file(s)")
    assert cli("validate", "--registry-dir", sample).exit_code == 0


def test_index_command(cli: Any, sample: Path) -> None:
    check = cli("index", "--check", "--registry-dir", sample)
    assert check.exit_code == 1 and "+  skip: true" in check.stdout
    assert check.stderr == f"{sample}/index.yaml is stale\n"
    done = cli("index", "--registry-dir", sample)
    assert done.exit_code == 0
    assert done.stderr == f"{sample}/index.yaml: 29 package(s), rewritten\n"
    assert cli("index", "--check", "--registry-dir", sample).exit_code == 0
    index = yaml.safe_load((sample / "index.yaml").read_text())
    assert next(p for p in index["packages"] if p["name"] == "pika")["skip"] is True


def test_resolve_command(cli: Any, fake_pypi: Any, empty_registry: Path, tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("greenlet\nno-such-project\n")
    done = cli(
        "resolve", "six", "--from-file", names, "--retries", "0", "--registry-dir", empty_registry
    )
    assert done.exit_code == 1
    assert done.stdout.splitlines() == [
        "created six: pure, https://github.com/benjaminp/six",
        "created greenlet: extensions, https://github.com/python-greenlet/greenlet",
    ]
    assert done.stderr == (
        f"failed no-such-project: not found on PyPI ({fake_pypi.url}/pypi/no-such-project/json)\n"
    )
    again = cli("resolve", "six", "--registry-dir", empty_registry)
    assert (again.exit_code, again.stdout) == (
        0,
        "unchanged six: pure, https://github.com/benjaminp/six\n",
    )
    nothing = cli("resolve", "--registry-dir", empty_registry)
    assert (nothing.exit_code, nothing.stderr) == (
        2,
        "error: resolve: give project names or --from-file\n",
    )


def test_registry_dir_errors(cli: Any, tmp_path: Path) -> None:
    for command in (["validate"], ["list"], ["show", "x"], ["index"], ["set-field", "a", "1"]):
        done = cli(*command, "--registry-dir", tmp_path / "missing")
        assert done.exit_code == 2
        assert done.stderr == f"error: --registry-dir: {tmp_path / 'missing'} does not exist\n"
    done = cli("validate", "--registry-dir", tmp_path)
    assert done.stderr.startswith(f"error: {tmp_path}: not a registry directory")


def test_the_apiary_command_mounts_the_registry_commands(sample: Path) -> None:
    apiary = Path(sys.executable).parent / "apiary"
    done = subprocess.run(
        [str(apiary), "registry", "list", "--top", "1", "--registry-dir", str(sample)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "APIARY_NO_CACHE": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].split()[0] == "packaging"


def test_python_m_registry_core_and_bad_input_in_a_real_process(sample: Path) -> None:
    (sample / "packages" / "bad.yaml").write_bytes(b"\xff\xfe\x00garbage")
    done = subprocess.run(
        [sys.executable, "-m", "registry_core", "validate", "--registry-dir", str(sample)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == f"{sample}/packages/bad.yaml:1:1: (file): not valid UTF-8 (byte 0xff)\n"
    assert "Traceback" not in done.stderr
