"""roomwire.spec.codes: the wire vocabulary agrees with the schemas."""

from __future__ import annotations

from roomwire.spec.codes import (
    CLIENT_FRAME_TYPES,
    RETRY_AFTER_CODES,
    SERVER_FRAME_TYPES,
    AiStatus,
    CloseCode,
    LeaveReason,
    SystemEvent,
)
from roomwire.spec.schemas import schema
from roomwire.spec.selfcheck import vocabulary_problems


def test_frame_types_are_the_unions_enums() -> None:
    client = schema("client-frame.schema.json")["properties"]["type"]["allOf"][0]["enum"]
    server = schema("server-frame.schema.json")["properties"]["type"]["allOf"][0]["enum"]
    assert set(client) == CLIENT_FRAME_TYPES and set(server) == SERVER_FRAME_TYPES


def test_events_reasons_statuses_and_codes_are_the_schemas() -> None:
    system = schema("server/system.schema.json")["properties"]
    assert set(system["event"]["enum"]) == set(SystemEvent)
    assert set(system["reason"]["enum"]) == set(LeaveReason)
    assert set(schema("server/ai_done.schema.json")["properties"]["status"]["enum"]) == set(AiStatus)
    retry = schema("server/system.schema.json")["allOf"][-1]["if"]["properties"]["code"]["enum"]
    assert set(retry) == RETRY_AFTER_CODES
    assert vocabulary_problems() == []


def test_close_codes_are_rfc_6455s() -> None:
    codes = {code.name: int(code) for code in CloseCode}
    assert (codes["UNSUPPORTED_DATA"], codes["INVALID_PAYLOAD"], codes["MESSAGE_TOO_BIG"]) == (1003, 1007, 1009)
