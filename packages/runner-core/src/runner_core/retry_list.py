"""After an A/B run: the packages that regressed between conditions, to run again.

The first condition is the baseline; every other condition is compared with it. The
file lists one package per line, the format ``apiary run --packages-from`` reads.
"""

from __future__ import annotations

from pathlib import Path

from normalized_events import Condition
from normalized_events.layout import RunLayout
from reporter import Category, compare_conditions, load_run

_RETRY = (Category.REGRESSED, Category.NEW_CRASH_BUCKET)


def regressed_packages(run_dir: Path, conditions: list[Condition]) -> list[str]:
    if len(conditions) < 2:
        return []
    run = load_run(run_dir)
    baseline = conditions[0].name
    found: set[str] = set()
    for other in conditions[1:]:
        comparison = compare_conditions(run, baseline, other.name)
        for category in _RETRY:
            found.update(pair.package for pair in comparison.by_category(category))
    return sorted(found)


def write_retry_list(run_dir: Path, conditions: list[Condition]) -> Path | None:
    """Write ``retry-list.txt`` for a run with two or more conditions; None otherwise."""
    if len(conditions) < 2:
        return None
    path = RunLayout(run_dir).retry_list
    names = regressed_packages(run_dir, conditions)
    path.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
    return path
