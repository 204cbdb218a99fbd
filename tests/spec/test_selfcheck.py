"""roomwire.spec.selfcheck: each check passes on the real spec and names what is wrong in a broken one."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from roomwire.spec import selfcheck
from roomwire.spec.schemas import load_schemas
from roomwire.spec.selfcheck import CHECKS, Check, catalog_problems, run_checks, schema_problems, vocabulary_problems


def test_every_check_passes_on_the_shipped_spec() -> None:
    checks = run_checks()
    assert [c.name for c in checks] == list(CHECKS) and all(c.ok for c in checks)


def test_extra_checks_run_after_the_builtin_ones() -> None:
    checks = run_checks({"mine": lambda: ["broken"]})
    assert checks[-1] == Check("mine", ("broken",)) and not checks[-1].ok


def _schemas() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(load_schemas())


def test_schema_problems_names_each_broken_rule() -> None:
    schemas = _schemas()
    ping = schemas["client/ping.schema.json"]
    ping["$schema"] = "http://json-schema.org/draft-07/schema#"
    ping["type"] = "objekt"
    del ping["title"]
    ping["examples"] = [{"type": "pong"}]
    schemas["client/user_msg.schema.json"]["$id"] = ping["$id"]
    schemas["server/pong.schema.json"]["properties"]["meta"] = {"type": "object"}
    del schemas["common.schema.json"]["$defs"]["ts"]["examples"]
    schemas["server/ai_done.schema.json"]["examples"] = []
    problems = "\n".join(schema_problems(schemas))
    for expected in [
        "client/ping.schema.json: $schema is not",
        "client/ping.schema.json: 'objekt' is not valid",
        "client/ping.schema.json: no title",
        "client/ping.schema.json/examples/0:",
        "client/user_msg.schema.json: $id is",
        "client/user_msg.schema.json: $id also used by client/ping.schema.json",
        "server/pong.schema.json: object schema at /properties/meta does not set additionalProperties",
        "common.schema.json#/$defs/ts: no examples",
        "server/ai_done.schema.json: no examples",
    ]:
        assert expected in problems


def test_catalog_problems_checks_the_table_both_ways() -> None:
    text = (
        "## 1. X\n"
        "- **A-001** · MUST · items 1, 12 — ok.\n"
        "- **A-002** · MUST · items 2 — missing from the table.\n"
        "| 1 | one | A-001, B-001 |\n"
        "| 3 | three | A-001 |\n"
    )
    problems = catalog_problems(text)
    assert "A-001: item 12 is not a checklist item" in problems
    assert "A-002: serves item 2 but §15 does not list it" in problems
    assert "§15 item 1: B-001 is not a requirement" in problems
    assert "§15 item 3: lists A-001, which does not serve it" in problems
    assert "checklist item 9 has no requirement" in problems
    assert catalog_problems("- **A-001** · MUST · items 1 — x.\n- **A-001** · MUST · items 1 — y.\n") == [
        "SPEC.md defines A-001 twice"
    ]


def test_vocabulary_problems_compares_codes_with_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    schemas = _schemas()
    schemas["server/system.schema.json"]["allOf"][2]["then"]["properties"]["code"]["enum"].remove("ai_busy")
    monkeypatch.setattr(selfcheck, "load_schemas", lambda: schemas)
    problems = vocabulary_problems()
    assert len(problems) == 1 and problems[0].startswith("system error codes:")
