"""roomwire.spec.schema_strategies: bundling removes every $ref; objects and if/then branches are built here."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings

from roomwire.spec.schema_strategies import _merged, bundled, schema_strategy
from roomwire.spec.schemas import load_schemas, validator


def test_bundles_hold_no_reference_and_are_fresh_copies() -> None:
    for name in load_schemas():
        bundle = bundled(name)
        assert "$ref" not in json.dumps(bundle), name
        bundle["mutated"] = True
        assert "mutated" not in bundled(name)


def test_a_reference_with_siblings_keeps_them() -> None:
    bundle = bundled("client-frame.schema.json")
    assert bundle["allOf"][0]["then"]["title"] == "user_msg (client → server)"


def test_merging_object_schemas() -> None:
    merged = _merged(
        [
            {
                "type": "object",
                "properties": {"a": {"type": "string"}, "o": {"properties": {"x": {}}}},
                "required": ["a"],
            },
            {
                "properties": {"a": {"minLength": 2}, "o": {"required": ["x"]}},
                "required": ["a", "b"],
                "additionalProperties": False,
            },
            {"allOf": [{"properties": {"c": {"const": 1}}, "required": ["c"]}, {"if": {}, "then": {}}]},
        ]
    )
    assert merged["required"] == ["a", "b", "c"] and merged["additionalProperties"] is False
    assert merged["properties"]["a"] == {"allOf": [{"type": "string"}, {"minLength": 2}]}
    assert merged["properties"]["o"]["required"] == ["x"]


CLOSED: dict[str, Any] = {
    "type": "object",
    "properties": {"kind": {"enum": ["a", "b"]}, "n": {"type": "integer"}},
    "required": ["n"],
    "additionalProperties": False,
    "allOf": [
        {
            "if": {"properties": {"kind": {"const": "a"}}, "required": ["kind"]},
            "then": {"properties": {"n": {"minimum": 10}}},
        },
        {
            "if": {"properties": {"kind": {"const": "b"}}, "required": ["kind"]},
            "then": {"required": ["extra"], "properties": {"extra": {"type": "boolean"}}},
        },
    ],
}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_strategy(CLOSED))
def test_conditional_objects_are_built_per_branch(value: dict[str, Any]) -> None:
    assert set(value) <= {"kind", "n", "extra"}  # additionalProperties false: no unknown fields
    if value.get("kind") == "a":
        assert value["n"] >= 10
    if value.get("kind") == "b":
        assert isinstance(value["extra"], bool)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_strategy(bundled("client/ai_msg.schema.json")))
def test_arrays_of_objects_are_built_here(frame: dict[str, Any]) -> None:
    assert validator("client/ai_msg.schema.json").is_valid(frame)
    assert all(set(item) >= {"role", "content"} for item in frame.get("history", []))
