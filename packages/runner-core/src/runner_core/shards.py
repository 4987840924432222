"""Deterministic partitions of a selection into N shards.

Without durations a package's shard is a hash of its name modulo N: the same on every
machine, and adding packages to the registry never moves an existing package. With the
durations of an earlier run (``--balance-from``), packages are dealt longest first to the
least loaded shard (ties broken by name), so shards finish at about the same time.
"""

from __future__ import annotations

import hashlib
import heapq
import os
from dataclasses import replace

from runner_core.durations import Durations, expected
from runner_core.errors import OptionError
from runner_core.selection import Selection


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` (1-based) to ``(I, N)``."""
    index_text, sep, total_text = text.partition("/")
    try:
        index, total = int(index_text), int(total_text)
    except ValueError:
        index = total = 0
    if not sep or total < 1 or not 1 <= index <= total:
        raise OptionError(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. 2/8")
    return index, total


def shard_from_environment(environ: dict[str, str] | None = None) -> str | None:
    """GitLab ``parallel:`` (CI_NODE_INDEX/CI_NODE_TOTAL, 1-based) or a Kubernetes indexed
    job (JOB_COMPLETION_INDEX, 0-based, with APIARY_SHARD_TOTAL as the total)."""
    env = os.environ if environ is None else environ
    if env.get("CI_NODE_INDEX") and env.get("CI_NODE_TOTAL"):
        return f"{env['CI_NODE_INDEX']}/{env['CI_NODE_TOTAL']}"
    if env.get("JOB_COMPLETION_INDEX") and env.get("APIARY_SHARD_TOTAL"):
        try:
            return f"{int(env['JOB_COMPLETION_INDEX']) + 1}/{env['APIARY_SHARD_TOTAL']}"
        except ValueError:
            raise OptionError(
                f"JOB_COMPLETION_INDEX={env['JOB_COMPLETION_INDEX']!r} is not a number"
            ) from None
    return None


def hashed_shard(name: str, total: int) -> int:
    """1-based shard of a package name."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big") % total + 1


def balanced_shards(names: list[str], total: int, durations: Durations) -> dict[str, int]:
    """Longest processing time first: each package to the currently lightest shard."""
    seconds = expected(names, durations)
    order = sorted(names, key=lambda n: (-seconds[n], n))
    heap = [(0.0, shard) for shard in range(1, total + 1)]
    assigned: dict[str, int] = {}
    for name in order:
        load, shard = heapq.heappop(heap)
        assigned[name] = shard
        heapq.heappush(heap, (load + seconds[name], shard))
    return assigned


def partition(names: list[str], total: int, durations: Durations | None) -> dict[str, int]:
    if durations:
        return balanced_shards(sorted(set(names)), total, durations)
    return {name: hashed_shard(name, total) for name in names}


def apply_shard(selection: Selection, spec: str, durations: Durations | None) -> Selection:
    index, total = parse_shard(spec)
    names = [s.entry.package for s in selection.run]
    names += [s.package for s in selection.skipped] + [s.package for s in selection.invalid]
    owner = partition(names, total, durations)
    return replace(
        selection,
        run=[s for s in selection.run if owner[s.entry.package] == index],
        skipped=[s for s in selection.skipped if owner[s.package] == index],
        invalid=[s for s in selection.invalid if owner[s.package] == index],
    )
