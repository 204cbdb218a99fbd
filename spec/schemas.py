"""Load the JSON Schemas of `schemas/` once, and build validators that resolve `$ref`s among them offline.

The schemas ship inside the package (`roomwire/spec/schemas/`) and are registered by their `$id` in a
`referencing.Registry`, so no validation ever touches the network.

JSON Schema's `pattern` is an ECMA-262 regular expression, where `$` (without the multiline flag) matches only
at the very end of the string. jsonschema runs patterns with Python's `re.search`, whose `$` also matches
before a trailing newline: `^[A-Za-z0-9_-]{1,64}$` would accept "lobby" plus a newline, and the nickname
pattern a nickname ending in a newline, a control character SPEC.md §4 forbids. `validator()` therefore checks
`pattern` with ECMA-262's meaning of `$` (`ecma_regex`); the schemas stay portable and other validators need no
change.
jsonschema picks the validator class of every `$ref`-ed subschema from its `$schema`, which would switch back
to the stock 2020-12 class at the first file boundary; so the registry and `validator()` get the schemas
without `$schema` (all of them are 2020-12, which `roomwire spec check` and tests/spec/test_schemas.py check).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.protocols import Validator
from referencing import Registry
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


def _validated(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as validation sees it: without `$schema`, so that `RoomwireValidator` stays in charge."""
    return {key: value for key, value in schema.items() if key != "$schema"}


@cache
def registry() -> Registry[Any]:
    resources = [(schema["$id"], DRAFT202012.create_resource(_validated(schema))) for schema in load_schemas().values()]
    return Registry().with_resources(resources)


def schema(name: str) -> dict[str, Any]:
    """One schema by its path under `schemas/`; KeyError names the missing path."""
    return load_schemas()[name]


def ecma_regex(pattern: str) -> str:
    """`pattern` for Python's `re` with ECMA-262's `$`: every `$` outside a character class becomes `\\Z`."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(ecma_regex(pattern))


def _ecma_pattern(
    validator: Validator, pattern: str, instance: object, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


#: Draft 2020-12 with ECMA-262 `$` in `pattern` (see the module docstring).
RoomwireValidator: type[Validator] = validators.extend(  # type: ignore[no-untyped-call]  # untyped in the stubs
    Draft202012Validator, {"pattern": _ecma_pattern}
)


@cache
def validator(name: str) -> Validator:
    """A 2020-12 validator for the schema at `name`, resolving references through the offline registry."""
    return RoomwireValidator(
        _validated(schema(name)), registry=registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def frame_schema_name(direction: str, frame_type: str) -> str:
    """`client/ai_msg.schema.json` for ("client", "ai_msg")."""
    return f"{direction}/{frame_type}.schema.json"
