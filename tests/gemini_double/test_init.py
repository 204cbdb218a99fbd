"""`roomwire --help` does not import Hypercorn or httpx (the package's exports: tests/test_exports.py)."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_imports_no_server() -> None:
    code = "import sys, roomwire.gemini_double.cli; print('hypercorn' in sys.modules, 'httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False", "False"]
