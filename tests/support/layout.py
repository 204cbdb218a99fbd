"""The repository as the tests see it: its root, setup.py's folder mapping (plus `bench/`, which is ours but not
installed), and every module by import name.

The repo-shape tests (import circles, module sizes, lazy exports, tests mirroring modules) read the source tree,
not the installed package, so they judge what a change adds before it is installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: The repository's root folder (the tests run from a checkout, also under tox).
ROOT = Path(__file__).resolve().parents[2]

#: Top-level folders of ours that setup.py does not map into `roomwire` (so the wheel lacks them): folder -> package.
UNMAPPED = {"bench": "bench"}


def folders() -> dict[str, str]:
    """setup.py's one folder mapping (it runs `setup()` only as __main__)."""
    spec = importlib.util.spec_from_file_location("roomwire_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mapping: dict[str, str] = module.FOLDERS
    return mapping


def packages() -> dict[str, str]:
    """Every top-level folder of ours and the package it imports as: setup.py's mapping and `UNMAPPED`."""
    return {**folders(), **UNMAPPED}


def modules() -> dict[str, Path]:
    """Every module of ours by its import name, installed (`roomwire.*`) or not (`bench.*`)."""
    found: dict[str, Path] = {}
    for folder, package in packages().items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if "__pycache__" in parts:
                continue
            name = ".".join((package, *parts))
            found[name.removesuffix(".__init__")] = path
    return found
