"""Frames in, samples out: every wait a connection has ends in exactly one counted way (roomwire.loadtest.meter)."""

from __future__ import annotations

import pytest

from roomwire.loadtest.meter import Meter, schema_failures
from roomwire.loadtest.metrics import (
    AI_ERROR,
    AI_ITL,
    AI_TOTAL,
    AI_TTFT,
    CONNECT,
    FANOUT,
    UPSTREAM_429,
    AiOutcome,
    ConnectionLost,
    ErrorNotice,
    MissingDelivery,
    Sample,
    SpecBroken,
    Stamp,
)
from roomwire.spec.codes import AiStatus, ErrorCode
from roomwire.spec.messages import HistoryItem
from roomwire.spec.validate import validate_server_payload
from tests.loadtest import frames


def _meter(*, validate_every: int = 1, outcomes: list[AiOutcome] | None = None) -> Meter:
    meter = Meter(
        tag="me",
        fanout_deadline_s=5.0,
        ai_deadline_s=10.0,
        validate_every=validate_every,
        on_outcome=outcomes.append if outcomes is not None else None,
    )
    assert meter.receive(frames.welcome(seq=3), now=0.0, wall=1000.0) == []
    return meter


def _names(samples: list[Sample]) -> list[tuple[str, str | None]]:
    return [(s.name, repr(s.failure) if s.failure else None) for s in samples]


def test_own_message_coming_back_is_delivery_not_a_sample() -> None:
    meter = _meter()
    text = meter.chat("hello", now=1.0, wall=1001.0)
    id = text.split('"id":"')[1].split('"')[0]
    assert Stamp.decode(id) is not None and meter.pending == 1
    assert meter.receive(frames.broadcast(4, id), now=1.01, wall=1001.01) == []
    assert meter.pending == 0


def test_another_member_s_stamped_message_is_a_fanout_sample() -> None:
    meter = _meter()
    stamp = Stamp("other-7", 1, 1000.0).encode()
    [sample] = meter.receive(frames.broadcast(4, stamp), now=1.0, wall=1000.030)
    assert (sample.name, sample.failure) == (FANOUT, None)
    assert sample.response_time == pytest.approx(30.0)
    assert sample.length > 0


def test_unstamped_broadcasts_and_presence_are_not_samples() -> None:
    meter = _meter()
    assert meter.receive(frames.broadcast(4, None), now=1.0, wall=1000.0) == []
    assert meter.receive(frames.broadcast(5, "m-1"), now=1.0, wall=1000.0) == []
    assert meter.receive(frames.join(6), now=1.0, wall=1000.0) == []


def test_a_seq_gap_is_one_missing_delivery_per_lost_room_event() -> None:
    meter = _meter()
    samples = meter.receive(frames.join(7), now=1.0, wall=1000.0)  # after the welcome's 3: 4, 5, 6 lost
    assert _names(samples) == [(FANOUT, "MissingDelivery(seq gap: room event lost)")] * 3


def test_own_message_not_back_by_its_deadline_is_missing() -> None:
    meter = _meter()
    meter.chat("hello", now=1.0, wall=1001.0)
    assert meter.sweep(5.9) == []
    [sample] = meter.sweep(6.1)
    assert sample.name == FANOUT and isinstance(sample.failure, MissingDelivery)
    assert sample.response_time == 5000.0
    assert meter.pending == 0


def test_a_refused_chat_message_is_a_fanout_failure_with_the_code() -> None:
    meter = _meter()
    text = meter.chat("hello", now=1.0, wall=1001.0)
    id = text.split('"id":"')[1].split('"')[0]
    samples = meter.receive(frames.error(ErrorCode.RATE_LIMITED, id=id, retry_after=1), now=1.1, wall=0.0)
    assert _names(samples) == [(FANOUT, "ErrorNotice(rate_limited)")]
    assert meter.pending == 0


def test_an_answer_gives_ttft_itl_and_one_ai_total() -> None:
    outcomes: list[AiOutcome] = []
    meter = _meter(outcomes=outcomes)
    text, ask = meter.ask("q?", [HistoryItem(role="user", content="hi")], now=10.0)
    assert '"history":[{"role":"user","content":"hi"}]' in text
    seen: list[str] = []
    ask.listeners.append(lambda: seen.append("done"))
    first = meter.receive(frames.chunk(ask.id), now=10.2, wall=0.0)
    second = meter.receive(frames.chunk(ask.id), now=10.25, wall=0.0)
    last = meter.receive(frames.done(ask.id), now=10.3, wall=0.0)
    assert [s.name for s in first + second + last] == [AI_TTFT, AI_ITL, AI_TOTAL]
    assert last[0].response_time == pytest.approx(300.0)
    assert ask.outcome is AiOutcome.OK and outcomes == [AiOutcome.OK] and seen == ["done"]
    assert meter.pending == 0


