"""Load the JSON Schemas of `schemas/` once, and build validators that resolve `$ref`s among them offline.

The schemas ship inside the package (`roomwire/spec/schemas/`) and are registered by their `$id` in a
`referencing.Registry`, so no validation ever touches the network.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = "schemas"
CLIENT_FRAME = "client-frame.schema.json"
SERVER_FRAME = "server-frame.schema.json"


def _schema_files() -> list[tuple[str, Traversable]]:
    root = files("roomwire.spec").joinpath(SCHEMA_DIR)
    found: list[tuple[str, Traversable]] = []
    stack: list[tuple[str, Traversable]] = [("", root)]
    while stack:
        prefix, node = stack.pop()
        for child in node.iterdir():
            name = f"{prefix}{child.name}"
            if child.is_dir():
                stack.append((f"{name}/", child))
            elif child.name.endswith(".schema.json"):
                found.append((name, child))
    return sorted(found, key=lambda item: item[0])


@cache
def load_schemas() -> dict[str, dict[str, Any]]:
    """Every schema by its path under `schemas/` (e.g. `client/ai_msg.schema.json`)."""
    return {name: json.loads(node.read_text(encoding="utf-8")) for name, node in _schema_files()}


@cache
def registry() -> Registry[Any]:
    resources = [
        (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
        for schema in load_schemas().values()
    ]
    return Registry().with_resources(resources)


def schema(name: str) -> dict[str, Any]:
    """One schema by its path under `schemas/`; KeyError names the missing path."""
    return load_schemas()[name]


@cache
def validator(name: str) -> Draft202012Validator:
    """A 2020-12 validator for the schema at `name`, resolving references through the offline registry."""
    return Draft202012Validator(schema(name), registry=registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def frame_schema_name(direction: str, frame_type: str) -> str:
    """`client/ai_msg.schema.json` for ("client", "ai_msg")."""
    return f"{direction}/{frame_type}.schema.json"
