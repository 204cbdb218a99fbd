"""spec/asyncapi.yaml: valid against the official AsyncAPI 3.0.0 schema (vendored), every $ref resolves, and it
describes what SPEC.md says (channel, parameter, query, servers, both directions, replies)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from roomwire.spec.asyncapi import load_document, official_schema, schema_errors, unresolved_refs
from roomwire.spec.codes import CLIENT_FRAME_TYPES, SERVER_FRAME_TYPES
from roomwire.spec.limits import ENDPOINT_PATH, ROOM_ID_PATTERN
from roomwire.spec.selfcheck import asyncapi_problems


def doc() -> dict[str, Any]:
    return copy.deepcopy(load_document())


def test_the_vendored_schema_is_the_official_3_0_0() -> None:
    official = official_schema()
    assert official["$id"] == "http://asyncapi.com/definitions/3.0.0/asyncapi.json"
    assert official["properties"]["asyncapi"]["const"] == "3.0.0"


def test_the_document_is_valid_and_every_reference_resolves() -> None:
    assert schema_errors(load_document()) == []
    assert unresolved_refs(load_document()) == []
    assert asyncapi_problems() == []


def test_the_official_schema_catches_a_broken_document() -> None:
    broken = doc()
    broken["operations"]["sendPong"]["action"] = "push"
    del broken["info"]["title"]
    errors = schema_errors(broken)
    assert any(e.startswith("operations/sendPong") for e in errors) and any(e.startswith("info") for e in errors)


def test_broken_references_are_reported(tmp_path: Path) -> None:
    broken = doc()
    messages = broken["channels"]["chat"]["messages"]
    messages["a"] = {"$ref": "#/components/messages/nope"}
    messages["b"] = {"$ref": "./schemas/missing.schema.json"}
    messages["c"] = {"$ref": "./schemas/common.schema.json#/$defs/nope"}
    messages["d"] = {"$ref": "https://example.com/x.json"}
    messages["e"] = {"$ref": "../SPEC.json"}
    messages["f"] = {"$ref": "./schemas/client/ping.schema.json#/examples/9"}
    messages["g"] = {"$ref": "#/servers/local/host/x"}
    problems = unresolved_refs(broken)
    assert [p.split(":")[0] for p in problems] == [f"/channels/chat/messages/{k}" for k in "abcdefg"]
    assert "no such file" in problems[1] and "only relative references" in problems[3]


def test_references_may_point_into_yaml_files_and_escaped_pointers(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text("a/b:\n  '~x': [1, 2]\n", encoding="utf-8")
    document = {"x": {"$ref": "./other.yaml#/a~1b/~0x/1"}, "y": [{"$ref": "other.yaml"}], "z": {"$ref": "#/x"}}
    assert unresolved_refs(document, tmp_path) == []
    assert unresolved_refs({"x": {"$ref": "other.yaml#/a~1b/~0x/2"}}, tmp_path) != []


def test_examples_of_messages_must_match_their_payload_schema() -> None:
    broken = doc()
    broken["components"]["messages"]["serverAiChunk"]["examples"][0]["payload"] = {"type": "ai_chunk"}
    broken["components"]["messages"]["clientPing"]["payload"]["schema"]["$ref"] = "./schemas/nope.json"
    problems = asyncapi_problems(broken)
    assert any("serverAiChunk/examples/0" in p for p in problems)
    assert any("clientPing: payload is not one of schemas/" in p for p in problems)


def test_it_describes_the_endpoint_of_spec_md() -> None:
    document = load_document()
    assert document["asyncapi"] == "3.0.0"
    assert "described here is the **server**" in document["info"]["description"]
    assert {s["protocol"] for s in document["servers"].values()} == {"ws", "wss"}
    channel = document["channels"]["chat"]
    assert channel["address"] == ENDPOINT_PATH
    assert ROOM_ID_PATTERN in channel["parameters"]["room_id"]["description"]
    ws = channel["bindings"]["ws"]
    assert ws["method"] == "GET" and set(ws["query"]["properties"]) == {"nickname", "lang", "since"}


def test_one_message_per_frame_type_and_direction_each_referencing_its_schema() -> None:
    messages = load_document()["components"]["messages"]
    seen = set()
    for message in messages.values():
        payload = message["payload"]
        assert payload["schemaFormat"] == "application/schema+json;version=draft-2020-12"
        seen.add(payload["schema"]["$ref"])
    expected = {f"./schemas/client/{t}.schema.json" for t in CLIENT_FRAME_TYPES}
    expected |= {f"./schemas/server/{t}.schema.json" for t in SERVER_FRAME_TYPES}
    assert seen == expected


def test_operations_cover_both_directions_and_the_replies() -> None:
    operations = load_document()["operations"]
    actions = {name: op["action"] for name, op in operations.items()}
    assert sum(a == "receive" for a in actions.values()) == len(CLIENT_FRAME_TYPES)
    assert sum(a == "send" for a in actions.values()) == len(SERVER_FRAME_TYPES)
    replies = {
        name: [m["$ref"].rsplit("/", 1)[1] for m in op["reply"]["messages"]]
        for name, op in operations.items()
        if "reply" in op
    }
    assert replies == {"receiveAiMsg": ["serverAiChunk", "serverAiDone", "serverSystem"], "receivePing": ["serverPong"]}
