"""Call-to-test steps as a graph: which test case calls which, and the order to load them in.

A leaf module (it reads only canonical records), so the source index and the step mapping can
both use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ztoq.sources.records import TestStep

#: A call graph: test case key -> ``(step index, called key)`` of its call steps (see :func:`levels_of`).
CallGraph = Mapping[str, Sequence[tuple[int, str]]]


def call_edges(steps: Sequence[TestStep]) -> list[tuple[int, str]]:
    """``(step index, called key)`` of every call-to-test step, in order."""
    return [(i, c) for i, step in enumerate(steps) if (c := step.called_test_case) is not None]


def levels_of(graph: CallGraph) -> tuple[dict[str, int], dict[str, frozenset[int]]]:
    """:func:`ztoq.mapping.steps.call_levels` over a graph that may leave out the test cases calling nothing.

    Every edge must lead to a test case that exists (the caller filters them); a callee the graph
    does not list calls nothing. Its result is that of the whole graph: the test cases left out
    have depth 0 (they are not in ``levels`` unless something calls them) and close no cycle.
    """
    state: dict[str, int] = {}
    levels: dict[str, int] = {}
    broken: dict[str, set[int]] = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        state[start] = 1
        stack = [(start, iter(graph[start]))]
        while stack:
            node, edges = stack[-1]
            edge = next(edges, None)
            if edge is None:
                state[node] = 2
                stack.pop()
                deps = [levels[c] for i, c in graph.get(node, ()) if i not in broken.get(node, set())]
                levels[node] = 1 + max(deps) if deps else 0
                continue
            index, callee = edge
            if state.get(callee) == 1:
                broken.setdefault(node, set()).add(index)
            elif not state.get(callee):
                state[callee] = 1
                stack.append((callee, iter(graph.get(callee, ()))))
    return levels, {k: frozenset(v) for k, v in broken.items()}
