"""Every module of the reference package, its rooms wing and the Redis broker has a line in its package's map.

A newcomer reads the package docstrings first; a module missing from them is one nobody finds (the review of
issue 14 found the reference's map naming 20 of 32 modules).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

PACKAGES = ["roomwire.reference", "roomwire.reference.rooms", "roomwire.reference.rooms.redis"]


def parts(package: str) -> list[str]:
    """The package's modules and sub-folders (code or data), as its map names them."""
    folder = Path(importlib.import_module(package).__path__[0])
    names = [path.stem for path in folder.glob("*.py") if path.stem != "__init__"]
    names += [f"{path.name}/" for path in folder.iterdir() if path.is_dir() and path.name != "__pycache__"]
    return sorted(names)


@pytest.mark.parametrize("package", PACKAGES)
def test_the_package_docstring_maps_every_module(package: str) -> None:
    doc = importlib.import_module(package).__doc__ or ""
    missing = [name for name in parts(package) if not re.search(rf"(?m)^ *{re.escape(name)}(\.py)? ", doc)]
    assert not missing, f"{package}'s docstring has no line for {missing}"


def test_a_module_it_does_not_have_is_noticed() -> None:
    assert "rooms/" in parts("roomwire.reference") and "broker" in parts("roomwire.reference.rooms")
