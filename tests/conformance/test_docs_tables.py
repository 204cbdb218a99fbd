"""docs/conformance.md's tables are generated from the registry, never kept by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from roomwire.conformance.docs_tables import MARKERS, checks_table, exchanges_table, render, variants_table
from roomwire.spec.requirements import catalog

DOCS = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"


def test_the_docs_tables_are_the_registrys() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert render(text) == text, "docs/conformance.md is out of date: run python tools/generate_docs.py"


def test_the_tables_name_every_requirement_variant_and_shared_answer() -> None:
    checks = checks_table()
    assert (
        checks.count("\n| ") == len(catalog())
        and "`refuses_long_room_ids`" in checks
        and "[AI: shares plain]" in checks
    )
    assert "`strips_chunk_whitespace` | strips whitespace from each ai_chunk | AI-004" in variants_table()
    assert "| `plain` |" in exchanges_table() and "| `up-stall` |" in exchanges_table()


def test_a_missing_marker_is_an_error() -> None:
    with pytest.raises(ValueError, match="no marker"):
        render("no markers here")
    assert set(MARKERS) == {"checks", "variants", "exchanges"}
