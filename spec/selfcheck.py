"""The spec's self-check: the schemas, the AsyncAPI document and SPEC.md's catalog are consistent.

Each function returns its problems as one line each (empty: all good), so that `roomwire spec check` prints
them and the tests can feed each one a broken input. The fixture check belongs to `roomwire.fixtures`
(`fixture_problems`), which imports this package and not the other way round.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from roomwire.spec.asyncapi import load_document, schema_errors, unresolved_refs
from roomwire.spec.codes import ErrorCode, NoticeCode
from roomwire.spec.requirements import CHECKLIST, Requirement, parse_checklist_table, parse_requirements, spec_text
from roomwire.spec.schemas import RoomwireValidator, load_schemas, registry

SCHEMA_BASE = "https://schemas.roomwire.dev/v1/"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class Check:
    """One named self-check and what it found."""

    name: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _subschemas(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key not in ("examples", "const", "enum", "default"):
                yield from _subschemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _subschemas(value, f"{path}/{index}")


def _validate(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = RoomwireValidator(schema, registry=registry())
    return [error.message[:200] for error in validator.iter_errors(instance)]


def schema_problems(schemas: Mapping[str, dict[str, Any]] | None = None) -> list[str]:
    """Each schema: valid 2020-12, `$id` unique and matching its path, `title`, valid `examples` (for a file
    of `$defs` only: on every definition), and `additionalProperties` on every object schema it defines."""
    problems: list[str] = []
    ids: dict[str, str] = {}
    for name, schema in (load_schemas() if schemas is None else schemas).items():
        if schema.get("$schema") != DIALECT:
            problems.append(f"{name}: $schema is not {DIALECT}")
        metaschema = Draft202012Validator(Draft202012Validator.META_SCHEMA)
        problems += [f"{name}: {error.message[:200]}" for error in metaschema.iter_errors(schema)]
        if schema.get("$id") != SCHEMA_BASE + name:
            problems.append(f"{name}: $id is {schema.get('$id')!r}, not {SCHEMA_BASE + name!r}")
        if schema.get("$id") in ids:
            problems.append(f"{name}: $id also used by {ids[schema['$id']]}")
        ids[schema.get("$id", "")] = name
        if not schema.get("title"):
            problems.append(f"{name}: no title")
        problems += _example_problems(name, schema)
        for path, node in _subschemas(schema, ""):
            if node.get("type") == "object" and "additionalProperties" not in node:
                problems.append(f"{name}: object schema at {path or '/'} does not set additionalProperties")
    return problems


def _example_problems(name: str, schema: dict[str, Any]) -> list[str]:
    if "type" not in schema and "$defs" in schema:  # a file of shared definitions: each has its examples
        targets = [(f"#/$defs/{key}", sub) for key, sub in schema["$defs"].items()]
    else:
        targets = [("", schema)]
    problems = []
    for where, target in targets:
        if not target.get("examples"):
            problems.append(f"{name}{where}: no examples")
        reference = {"$ref": f"{schema['$id']}{where}"}
        for index, example in enumerate(target.get("examples", [])):
            problems += [f"{name}{where}/examples/{index}: {m}" for m in _validate(reference, example)]
    return problems


def _payload_schema(message: dict[str, Any]) -> dict[str, Any] | None:
    ref = message.get("payload", {}).get("schema", {}).get("$ref", "")
    wanted = SCHEMA_BASE + ref.removeprefix("./schemas/")
    return next((schema for schema in load_schemas().values() if schema.get("$id") == wanted), None)


def asyncapi_problems(document: dict[str, Any] | None = None) -> list[str]:
    """The AsyncAPI document: valid against the official 3.0.0 schema, every `$ref` resolves, and every
    message example validates against the JSON Schema of its payload."""
    doc = load_document() if document is None else document
    problems = schema_errors(doc) + unresolved_refs(doc)
    for key, message in doc.get("components", {}).get("messages", {}).items():
        schema = _payload_schema(message)
        if schema is None:
            problems.append(f"components/messages/{key}: payload is not one of schemas/")
            continue
        for index, example in enumerate(message.get("examples", [])):
            problems += [
                f"components/messages/{key}/examples/{index}: {m}" for m in _validate(schema, example["payload"])
            ]
    return problems


def catalog_problems(text: str | None = None) -> list[str]:
    """SPEC.md's requirements (IDs unique, each serving items 1-9) agree both ways with the §15 table, and every
    checklist item is served."""
    source = spec_text() if text is None else text
    try:
        catalog: dict[str, Requirement] = parse_requirements(source)
    except ValueError as exc:
        return [str(exc)]
    table = parse_checklist_table(source)
    problems = []
    for requirement in catalog.values():
        for item in requirement.items:
            if item not in CHECKLIST:
                problems.append(f"{requirement.id}: item {item} is not a checklist item")
            elif requirement.id not in table.get(item, ()):
                problems.append(f"{requirement.id}: serves item {item} but §15 does not list it")
    for item, ids in sorted(table.items()):
        for requirement_id in ids:
            if requirement_id not in catalog:
                problems.append(f"§15 item {item}: {requirement_id} is not a requirement")
            elif item not in catalog[requirement_id].items:
                problems.append(f"§15 item {item}: lists {requirement_id}, which does not serve it")
    problems += [f"checklist item {item} has no requirement" for item in CHECKLIST if not table.get(item)]
    return problems


def vocabulary_problems() -> list[str]:
    """The error and notice codes of `codes.py` are exactly those the system schema allows."""
    allowed: dict[str, set[str]] = {}
    for member in load_schemas()["server/system.schema.json"]["allOf"]:
        event = member["if"].get("properties", {}).get("event", {}).get("const")
        if event in ("error", "notice"):
            allowed[event] = set(member["then"]["properties"]["code"]["enum"])
    problems = []
    for event, codes in (("error", {c.value for c in ErrorCode}), ("notice", {c.value for c in NoticeCode})):
        if allowed.get(event) != codes:
            problems.append(
                f"system {event} codes: schema {sorted(allowed.get(event, ()))} != codes.py {sorted(codes)}"
            )
    return problems


CHECKS: dict[str, Callable[[], list[str]]] = {
    "schemas": schema_problems,
    "asyncapi": asyncapi_problems,
    "catalog": catalog_problems,
    "vocabulary": vocabulary_problems,
}


def run_checks(extra: Mapping[str, Callable[[], list[str]]] | None = None) -> list[Check]:
    """Run every check of `CHECKS`, then `extra` (e.g. the fixtures), in order."""
    return [Check(name, tuple(check())) for name, check in {**CHECKS, **(extra or {})}.items()]
