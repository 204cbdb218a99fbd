"""Hypothesis strategies for the values one of our JSON Schemas accepts, built with hypothesis-jsonschema.

`roomwire.spec.strategies` builds frames on top of `schema_strategy`. Why not simply
`hypothesis_jsonschema.from_schema(schema(name))`:

1. **`$ref` across files.** hypothesis-jsonschema resolves `$ref` with jsonschema's legacy `RefResolver`, rooted
   at the one document it is given, and refuses every other URI ("does not fetch remote references"). Our
   schemas refer to each other relatively (`../common.schema.json#/$defs/content`), which resolves against
   their `$id`s (`https://schemas.roomwire.dev/v1/...`): remote, for it. So `bundled()` first inlines every
   `$ref` in memory, looking it up in the offline `referencing` registry of `roomwire.spec.schemas`.
2. **Objects.** hypothesis-jsonschema 0.23.1 (its latest release) draws object keys through the private
   `hypothesis.internal.conjecture.utils.many(...).more()`, which current Hypothesis no longer has: every
   object schema fails with `AttributeError: 'many' object has no attribute 'more'`. So objects, and arrays
   of objects, are built here with `st.fixed_dictionaries`; every other subschema (strings with lengths and
   patterns, integers, enums, arrays of scalars) still goes to `from_schema`, which handles those well.
3. **`if`/`then`.** An object whose `allOf` holds `if`/`then` pairs (the `system` frame, by `event`) is built
   as one branch per value of the property the `if`s test, each branch merging the `then`s that apply to it.
   Conditions on other properties (`retry_after` by `code`) are left to the caller's final validity filter.

Every strategy here yields values the caller still filters with the real validator: this module aims to hit
valid values almost always, the filter makes "always" true.
"""

from __future__ import annotations

import copy
from collections import Counter
from functools import cache
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

from roomwire.spec.schemas import registry, schema

JsonSchema = dict[str, Any]

#: Keywords that only annotate: dropped before a subschema goes to hypothesis-jsonschema.
_ANNOTATIONS = frozenset({"$id", "$schema", "$comment", "$defs", "title", "description", "examples"})

#: Most unknown fields a generated object gets (FRAME-002/003: receivers must ignore them).
MAX_EXTRA_FIELDS = 2

#: Longest list of objects generated (history items); enough to reach LIMIT-002's bound of 50.
MAX_OBJECT_LIST = 50

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _inline(node: Any, resolver: Any) -> Any:
    """`node` with every `$ref` replaced by its target (`resolver` is a `referencing` resolver)."""
    if isinstance(node, list):
        return [_inline(item, resolver) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        resolved = resolver.lookup(node["$ref"])
        target = _inline(resolved.contents, resolved.resolver)
        target = {key: value for key, value in target.items() if key not in ("$id", "$schema")}
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return {**_inline(siblings, resolver), "allOf": [target]} if siblings else target
    return {key: _inline(value, resolver) for key, value in node.items() if key != "$defs"}


@cache
def _bundled(name: str) -> JsonSchema:
    root = schema(name)
    bundle: JsonSchema = _inline(root, registry().resolver(base_uri=root["$id"]))
    return bundle


def bundled(name: str) -> JsonSchema:
    """The schema at `name` (a path under `schemas/`) with every `$ref` inlined; a fresh copy each call."""
    return copy.deepcopy(_bundled(name))


def _is_object(node: JsonSchema) -> bool:
    return node.get("type") == "object" or "properties" in node or "required" in node


def _flattened(parts: list[JsonSchema]) -> list[JsonSchema]:
    """`parts` and, recursively, the unconditional object members of their `allOf`s."""
    out: list[JsonSchema] = []
    for part in parts:
        out.append(part)
        out += _flattened([m for m in part.get("allOf", []) if "if" not in m and _is_object(m)])
    return out


def _merged(parts: list[JsonSchema]) -> JsonSchema:
    """Object schemas merged into one: properties combined with allOf, required united."""
    properties: dict[str, JsonSchema] = {}
    required: list[str] = []
    additional = True
    for part in _flattened(parts):
        for name, sub in part.get("properties", {}).items():
            if name not in properties:
                properties[name] = sub
            elif _is_object(properties[name]) and _is_object(sub):
                properties[name] = _merged([properties[name], sub])
            else:
                properties[name] = {"allOf": [properties[name], sub]}
        required += [name for name in part.get("required", []) if name not in required]
        additional = additional and part.get("additionalProperties", True) is not False
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": additional}


def _stripped(node: Any) -> Any:
    if isinstance(node, list):
        return [_stripped(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {k: _stripped(v) for k, v in node.items() if k not in _ANNOTATIONS and not k.startswith("x-")}


def _plain_object(node: JsonSchema) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, JsonSchema] = node["properties"]
    required = set(node["required"])
    known = st.fixed_dictionaries(
        {name: schema_strategy(sub) for name, sub in properties.items() if name in required},
        optional={name: schema_strategy(sub) for name, sub in properties.items() if name not in required},
    )
    if not node["additionalProperties"]:
        return known
    extra_keys = st.text(min_size=1, max_size=10).filter(lambda key: key not in properties)
    extras = st.dictionaries(extra_keys, JSON_VALUES, max_size=MAX_EXTRA_FIELDS)
    return st.builds(lambda fields, unknown: {**unknown, **fields}, known, extras)


def _discriminator(conditions: list[JsonSchema]) -> str:
    """The property most `if`s test (e.g. `event`)."""
    counts: Counter[str] = Counter(name for condition in conditions for name in condition.get("properties", {}))
    return counts.most_common(1)[0][0]


def _object(node: JsonSchema) -> st.SearchStrategy[dict[str, Any]]:
    pairs = [member for member in node.get("allOf", []) if "if" in member]
    base = _merged([node])
    if not pairs:
        return _plain_object(base)
    key = _discriminator([pair["if"] for pair in pairs])
    values = base["properties"].get(key, {}).get("enum", [])
    branches = []
    for value in [None, *values]:
        probe = {} if value is None else {key: value}
        thens = [pair["then"] for pair in pairs if Draft202012Validator(pair["if"]).is_valid(probe)]
        branch = _merged([base, *thens])
        if value is None:
            branch["properties"].pop(key, None)
            branch["required"] = [name for name in branch["required"] if name != key]
        else:
            branch["properties"][key] = {"const": value}
            branch["required"].append(key)
        branches.append(_plain_object(branch))
    return st.one_of(branches)


def _max_items(node: JsonSchema) -> int | None:
    bounds = [node["maxItems"]] if "maxItems" in node else []
    bounds += [member["maxItems"] for member in node.get("allOf", []) if "maxItems" in member]
    return min(bounds) if bounds else None


def schema_strategy(node: JsonSchema) -> st.SearchStrategy[Any]:
    """Values that (almost always) satisfy the bundled subschema `node`; see the module docstring."""
    if _is_object(node) or any(_is_object(member) for member in node.get("allOf", [])):
        return _object(node)
    items = node.get("items")
    if node.get("type") == "array" and isinstance(items, dict) and _is_object(items):
        return st.lists(
            _object(items), min_size=node.get("minItems", 0), max_size=min(_max_items(node) or 50, MAX_OBJECT_LIST)
        )
    return from_schema(_stripped(node))
