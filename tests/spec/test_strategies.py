"""roomwire.spec.strategies: generated valid frames validate and round-trip; every near miss gets exactly its
labelled verdict."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from roomwire.spec.cases import LabelledPayload
from roomwire.spec.codes import CLIENT_FRAME_TYPES, SERVER_FRAME_TYPES, SystemEvent
from roomwire.spec.errors import LocalProtocolError
from roomwire.spec.limits import Limits
from roomwire.spec.messages import encode, parse_client_frame, parse_server_frame
from roomwire.spec.strategies import NearMiss, client_frames, encoded, near_miss_client_payloads, server_frames, size
from roomwire.spec.validate import validate_client_payload, validate_server_payload

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)

_CLIENT_FIELDS = {
    "user_msg": {"type", "content", "nickname", "id"},
    "ai_msg": {"type", "content", "history", "id", "nickname"},
    "ping": {"type", "id"},
}
_SERVER_FIELDS = {
    "user_msg": {"type", "nickname", "content", "seq", "ts", "id"},
    "ai_chunk": {"type", "content", "id"},
    "ai_done": {"type", "status", "id"},
    "pong": {"type", "id"},
    "system": {"type", "content", "event", "nickname", "seq", "ts", "count", "reason", "code", "retry_after", "id"}
    | {"room", "members", "limits", "capabilities", "resume"},
}


def known_client_fields(frame: dict[str, Any]) -> dict[str, Any]:
    """What to_json keeps of a client frame: known fields only; an absent history is an empty one."""
    known = {k: v for k, v in frame.items() if k in _CLIENT_FIELDS[frame["type"]]}
    if frame["type"] == "ai_msg":
        known["history"] = [{"role": h["role"], "content": h["content"]} for h in frame.get("history", [])]
    return known


def known_server_fields(frame: dict[str, Any]) -> dict[str, Any]:
    """What to_json keeps of a server frame: known, non-null fields (a welcome's nickname even when null);
    limits as Limits reads them (defaults for absent members); resume with its three members."""
    known = {k: v for k, v in frame.items() if k in _SERVER_FIELDS[frame["type"]] and v is not None}
    if frame.get("event") == "welcome":
        known["nickname"] = frame["nickname"]
    if "limits" in known:
        known["limits"] = Limits.from_json(known["limits"]).to_json()
    if "resume" in known:
        known["resume"] = {k: known["resume"][k] for k in ("since", "replayed", "complete")}
    return known


@SETTINGS
@given(client_frames())
def test_every_generated_client_frame_is_accepted(frame: dict[str, Any]) -> None:
    verdict = validate_client_payload(encoded(frame))
    assert verdict.valid, verdict.violations


@SETTINGS
@given(server_frames())
def test_every_generated_server_frame_is_valid(frame: dict[str, Any]) -> None:
    assert validate_server_payload(encoded(frame)).valid


@SETTINGS
@given(client_frames())
def test_client_frames_round_trip_through_messages(frame: dict[str, Any]) -> None:
    parsed = parse_client_frame(frame)
    assert parsed.to_json() == known_client_fields(frame)
    assert parse_client_frame(json.loads(encode(parsed))) == parsed


@SETTINGS
@given(server_frames())
def test_server_frames_round_trip_through_messages(frame: dict[str, Any]) -> None:
    parsed = parse_server_frame(frame)
    assert parsed.to_json() == known_server_fields(frame)
    assert parse_server_frame(json.loads(encode(parsed))) == parsed


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(near_miss_client_payloads())
def test_every_near_miss_gets_exactly_its_labelled_verdict(case: LabelledPayload) -> None:
    assert case.mismatch(case.verdict()) is None, (case.description, case.payload[:300])


@pytest.mark.parametrize("kind", list(NearMiss))
def test_each_kind_of_near_miss_alone(kind: NearMiss) -> None:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(near_miss_client_payloads([kind.value]))
    def check(case: LabelledPayload) -> None:
        assert case.name == f"near-miss/{kind.value}"
        assert case.mismatch(case.verdict()) is None, (case.description, case.payload[:300])

    check()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(near_miss_client_payloads([NearMiss.OVERSIZED], max_frame_bytes=9000))
def test_oversized_follows_the_limit_it_is_given(case: LabelledPayload) -> None:
    assert 9000 < len(case.data) <= 9100
    assert case.mismatch(case.verdict(max_frame_bytes=9000)) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(client_frames(max_frame_bytes=300))
def test_client_frames_respect_max_frame_bytes(frame: dict[str, Any]) -> None:
    assert size(frame) <= 300


def test_frame_type_selection() -> None:
    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(client_frames("ping"), server_frames("ai_done"))
    def check(client: dict[str, Any], server: dict[str, Any]) -> None:
        assert client["type"] == "ping" and server["type"] == "ai_done"

    check()
    with pytest.raises(LocalProtocolError, match="not a client frame type"):
        client_frames("pong")
    with pytest.raises(LocalProtocolError, match="not a server frame type"):
        server_frames("ai_msg")
    with pytest.raises(ValueError):
        near_miss_client_payloads(["typo"])


@pytest.mark.parametrize(
    "wanted",
    [
        *(("type", t) for t in sorted(CLIENT_FRAME_TYPES | SERVER_FRAME_TYPES)),
        *(("event", e.value) for e in SystemEvent),
        ("event", None),
    ],
    ids=str,
)
def test_generation_reaches_every_type_and_every_system_event(wanted: tuple[str, str | None]) -> None:
    """Each frame type and system event (and a system frame without one) is reachable from the union strategies.

    A search per target, not a count over one random sample: a rare branch missing from 300 draws said nothing."""
    key, value = wanted
    search = settings(
        max_examples=5000,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    frame = find(
        st.one_of(client_frames(), server_frames()),
        lambda f: f.get(key) == value and (key == "type" or f["type"] == "system"),
        settings=search,
    )
    assert frame.get(key) == value
