"""The sampled protocol keeps every invariant check of `ClientProtocol` (roomwire.loadtest.sampled)."""

from __future__ import annotations

import pytest

from roomwire.loadtest.sampled import SampledProtocol
from roomwire.spec.codes import AiStatus, ErrorCode
from roomwire.spec.protocol import ClientProtocol
from tests.loadtest import frames


def _conversation(protocol: ClientProtocol) -> list[str]:
    """The same exchange for any protocol object; returns the violations' requirement ids."""
    protocol.ai_msg("q", id="a1", now=0.0)
    texts = [
        frames.welcome(seq=2),
        frames.join(3),
        frames.broadcast(4, "m-1"),
        frames.broadcast(6, "m-2"),  # CHAT-005: 5 is missing
        frames.chunk("a1"),
        frames.error(ErrorCode.UPSTREAM_ERROR, id="a1"),
        frames.done("a1", AiStatus.ERROR),
        frames.chunk("a1"),  # AI-002: after its ai_done
        frames.broadcast(6, "m-3"),  # CHAT-004: not increasing
        frames.chunk("zz"),  # AI-001: not ours
    ]
    for n, text in enumerate(texts):
        protocol.receive(text, now=float(n))
    return [error.requirement_id for _, error in protocol.violations]


@pytest.mark.parametrize("every", [2, 3, 1000])
def test_sampled_and_full_protocols_end_in_the_same_state(every: int) -> None:
    full, sampled = ClientProtocol(), SampledProtocol(validate_every=every)
    assert _conversation(sampled) == _conversation(full) == ["CHAT-005", "AI-002", "CHAT-004", "AI-001"]
    assert sampled.last_seq == full.last_seq == 6
    assert sampled.welcome == full.welcome
    assert [(e.text, e.status, [x.code for x in e.errors]) for e in sampled.exchanges] == [
        (e.text, e.status, [x.code for x in e.errors]) for e in full.exchanges
    ]
    assert [item.frame for item in sampled.received] == [item.frame for item in full.received]


@pytest.mark.parametrize(
    "bad",
    [
        '{"type":"user_msg","nickname":"n","content":"c","seq":"7"}',  # wrong type: takes the validating path
        '{"type":"user_msg","nickname":"n","content":"c","seq":true}',
        '{"type":"user_msg","nickname":"n"}',  # missing content
        '{"type":"ai_done","status":"maybe"}',  # unknown enum value
        '{"type":"nope"}',
        "[1, 2]",
        "not json",
    ],
)
def test_a_malformed_frame_is_always_schema_checked(bad: str) -> None:
    sampled = SampledProtocol(validate_every=1000)
    sampled.receive(frames.welcome())
    sampled.receive(bad)
    assert [error.requirement_id for _, error in sampled.violations] == ["FRAME-001"]


def test_with_a_spot_checker_sampled_frames_are_handed_over_not_validated_in_line() -> None:
    handed: list[str] = []
    sampled = SampledProtocol(validate_every=3, spot_check=handed.append)
    texts = [frames.welcome(), *(frames.broadcast(seq, None) for seq in range(1, 7))]
    for text in texts:
        sampled.receive(text)
    assert handed == [texts[0], texts[2], texts[5]]  # the first, then every third
    assert sampled.violations == [] and sampled.last_seq == 6


def test_a_malformed_frame_is_reported_in_line_even_with_a_spot_checker() -> None:
    handed: list[str] = []
    sampled = SampledProtocol(validate_every=1000, spot_check=handed.append)
    sampled.receive(frames.welcome())
    sampled.receive('{"type":"user_msg","nickname":"n"}')
    assert [error.requirement_id for _, error in sampled.violations] == ["FRAME-001"]
    assert handed == [frames.welcome()]
