"""Write the generated tables of docs/conformance.md (roomwire.conformance.docs_tables).

    python tools/generate_docs.py

tests/conformance/test_docs_tables.py fails when the docs are out of date, naming this command.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "conformance.md"


def main() -> int:
    from roomwire.conformance.docs_tables import render

    text = DOCS.read_text(encoding="utf-8")
    updated = render(text)
    if updated != text:
        DOCS.write_text(updated, encoding="utf-8")
        sys.stdout.write(f"updated {DOCS}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
