from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from runner_core.conditions import parse_condition
from runner_core.errors import OptionError
from runner_core.shards import (
    balanced_shards,
    hashed_shard,
    parse_shard,
    partition,
    shard_from_environment,
)

names = st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True), unique=True, max_size=300)


@settings(max_examples=60, deadline=None)
@given(names=names, total=st.integers(min_value=1, max_value=40))
def test_partition_is_disjoint_and_complete(names: list[str], total: int) -> None:
    owner = partition(names, total, None)
    assert set(owner) == set(names)
    assert all(1 <= shard <= total for shard in owner.values())
    shards = [{n for n in names if owner[n] == i} for i in range(1, total + 1)]
    assert sum(len(s) for s in shards) == len(names)


@settings(max_examples=40, deadline=None)
@given(names=names, more=names, total=st.integers(min_value=1, max_value=16))
def test_adding_packages_never_moves_existing_ones(
    names: list[str], more: list[str], total: int
) -> None:
    before = partition(names, total, None)
    after = partition(sorted(set(names) | set(more)), total, None)
    assert all(after[n] == before[n] for n in names)


def test_hash_partition_is_roughly_even_and_stable() -> None:
    names = [f"pkg-{i}" for i in range(4000)]
    sizes = [sum(1 for n in names if hashed_shard(n, 8) == i) for i in range(1, 9)]
    assert min(sizes) > 400 and max(sizes) < 600
    assert hashed_shard("requests", 8) == hashed_shard("requests", 8)


def test_balanced_partition_spreads_durations() -> None:
    durations = {f"p{i}": float(i) for i in range(1, 101)}
    owner = balanced_shards(list(durations), 4, durations)
    loads = [sum(d for n, d in durations.items() if owner[n] == s) for s in range(1, 5)]
    assert max(loads) - min(loads) <= 100
    assert balanced_shards(list(durations), 4, durations) == owner


@pytest.mark.parametrize("bad", ["0/4", "5/4", "x/4", "4", "1/0", "-1/2"])
def test_bad_shard_specs(bad: str) -> None:
    with pytest.raises(OptionError, match="--shard"):
        parse_shard(bad)


def test_shard_from_ci_environments() -> None:
    assert shard_from_environment({"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "5"}) == "2/5"
    assert shard_from_environment({"JOB_COMPLETION_INDEX": "0", "APIARY_SHARD_TOTAL": "3"}) == "1/3"
    assert shard_from_environment({"JOB_COMPLETION_INDEX": "0"}) is None
    assert shard_from_environment({}) is None


def test_conditions() -> None:
    jit = parse_condition("jit:env.PYTHON_JIT=1,env.X=a=b")
    assert jit.name == "jit" and jit.env == {"PYTHON_JIT": "1", "X": "a=b"} and jit.python is None
    new = parse_condition("new:python=/opt/py/bin/python3")
    assert new.python == "/opt/py/bin/python3"
    assert parse_condition("plain").env == {}
    for bad in ("bad name:env.X=1", "x:env.=1", "x:gpu=1", "x:nokey"):
        with pytest.raises(OptionError, match="--condition"):
            parse_condition(bad)
