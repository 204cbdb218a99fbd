from __future__ import annotations

import pytest

from roomwire.gemini_double.faults import (
    DEFAULT_HOLD_S,
    KINDS,
    MAX_HOLD_S,
    Fault,
    FaultError,
    FaultQueue,
    fault_from_json,
)


def test_defaults_per_kind() -> None:
    assert fault_from_json({"kind": "abort"}).after_chunks == 1
    assert fault_from_json({"kind": "safety"}).after_chunks == 0
    fault = fault_from_json({"kind": "rate_limit", "count": 3, "retry_delay_s": 7, "match": "t", "model": "m"})
    assert (fault.remaining, fault.retry_delay_s, fault.match, fault.model) == (3, 7.0, "t", "m")
    assert set(KINDS) >= {"rate_limit", "server_error", "unavailable", "invalid_key", "key_echo", "abort", "stall"}
    assert fault_from_json({"kind": "stream_error_raw"}).after_chunks == 1
    blocked = fault_from_json({"kind": "prompt_blocked", "block_reason": "OTHER"})
    assert (
        blocked.block_reason == "OTHER"
        and fault_from_json({"kind": "prompt_blocked"}).block_reason == "PROHIBITED_CONTENT"
    )
    assert fault_from_json({"kind": "thinking_exhausted", "thoughts": 12}).thoughts == 12
    assert fault_from_json({"kind": "thinking_exhausted"}).thoughts is None


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "meteor"},
        {"kind": "abort", "colour": "red"},
        {"kind": "abort", "count": 0},
        {"kind": "abort", "count": True},
        {"kind": "abort", "match": ""},
        {"kind": "abort", "model": 3},
        {"kind": "abort", "after_chunks": -1},
        {"kind": "rate_limit", "retry_delay_s": "soon"},
        {"kind": "rate_limit", "retry_delay_s": -1},
        {"kind": "stream_error", "code": 200},
        {"kind": "replay", "status": 99},
        {"kind": "replay"},
        {"kind": "replay", "fixture": "nope"},
        {"kind": "prompt_blocked", "block_reason": "RUDE"},
        {"kind": "thinking_exhausted", "thoughts": 0},
    ],
)
def test_bad_fault_descriptions(data: dict[str, object]) -> None:
    def load(name: str) -> str:
        raise FileNotFoundError(name)

    with pytest.raises(FaultError):
        fault_from_json(data, load)


def test_replay_body_and_fixture() -> None:
    assert fault_from_json({"kind": "replay", "body": "data: {}\r\n\r\n"}).body == "data: {}\r\n\r\n"
    assert fault_from_json({"kind": "replay", "fixture": "x"}, lambda name: f"body of {name}").body == "body of x"
    assert fault_from_json({"kind": "replay", "body": "abc"}).to_json()["body"] == "<3 characters>"
    assert fault_from_json({"kind": "abort"}).to_json()["body"] is None


def test_queue_takes_the_oldest_applicable_fault_count_times() -> None:
    queue = FaultQueue()
    matched = queue.add(Fault(kind="abort", match="tok-a", remaining=2))
    queue.add(Fault(kind="stall", model="gemini-2.5-pro"))
    anything = queue.add(Fault(kind="safety"))
    assert matched.id == 1 and anything.id == 3
    assert queue.take("gemini-2.5-flash", "no token here") == anything
    assert queue.take("gemini-2.5-flash", "with tok-a") is not None
    assert [f.remaining for f in queue.pending()] == [1, 1]
    assert queue.take("gemini-2.5-flash", "tok-a again") is not None
    assert queue.take("gemini-2.5-flash", "tok-a") is None
    taken = queue.take("gemini-2.5-pro", "anything")
    assert taken is not None and taken.kind == "stall" and queue.pending() == []
    queue.add(Fault(kind="abort"))
    queue.clear()
    assert queue.pending() == []


def test_a_hold_takes_its_longest_wait_within_bounds() -> None:
    assert fault_from_json({"kind": "hold"}).hold_s == DEFAULT_HOLD_S
    assert fault_from_json({"kind": "hold", "hold_s": 2.5, "after_chunks": 3}).hold_s == 2.5
    for bad in (0, -1, MAX_HOLD_S + 1, "5", True):
        with pytest.raises(FaultError, match="hold_s"):
            fault_from_json({"kind": "hold", "hold_s": bad})
