"""No module of ours imports in a circle, counting every import: at module level, inside functions, and under
`TYPE_CHECKING` (a circle that only the type checker sees is still two modules that cannot be read apart).

The graph spans every folder setup.py maps into `roomwire` (spec, reference, conformance, ...) and `bench/`, which
is not installed: it may import `roomwire`, but nothing of `roomwire` may import it (a user's install has no
`bench`). An import of a package counts as an import of its `__init__`; an import of a module does not count as one
of its parents.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.layout import modules


def imported(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The modules of ours that `name` imports, wherever in the file the import stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    yield f"{base}.{alias.name}"
                elif base in known:
                    yield base


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: set(imported(name, path, known)) for name, path in found.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, or a module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_nothing_of_ours_imports_in_a_circle() -> None:
    edges = graph()
    assert "roomwire.reference.rooms.redis.state" in edges["roomwire.reference.rooms.redis.broker"]  # it sees
    assert "roomwire.conformance.context" in edges["roomwire.conformance.registry"]  # TYPE_CHECKING counts
    assert circles(edges) == []


def test_a_circle_is_found() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"a"}}) == [["a"]] and circles({"a": {"b"}, "b": set()}) == []


def test_relative_and_package_imports_resolve() -> None:
    edges = graph()
    assert "roomwire.reference.app" in edges["roomwire.reference"]  # `from .app import create_app`
    assert "roomwire.reference.rooms.redis.outage" in edges["roomwire.reference.rooms.redis.presence"]


def test_the_installed_package_never_imports_the_benchmarks() -> None:
    edges = graph()
    assert "roomwire.reference.hub" in edges["bench.frame_path"]  # it sees bench's imports of roomwire
    assert "bench.servers" in edges["bench.run"]  # ... and bench's own
    upward = {name: sorted(o for o in others if o.split(".")[0] == "bench") for name, others in edges.items()}
    assert {name: others for name, others in upward.items() if others and not name.startswith("bench")} == {}
