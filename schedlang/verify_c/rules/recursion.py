"""C002: no function may reach itself through calls (direct or mutual recursion).

Why a call graph: BPF has a fixed 512-byte stack and the verifier rejects recursion, but
the message it gives ("recursive call") names instructions, not functions. Strongly
connected components of the call graph between functions defined in the file name the
whole cycle, at the call that closes it.
"""

from __future__ import annotations

from pycparser import c_ast

from schedlang.diagnostics import Diagnostic
from schedlang.verify_c import findings as F
from schedlang.verify_c.astutil import callee_name, walk
from schedlang.verify_c.program import Program


def run(prog: Program) -> list[Diagnostic]:
    calls: dict[str, list[tuple[str, c_ast.FuncCall]]] = {}
    for name, func in prog.functions.items():
        calls[name] = [
            (callee, node)
            for node in walk(func.body)
            if isinstance(node, c_ast.FuncCall)
            and (callee := callee_name(node)) is not None
            and callee in prog.functions
        ]
    findings = []
    for component in _components({n: [c for c, _ in edges] for n, edges in calls.items()}):
        members = set(component)
        first = min(component, key=lambda n: list(prog.functions).index(n))
        cycle = _cycle_from(first, calls, members)
        if not cycle:
            continue
        path = " → ".join([first] + [callee_name(call) or "?" for _, call in cycle])
        detail = F.CALLS_ITSELF if len(cycle) == 1 else F.CALL_CYCLE
        findings.append(prog.at(cycle[-1][1], detail, name=first, path=path))
    return findings


def _cycle_from(
    start: str, calls: dict[str, list[tuple[str, c_ast.FuncCall]]], members: set[str]
) -> list[tuple[str, c_ast.FuncCall]]:
    """The call edges of a shortest cycle start → ... → start (breadth-first search)."""
    paths: dict[str, list[tuple[str, c_ast.FuncCall]]] = {start: []}
    queue = [start]
    while queue:
        current = queue.pop(0)
        for callee, call in calls[current]:
            if callee not in members:
                continue
            path = paths[current] + [(current, call)]
            if callee == start:
                return path
            if callee not in paths:
                paths[callee] = path
                queue.append(callee)
    return []


def _components(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components that contain a cycle (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = graph.get(node, [])
            if i < len(successors):
                work.append((node, i + 1))
                succ = successors[i]
                if succ not in index:
                    work.append((succ, 0))
                elif succ in on_stack:
                    low[node] = min(low[node], index[succ])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, []):
                    result.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result
