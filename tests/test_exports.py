"""Every package that exports lazily does it through `roomwire.spec.exports`, and its exports hold (python-websockets'
`tests/test_exports.py` is the model): `__all__` is the table, every name resolves to the object it names, an
unknown name is an AttributeError, and importing the package imports none of the modules it exports from.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from types import ModuleType

import pytest

from roomwire.spec.exports import lazy_getattr
from tests.support.layout import ROOT, packages


def lazy_packages() -> list[str]:
    """Every package of ours whose `__init__` assigns `__getattr__` (found by reading, so a new one is seen)."""
    found = []
    for folder, package in packages().items():
        for path in sorted((ROOT / folder).rglob("__init__.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assigned = [
                t.id
                for node in tree.body
                if isinstance(node, ast.Assign)
                for t in node.targets
                if isinstance(t, ast.Name)
            ]
            defined = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
            if "__getattr__" in assigned + defined:
                parts = path.parent.relative_to(ROOT / folder).parts
                found.append(".".join((package, *parts)))
    return found


def top_level_names(tree: ast.Module) -> set[str]:
    """The names a module binds at its top level by assignment or `def`."""
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names


PACKAGES = lazy_packages()


def test_the_lazy_packages_are_found() -> None:
    assert {"roomwire.reference", "roomwire.gemini_double", "roomwire.conformance"} <= set(PACKAGES)


def exports(package: ModuleType) -> dict[str, str]:
    table: dict[str, str] = getattr(package, "_EXPORTS")  # noqa: B009 - private by convention, read by this test
    return table


@pytest.mark.parametrize("name", PACKAGES)
def test_the_package_uses_the_one_helper(name: str) -> None:
    package = importlib.import_module(name)
    assert getattr(package.__getattr__, "__qualname__", "") == f"{lazy_getattr.__qualname__}.<locals>.__getattr__"


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_the_table_and_every_export_resolves(name: str) -> None:
    package = importlib.import_module(name)
    table = exports(package)
    assert sorted(package.__all__) == sorted(table)
    for public, where in table.items():
        module, _, attribute = where.partition(":")
        assert getattr(package, public) is getattr(importlib.import_module(f"{name}.{module}"), attribute or public)
    with pytest.raises(AttributeError, match="has no attribute 'not_exported'"):
        getattr(package, "not_exported")  # noqa: B009 - the attribute is missing on purpose


@pytest.mark.parametrize("name", PACKAGES)
def test_importing_the_package_imports_none_of_its_exports(name: str) -> None:
    package = importlib.import_module(name)
    modules = sorted({f"{name}.{where.partition(':')[0]}" for where in exports(package).values()})
    code = f"import sys, json, {name}; print(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == []


def test_the_helper_caches_and_refuses_unknown_names() -> None:
    namespace: dict[str, object] = {}
    getter = lazy_getattr("roomwire.spec", {"Level": "requirements", "MUST": "requirements:Level"}, namespace)
    from roomwire.spec.requirements import Level

    assert getter("Level") is Level and namespace == {"Level": Level} and getter("MUST") is Level
    with pytest.raises(AttributeError, match="'roomwire.spec' has no attribute 'Other'"):
        getter("Other")
