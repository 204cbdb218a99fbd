"""Write the generated tables of docs/conformance.md and spec/SPEC.md §17 (roomwire.conformance.docs_tables).

    python tools/generate_docs.py

tests/conformance/test_docs_tables.py fails when the docs are out of date, naming this command.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "conformance.md"
SPEC = ROOT / "spec" / "SPEC.md"


def main() -> int:
    from roomwire.conformance.docs_tables import render, render_spec

    for path, rendering in ((DOCS, render), (SPEC, render_spec)):
        text = path.read_text(encoding="utf-8")
        updated = rendering(text)
        if updated != text:
            path.write_text(updated, encoding="utf-8")
            sys.stdout.write(f"updated {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