@pytest.mark.parametrize(
    ("code", "status", "name", "outcome"),
    [
        (ErrorCode.AI_QUOTA, AiStatus.REJECTED, AI_ERROR, AiOutcome.FRIENDLY_WAIT),
        (ErrorCode.UPSTREAM_RATE_LIMITED, AiStatus.ERROR, UPSTREAM_429, AiOutcome.UPSTREAM_429),
        (ErrorCode.RATE_LIMITED, AiStatus.REJECTED, AI_ERROR, AiOutcome.OTHER_ERROR),
    ],
)
def test_an_error_notice_then_ai_done_is_one_failure_named_by_code(
    code: ErrorCode, status: AiStatus, name: str, outcome: AiOutcome
) -> None:
    meter = _meter()
    _, ask = meter.ask("q?", now=10.0)
    assert meter.receive(frames.error(code, id=ask.id, retry_after=7), now=10.1, wall=0.0) == []
    [sample] = meter.receive(frames.done(ask.id, status), now=10.2, wall=0.0)
    assert (sample.name, repr(sample.failure)) == (name, f"ErrorNotice({code.value})")
    assert ask.outcome is outcome


def test_no_ai_done_by_the_deadline_is_a_hang_and_a_late_one_is_not_counted_twice() -> None:
    meter = _meter()
    _, ask = meter.ask("q?", now=10.0)
    meter.receive(frames.chunk(ask.id), now=10.1, wall=0.0)
    [hang] = meter.sweep(20.5)
    assert hang.name == AI_TOTAL and repr(hang.failure) == "AiHang(no ai_done within 10 s)"
    assert ask.outcome is AiOutcome.HANG
    assert meter.receive(frames.done(ask.id), now=30.0, wall=0.0) == []
    assert meter.receive(frames.error(ErrorCode.UPSTREAM_ERROR, id=ask.id), now=30.0, wall=0.0) == []


def test_abandoning_counts_everything_pending() -> None:
    meter = _meter()
    meter.chat("one", now=1.0, wall=1.0)
    meter.chat("two", now=1.0, wall=1.0)
    _, ask = meter.ask("q?", now=1.0)
    samples = meter.abandon("close 1012")
    assert _names(samples) == [
        (FANOUT, "MissingDelivery(own user_msg not broadcast before close 1012)"),
        (FANOUT, "MissingDelivery(own user_msg not broadcast before close 1012)"),
        (AI_TOTAL, "ConnectionLost(no ai_done before close 1012)"),
    ]
    assert ask.outcome is AiOutcome.HANG and meter.pending == 0
    assert isinstance(samples[-1].failure, ConnectionLost)


def test_an_unattributable_error_notice_is_still_counted() -> None:
    meter = _meter()
    samples = meter.receive(frames.error(ErrorCode.BAD_FRAME), now=1.0, wall=0.0)
    assert _names(samples) == [(FANOUT, "ErrorNotice(bad_frame)")]
    assert isinstance(samples[0].failure, ErrorNotice)


def test_spec_violations_become_failures_of_the_measurement_they_corrupt() -> None:
    meter = Meter(tag="me", fanout_deadline_s=1.0, ai_deadline_s=1.0)
    [first] = meter.receive(frames.join(1), now=0.0, wall=0.0)  # CONN-003: no welcome first
    assert (first.name, repr(first.failure)) == (CONNECT, "SpecBroken(CONN-003)")
    assert isinstance(first.failure, SpecBroken)
    [stray] = meter.receive(frames.chunk("ai.nobody.1"), now=0.0, wall=0.0)  # AI-001: answers nothing of ours
    assert (stray.name, repr(stray.failure)) == (AI_TOTAL, "SpecBroken(AI-001)")
    [binary] = meter.receive(b"\x00", now=0.0, wall=0.0)
    assert repr(binary.failure) == "SpecBroken(FRAME-001)"
    [backwards] = meter.receive(frames.broadcast(1, None), now=0.0, wall=0.0)  # seq 1 after seq 1
    assert (backwards.name, repr(backwards.failure)) == (FANOUT, "SpecBroken(CHAT-004)")


def test_memory_stays_flat_over_a_long_run() -> None:
    meter = _meter(validate_every=20)
    for n in range(500):
        meter.receive(frames.broadcast(4 + n, Stamp("other", n, 1000.0).encode()), now=1.0, wall=1000.0)
        _, ask = meter.ask("q", now=1.0)
        meter.receive(frames.done(ask.id), now=1.1, wall=0.0)
    assert len(meter.protocol.received) == 1 + 1000  # the count keeps rising (frame numbers, CONN-003)...
    assert list.__len__(meter.protocol.received) <= 64  # ...but only a tail is kept
    assert len(meter.protocol.exchanges) <= 5
    assert meter.protocol.violations == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ('{"type":"user_msg","nickname":"","content":"c"}', FANOUT),
        ('{"type":"ai_chunk","content":""}', AI_TOTAL),
        ('{"type":"system","content":""}', CONNECT),
    ],
)
def test_a_spot_checked_frame_that_breaks_its_schema_is_a_failure_of_its_measurement(text: str, name: str) -> None:
    samples = schema_failures(validate_server_payload(text))
    assert samples and {(s.name, repr(s.failure)) for s in samples} == {(name, "SpecBroken(FRAME-001)")}
