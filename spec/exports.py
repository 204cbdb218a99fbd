"""The one way a roomwire package exports names lazily (python-websockets' `imports.py` is the model).

A package's `__init__` names its public API in `__all__` but imports nothing heavy, because `roomwire --help`
imports every part's package on its way to that part's `cli` and must not pay for Quart, Hypercorn, httpx or the
SDK. The package keeps a table `_EXPORTS` (public name -> the module that defines it, relative to the package,
with `:attribute` when the name there differs) and sets `__getattr__ = lazy_getattr(__name__, _EXPORTS,
globals())`; its `if TYPE_CHECKING:` imports give type checkers the same names. tests/test_exports.py holds
every such package to it: `__all__` is the table's keys and every name resolves to the object it names.

Generic on purpose: this module knows no other module of roomwire, so `roomwire.spec` still imports nothing of ours.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, exports: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], object]:
    """A module `__getattr__` (PEP 562) that imports `exports[name]` on first use and keeps it in `namespace`.

    Args:
        package: the package's `__name__`; the table's module paths are relative to it.
        exports: public name -> `"module"` or `"module:attribute"` (`"rooms.broker"`, `"faults:KINDS"`).
        namespace: the package's `globals()`, so the second use of a name costs nothing.

    Raises:
        AttributeError: (from the returned function) `name` is not in the table, as for any missing attribute.
    """

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = exports[name].partition(":")
        value = getattr(importlib.import_module(f"{package}.{module}"), attribute or name)
        namespace[name] = value
        return value

    return __getattr__
