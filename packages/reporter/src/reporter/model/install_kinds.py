"""Install failures by kind (the kind each install_error records), for reports."""

from __future__ import annotations

from collections import defaultdict

from normalized_events import DEFAULT_CONDITION, Outcome, PackageFinished


def install_failure_kind(result: PackageFinished | None) -> str | None:
    """The kind of an install_error (``other`` when the run predates the kinds)."""
    if result is None or result.outcome is not Outcome.INSTALL_ERROR:
        return None
    return result.install_failure.value if result.install_failure else "other"


def install_failures(results: list[PackageFinished]) -> dict[str, list[str]]:
    """Install failure kind -> the packages (``name [condition]``), most common first."""
    kinds: dict[str, list[str]] = defaultdict(list)
    for result in results:
        kind = install_failure_kind(result)
        if kind is not None:
            label = result.package
            if result.condition != DEFAULT_CONDITION:
                label += f" [{result.condition}]"
            kinds[kind].append(label)
    return {k: sorted(v) for k, v in sorted(kinds.items(), key=lambda kv: (-len(kv[1]), kv[0]))}
