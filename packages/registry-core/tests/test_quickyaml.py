"""The quick reader gives exactly what yaml.safe_load gives, or declines."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry_core.quickyaml import Declined, quick_load
from registry_core.yamlread import YamlProblem, parse

QUICK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=40),
    st.text(st.sampled_from("ab :#-'\"\\\n\t~.01xyé"), max_size=30),
    st.sampled_from(
        [
            "3.15",
            "yes",
            "No",
            "on",
            "~",
            "0755",
            "1_000",
            "0x1F",
            "1:30",
            ".inf",
            "2024-01-01",
            "",
            "-",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.one_of(st.text(max_size=8), st.integers(), st.booleans()), inner, max_size=4
        )
    ),
    max_leaves=12,
)
documents = st.dictionaries(st.text(min_size=1, max_size=12), values, min_size=1, max_size=8)
dump_options = st.fixed_dictionaries(
    {
        "width": st.sampled_from([10, 40, 80, 1000]),
        "allow_unicode": st.booleans(),
        "sort_keys": st.booleans(),
        "default_flow_style": st.sampled_from([False, None]),
    }
)

FRAGMENTS = [
    ": ",
    " #",
    "#",
    "'",
    '"',
    "''",
    "- ",
    "-",
    "? ",
    "|",
    ">",
    "&a ",
    "*a",
    "!!str ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\n",
    "\n  ",
    "\n- ",
    "\n\n",
    "  ",
    "\t",
    "\r",
    "%",
    "@",
    "`",
    "---\n",
    "...\n",
    "~",
    "null",
    "yes",
    "0x1F",
    "1_0",
    "0o7",
    "1:30",
    ".inf",
    ".nan",
    "2024-01-01",
    "\\",
    "\ufeff",
    "\x85",
    "\u2028",
    "é",
    "a:",
    ":",
    "x: y\n",
    "\n x",
    "\n    - z",
    "\n  k: v",
]


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def check(text: str) -> bool:
    """quick_load agrees with yaml.safe_load or declines; True when it accepted."""
    try:
        expected = yaml.safe_load(text)
    except yaml.YAMLError:
        with pytest.raises(Declined):
            quick_load(text)
        return False
    try:
        quick = quick_load(text)
    except Declined:
        return False
    assert same(quick.data, expected), (text, quick.data, expected)
    slow = parse(text)
    assert quick.positions == slow.positions
    return True


@QUICK
@given(document=documents, options=dump_options)
def test_emitter_output(document: dict[str, Any], options: dict[str, Any]) -> None:
    check(yaml.safe_dump(document, **options))


@QUICK
@given(
    document=documents,
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.sampled_from(FRAGMENTS) | st.text(max_size=3)),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_emitter_output(document: dict[str, Any], edits: list[tuple[float, str]]) -> None:
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    for where, fragment in edits:
        at = int(where * len(text))
        text = text[:at] + fragment + text[at:]
    try:
        check(text)
    except YamlProblem:  # pragma: no cover - parse() of a text safe_load accepted
        raise


def test_every_sample_file_takes_the_quick_path(sample_source: Path) -> None:
    files = [*sorted((sample_source / "packages").glob("*.yaml")), sample_source / "index.yaml"]
    for path in files:
        assert check(path.read_text(encoding="utf-8")), path.name


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n# comment\n",
        "a: 1\n\nb: 2\n",
        "a: 1",
        "a: 'unclosed\n  still'\n",
        "a: |\n  block\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: [1, 2]\n",
        "a:\tb\n",
        "a: 1\r\n",
        "a: 1\na: 2\n",
        "1: x\n",
        "- a\n",
        "a: b: c\n",
        "a: b #c\n",
        'a: "esc\\n"\n',
        "---\na: 1\n",
        "a: 2024-01-01\n",
    ],
)
def test_what_it_declines(text: str) -> None:
    with pytest.raises(Declined):
        quick_load(text)


@pytest.mark.parametrize(
    ("text", "data"),
    [
        (
            "a: 0755\nb: 0x1F\nc: 1_000\nd: 1:30\ne: .inf\nf: -1.5e+3\ng: 1.5e3\n",
            {"a": 493, "b": 31, "c": 1000, "d": 90, "e": math.inf, "f": -1500.0, "g": "1.5e3"},
        ),
        (
            "a: yes\nb: Off\nc: ~\nd: null\ne:\nf: ''\ng: \"\"\n",
            {"a": True, "b": False, "c": None, "d": None, "e": None, "f": "", "g": ""},
        ),
        (
            "a: one\n  two\n    three\nb: it''s\nc: 'it''s'\n",
            {"a": "one two three", "b": "it''s", "c": "it's"},
        ),
        (
            "s:\n  '3.15': x\n  3.14: y\nl:\n- 1\n- two\n  words\n",
            {"s": {"3.15": "x", 3.14: "y"}, "l": [1, "two words"]},
        ),
        (
            "p:\n- name: a\n  k:\n  - '1'\n- name: b\n  k: []\n",
            {"p": [{"name": "a", "k": ["1"]}, {"name": "b", "k": []}]},
        ),
    ],
)
def test_what_it_reads(text: str, data: Any) -> None:
    assert same(quick_load(text).data, data)
    assert same(yaml.safe_load(text), data)
