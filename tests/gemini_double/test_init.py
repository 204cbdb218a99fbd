"""The package's public names load lazily, so `roomwire --help` does not import Hypercorn or httpx."""

from __future__ import annotations

import subprocess
import sys

import pytest

import roomwire.gemini_double as package


def test_every_public_name_resolves() -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = package.nope


def test_the_cli_imports_no_server() -> None:
    code = "import sys, roomwire.gemini_double.cli; print('hypercorn' in sys.modules, 'httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False", "False"]
