"""Load `asyncapi.yaml` and check it: against the official AsyncAPI 3.0.0 JSON Schema, and every `$ref` in it.

The official schema (`vendor/asyncapi-3.0.0.schema.json`, see `vendor/README.md`) is a draft-07 bundle whose
definitions carry their own `$id`s (`http://asyncapi.com/definitions/3.0.0/...`); a `referencing` registry
holding only that document resolves all of them, so validation never touches the network.

The AsyncAPI schema does not follow `$ref`s into other files, so `unresolved_refs` does: an internal
reference (`#/components/...`) must point at something in the document, and a file reference
(`./schemas/client/user_msg.schema.json#/$defs/...`) at an existing file under `spec/` and, when it has a
fragment, at something inside that file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import yaml
from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7

DOCUMENT = "asyncapi.yaml"
OFFICIAL_SCHEMA = "vendor/asyncapi-3.0.0.schema.json"


def _spec_root() -> Traversable:
    return files("roomwire.spec")


@cache
def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(_spec_root().joinpath(DOCUMENT).read_text(encoding="utf-8"))
    return loaded


def load_document() -> dict[str, Any]:
    """The AsyncAPI document as parsed YAML (a cached object: do not modify it)."""
    return _document()


@cache
def official_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(_spec_root().joinpath(*OFFICIAL_SCHEMA.split("/")).read_text("utf-8"))
    return loaded


def schema_errors(document: dict[str, Any]) -> list[str]:
    """Where `document` breaks the official AsyncAPI 3.0.0 schema, one line each; empty when it is valid."""
    official = official_schema()
    registry: Registry[Any] = Registry().with_resource(official["$id"], DRAFT7.create_resource(official))
    validator = Draft7Validator(official, registry=registry)
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message[:300]}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def _refs(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield path or "/", value
            else:
                yield from _refs(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{path}/{index}")


def _pointed(node: Any, pointer: str) -> bool:
    """Whether the JSON pointer (RFC 6901) `pointer` names something inside `node`."""
    for raw in pointer.split("/")[1:] if pointer else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _file(root: Traversable, relative: str) -> Any | None:
    node = root
    for part in relative.removeprefix("./").split("/"):
        if part in ("", ".", ".."):
            return None  # stay inside spec/: no absolute paths, no climbing out
        node = node.joinpath(part)
    if not node.is_file():
        return None
    text = node.read_text(encoding="utf-8")
    return json.loads(text) if relative.endswith(".json") else yaml.safe_load(text)


def unresolved_refs(document: dict[str, Any], root: Traversable | None = None) -> list[str]:
    """Every `$ref` in `document` that does not resolve, as `where: ref (why)`; empty when all resolve.

    Args:
        document: the parsed AsyncAPI document.
        root: the folder file references are relative to (default: the installed `roomwire/spec/`).
    """
    base = _spec_root() if root is None else root
    problems = []
    for where, ref in _refs(document):
        target, _, fragment = ref.partition("#")
        if target.startswith(("http:", "https:", "/")):
            problems.append(f"{where}: {ref} (only relative references are allowed, so the document is offline)")
            continue
        contents = document if not target else _file(base, target)
        if contents is None:
            problems.append(f"{where}: {ref} (no such file under spec/)")
        elif not _pointed(contents, fragment):
            problems.append(f"{where}: {ref} (no {fragment} in {target or 'this document'})")
    return problems
