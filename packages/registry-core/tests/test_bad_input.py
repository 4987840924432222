"""Whatever a user puts in a registry, loading and the commands answer in located lines."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from registry_core import PackageEntry, load_registry
from registry_core.document import Document
from registry_core.model import FIELD_ORDER, PACKAGE_NAME
from registry_core.yamlread import parse
from typer.testing import CliRunner

_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)

QUICK = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["3.15", "yes", "no", "on", "~", "0755", "1_000", "0x1F", "2024-01-01", ""]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
field_names = st.sampled_from(FIELD_ORDER) | st.text(min_size=1, max_size=12)
documents = st.dictionaries(field_names, values, max_size=8)


@contextmanager
def registry_with(files: dict[str, bytes]) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="registry-"))
    try:
        (root / "packages").mkdir()
        for name, content in files.items():
            (root / "packages" / name).write_bytes(content)
        yield root
    finally:
        shutil.rmtree(root)


def _check_problems(loaded: Any) -> None:
    for problem in loaded.problems + loaded.strict_problems:
        text = str(problem)
        assert "\n" not in text and "\r" not in problem.message
        assert problem.line >= 1 and problem.column >= 1
        assert f":{problem.line}:{problem.column}: " in text


@QUICK
@given(content=st.binary(max_size=300))
def test_random_bytes_never_stop_the_load(content: bytes) -> None:
    with registry_with({"junk.yaml": content, "fine.yaml": b"package: fine\n"}) as root:
        loaded = load_registry(root, use_cache=False)
        assert "fine" in loaded.entries
        assert ("junk" in loaded.entries) != bool(loaded.problems)
        _check_problems(loaded)


@QUICK
@given(document=documents, name=st.sampled_from(["pkg", "other"]))
def test_random_yaml_documents_agree_with_the_model(document: dict[str, Any], name: str) -> None:
    text = yaml.safe_dump(document, allow_unicode=True).encode()
    with registry_with({"pkg.yaml": text}) as root:
        loaded = load_registry(root, use_cache=False)
        _check_problems(loaded)
        try:
            expected: PackageEntry | None = PackageEntry.model_validate(document)
        except ValidationError:
            expected = None
        if expected is not None and expected.package == "pkg":
            assert loaded.entries == {"pkg": expected}
        else:
            assert loaded.entries == {} and loaded.problems


@QUICK
@given(field=st.sampled_from(FIELD_ORDER[1:]), value=values)
def test_a_wrong_value_is_blamed_on_its_field_and_line(field: str, value: Any) -> None:
    lines = ["package: pkg", "notes: first", yaml.safe_dump({field: value}).rstrip("\n")]
    with registry_with({"pkg.yaml": ("\n".join(lines) + "\n").encode()}) as root:
        loaded = load_registry(root, use_cache=False)
        try:
            PackageEntry.model_validate({"package": "pkg", "notes": "first", field: value})
            valid = field != "notes"  # a second notes is a duplicate field
        except ValidationError:
            valid = False
        if valid:
            assert "pkg" in loaded.entries
        else:
            assert {p.field for p in loaded.problems} == {field}
            assert all(p.line >= 3 for p in loaded.problems)


stems = st.text(
    st.characters(blacklist_characters="/\x00", blacklist_categories=_SURROGATES),
    min_size=1,
    max_size=40,
)


@QUICK
@given(stem=stems)
def test_odd_file_names(stem: str) -> None:
    try:
        with registry_with({f"{stem}.yaml": yaml.safe_dump({"package": stem}).encode()}) as root:
            loaded = load_registry(root, use_cache=False)
            _check_problems(loaded)
            if PACKAGE_NAME.match(stem):
                assert list(loaded.entries) == [stem]
            else:
                assert loaded.entries == {} and len(loaded.problems) == 1
    except OSError:
        pass  # a name this filesystem refuses (too long in bytes) cannot be in a registry


runner = CliRunner()


@pytest.fixture(scope="module")
def cli_registry(tmp_path_factory: pytest.TempPathFactory, sample_source: Path) -> Path:
    root = tmp_path_factory.mktemp("cli") / "registry"
    shutil.copytree(sample_source, root)
    (root / "packages" / "broken.yaml").write_bytes(b"package: broken\ntimeout: [\n")
    return root


args = st.text(
    st.characters(blacklist_categories=_SURROGATES, blacklist_characters="\x00"), max_size=20
)


@QUICK
@given(
    command=st.sampled_from(
        ["set-field", "add-field", "remove-field", "rename-field", "list", "show"]
    ),
    first=args,
    second=args,
    where=st.lists(args, max_size=2),
    packages=st.lists(args, max_size=2),
)
def test_commands_answer_bad_arguments_in_lines_never_tracebacks(
    cli_registry: Path,
    command: str,
    first: str,
    second: str,
    where: list[str],
    packages: list[str],
) -> None:
    argv = [command]
    if command in ("set-field", "rename-field"):
        argv += [first, second]
    elif command != "list":
        argv += [first]
    if command != "show":
        for item in where:
            argv += ["--where", item]
        for item in packages:
            argv += ["--packages", item]
    argv += ["--registry-dir", str(cli_registry)]
    before = {p.name: p.read_bytes() for p in (cli_registry / "packages").iterdir()}
    result = runner.invoke(__import__("registry_core.cli").cli.app, argv)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1, 2)
    if result.exit_code != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) <= 1
    after = {p.name: p.read_bytes() for p in (cli_registry / "packages").iterdir()}
    assert after == before  # nothing was applied


# --- the quick constructor and the line editor against PyYAML itself --------------------


@QUICK
@given(document=st.one_of(documents, values))
def test_parse_gives_what_safe_load_gives(document: Any) -> None:
    text = yaml.safe_dump(document, allow_unicode=True)
    assert parse(text).data == yaml.safe_load(text)


plain = st.text(st.characters(codec="utf-8", blacklist_categories=("Cs", "Cc")), max_size=120)


@QUICK
@given(
    document=st.dictionaries(st.sampled_from(FIELD_ORDER[1:]), values, min_size=1, max_size=8),
    field=st.sampled_from(FIELD_ORDER[1:]),
    value=values | plain,
    width=st.sampled_from([20, 80, 1000]),
)
def test_set_changes_only_its_field(
    document: dict[str, Any], field: str, value: Any, width: int
) -> None:
    text = yaml.safe_dump(
        {"package": "pkg", **document}, width=width, allow_unicode=True, sort_keys=False
    )
    original = Document(text)
    lines = list(original.lines)
    edited = Document(text)
    edited.set(field, value)
    # What PyYAML itself reads back (its emitter does not round-trip every odd string).
    before = yaml.safe_load(text)
    written = yaml.safe_load(yaml.safe_dump({field: value}, allow_unicode=True))[field]
    assert yaml.safe_load(edited.text()) == {**before, field: written}
    # Every line outside the field's own lines is kept, in order, byte for byte.
    new = edited.lines
    span = original.spans.get(field)
    if span is not None:
        head, tail = span.first, span.last + 1
    else:  # inserted: the new lines sit at the first place the two texts differ
        pairs = enumerate(zip(lines, new, strict=False))
        head = tail = next((i for i, (a, b) in pairs if a != b), len(lines))
    assert new[:head] == lines[:head]
    assert new[len(new) - (len(lines) - tail) :] == lines[tail:]
    edited.remove(field)
    without = dict(before)
    without.pop(field, None)
    assert yaml.safe_load(edited.text()) == without
