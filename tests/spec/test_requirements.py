"""roomwire.spec.requirements: SPEC.md as a catalog, and its §15 checklist table agreeing with it both ways."""

from __future__ import annotations

import pytest

from roomwire.spec.requirements import (
    CHECKLIST,
    Level,
    by_item,
    catalog,
    checklist_table,
    parse_checklist_table,
    parse_requirements,
    requirement,
)
from roomwire.spec.selfcheck import catalog_problems

SAMPLE = """\
## 3. Bad input

- **INPUT-001** · MUST · items 3 — A text frame that is not JSON gets bad_json.
    Seed: the seed's receive_json() raises.
    Why: the connection must survive.
- **INPUT-004** · SHOULD · item 3, 4 — Binary closes with 1003.

Not a requirement line.
    indented, but after a paragraph: not a note

## 9. Errors
- **ERR-001** · MAY · items 8 — Codes.
"""


def test_the_catalog_has_unique_well_formed_ids_in_document_order() -> None:
    requirements = catalog()
    assert len(requirements) >= 80
    assert list(requirements)[:2] == ["CONN-001", "CONN-002"]
    for requirement_id, item in requirements.items():
        assert item.id == requirement_id and item.area == requirement_id.split("-")[0]
        assert item.level in set(Level) and item.items and item.text and item.section


def test_every_level_is_used() -> None:
    assert {r.level for r in catalog().values()} == {Level.MUST, Level.SHOULD, Level.MAY}


def test_the_checklist_table_agrees_with_the_items_of_every_requirement_both_ways() -> None:
    table = checklist_table()
    assert sorted(table) == list(range(1, 10)) == sorted(CHECKLIST)
    for item, ids in table.items():
        assert len(ids) == len(set(ids)), f"item {item} lists an ID twice"
        for requirement_id in ids:
            assert item in requirement(requirement_id).items, (item, requirement_id)
    for item_requirement in catalog().values():
        for item in item_requirement.items:
            assert item_requirement.id in table[item], (item_requirement.id, item)
    assert catalog_problems() == []


def test_every_checklist_item_is_served_by_a_must() -> None:
    for item in CHECKLIST:
        assert any(r.level is Level.MUST for r in by_item(item)), item


def test_parse_requirements_reads_levels_items_sections_and_notes() -> None:
    parsed = parse_requirements(SAMPLE)
    assert list(parsed) == ["INPUT-001", "INPUT-004", "ERR-001"]
    first = parsed["INPUT-001"]
    assert (first.level, first.items, first.section) == (Level.MUST, (3,), "3. Bad input")
    assert first.notes == "Seed: the seed's receive_json() raises. Why: the connection must survive."
    assert parsed["INPUT-004"].items == (3, 4) and parsed["INPUT-004"].notes == ""
    assert parsed["ERR-001"].section == "9. Errors" and parsed["ERR-001"].level is Level.MAY


def test_a_duplicate_id_is_an_error_in_the_document() -> None:
    with pytest.raises(ValueError, match="INPUT-001 twice"):
        parse_requirements(SAMPLE + "- **INPUT-001** · MUST · items 3 — again.\n")


def test_parse_checklist_table_reads_only_numbered_rows() -> None:
    text = (
        "## 15. The seed's checklist\n| # | item | requirements |\n|---|---|---|\n"
        "| 3 | 사용자 A | CHAT-001, INPUT-001 |\n"
        "| 1000 | normal | x |\n## 17. The seed profile\n| 4 | another section's table | AI-001 |\n"
    )
    assert parse_checklist_table(text) == {3: ("CHAT-001", "INPUT-001")}


def test_requirement_and_by_item() -> None:
    assert requirement("AI-007").items == (5,)
    assert [r.id for r in by_item(5)] == ["AI-007"]
    with pytest.raises(KeyError):
        requirement("NOPE-001")
