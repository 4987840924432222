"""A deterministic topological order of packages, with a readable cycle (`a -> b -> a`)."""

from __future__ import annotations

from collections.abc import Mapping

from snapshot_publisher.errors import PlanError


class CycleError(PlanError):
    """The internal dependencies form a cycle; the message shows it as `a -> b -> a`."""


def find_cycle(graph: Mapping[str, set[str] | frozenset[str] | tuple[str, ...]]) -> list[str]:
    """One cycle of ``graph`` as a closed path `[a, b, a]`, or [] when there is none."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and dep in graph:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return []


def topological_order(
    graph: Mapping[str, set[str] | frozenset[str] | tuple[str, ...]],
) -> list[str]:
    """Dependencies before dependants; ties broken by name so the order is stable.

    ``graph`` maps each node to the nodes it depends on; edges to unknown nodes are ignored.
    """
    remaining = {
        node: {d for d in deps if d in graph and d != node} for node, deps in graph.items()
    }
    order: list[str] = []
    while remaining:
        ready = sorted(node for node, deps in remaining.items() if not deps)
        if not ready:
            cycle = find_cycle({node: set(deps) for node, deps in remaining.items()})
            raise CycleError("internal dependencies form a cycle: " + " -> ".join(cycle))
        for node in ready:
            order.append(node)
            del remaining[node]
        for deps in remaining.values():
            deps.difference_update(ready)
    return order
