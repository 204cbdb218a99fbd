"""The JSON Schemas: valid 2020-12, identified, titled, exemplified, explicit about unknown fields, and the
two unions dispatch on `type` to the per-type schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from roomwire.spec.codes import CLIENT_FRAME_TYPES, SERVER_FRAME_TYPES
from roomwire.spec.schemas import (
    CLIENT_FRAME,
    SERVER_FRAME,
    ecma_regex,
    frame_schema_name,
    load_schemas,
    registry,
    schema,
    validator,
)
from roomwire.spec.selfcheck import DIALECT, SCHEMA_BASE, schema_problems

NAMES = sorted(load_schemas())


def test_there_is_one_schema_per_frame_type_and_direction_plus_two_unions() -> None:
    expected = {frame_schema_name("client", t) for t in CLIENT_FRAME_TYPES}
    expected |= {frame_schema_name("server", t) for t in SERVER_FRAME_TYPES}
    assert set(NAMES) == expected | {CLIENT_FRAME, SERVER_FRAME, "common.schema.json"}


@pytest.mark.parametrize("name", NAMES)
def test_each_schema_passes_the_2020_12_metaschema(name: str) -> None:
    assert schema(name)["$schema"] == DIALECT
    Draft202012Validator.check_schema(schema(name))


@pytest.mark.parametrize("name", NAMES)
def test_each_schema_has_its_id_title_and_valid_examples(name: str) -> None:
    body = schema(name)
    assert body["$id"] == SCHEMA_BASE + name  # so relative $refs resolve the same on disk and by $id
    assert body["title"]
    if name == "common.schema.json":
        examples = [(f"#/$defs/{key}", e) for key, sub in body["$defs"].items() for e in sub["examples"]]
        assert len(examples) >= len(body["$defs"])
    else:
        examples = [("", e) for e in body["examples"]]
        assert examples
    check = Draft202012Validator({"$ref": ""}, registry=registry())
    for where, example in examples:
        assert check.evolve(schema={"$ref": body["$id"] + where}).is_valid(example), (where, example)


def test_ids_are_unique_and_the_self_check_agrees() -> None:
    ids = [schema(name)["$id"] for name in NAMES]
    assert len(ids) == len(set(ids))
    assert schema_problems() == []


def _object_schemas(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append((path, node))
        for key, value in node.items():
            if key not in ("examples", "enum", "const"):
                found += _object_schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _object_schemas(value, f"{path}/{index}")
    return found


@pytest.mark.parametrize("name", NAMES)
def test_every_object_schema_chooses_additional_properties_on_purpose(name: str) -> None:
    objects = _object_schemas(schema(name))
    assert objects
    for path, node in objects:
        assert "additionalProperties" in node, f"{name}{path}"
        assert node["additionalProperties"] is True, "SPEC.md §2: receivers ignore unknown fields"


@pytest.mark.parametrize(
    ("direction", "union", "types"),
    [("client", CLIENT_FRAME, CLIENT_FRAME_TYPES), ("server", SERVER_FRAME, SERVER_FRAME_TYPES)],
)
def test_the_unions_dispatch_on_type(direction: str, union: str, types: frozenset[str]) -> None:
    for frame_type in types:
        own = schema(frame_schema_name(direction, frame_type))
        for example in own["examples"]:
            assert validator(union).is_valid(example)
        broken = {**own["examples"][0], "id": "not valid!"}
        own_errors = {e.message for e in validator(frame_schema_name(direction, frame_type)).iter_errors(broken)}
        union_errors = {e.message for e in validator(union).iter_errors(broken)}
        assert own_errors and own_errors == union_errors, frame_type
    # ai_msg and ai_chunk need content: the union holds a bare {"type": ...} to its type's schema
    assert not validator(union).is_valid({"type": sorted(types)[0]})
    assert not validator(union).is_valid({"type": "nope"})


def test_ecma_regex_turns_only_end_anchors_into_end_of_string() -> None:
    assert ecma_regex("^a$") == r"^a\Z"
    assert ecma_regex(r"^[$]\$x$") == r"^[$]\$x\Z"
    assert ecma_regex(r"^[^\]$]+$") == r"^[^\]$]+\Z"


def test_validation_never_leaves_the_registry() -> None:
    # every $ref of every schema resolves offline
    for name in NAMES:
        resolver = registry().resolver(base_uri=schema(name)["$id"])
        for ref in _refs(schema(name)):
            assert resolver.lookup(ref).contents is not None, (name, ref)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if "$ref" in node else []) + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_only_schema_files_are_loaded_from_every_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from roomwire.spec import schemas as module

    (tmp_path / "schemas" / "sub").mkdir(parents=True)
    (tmp_path / "schemas" / "a.schema.json").write_text("{}", encoding="utf-8")
    (tmp_path / "schemas" / "sub" / "b.schema.json").write_text("{}", encoding="utf-8")
    (tmp_path / "schemas" / "README.md").write_text("not a schema", encoding="utf-8")
    monkeypatch.setattr(module, "files", lambda package: tmp_path)
    assert [name for name, _ in module._schema_files()] == ["a.schema.json", "sub/b.schema.json"]
