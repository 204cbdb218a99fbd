"""Names, stamps and the classification of AI exchanges (roomwire.loadtest.metrics)."""

from __future__ import annotations

import re

import pytest

from roomwire.loadtest.metrics import (
    AI_ERROR,
    AI_ITL,
    AI_TOTAL,
    AI_TTFT,
    REQUEST_NAMES,
    UPSTREAM_429,
    AiHang,
    AiOutcome,
    ErrorNotice,
    Stamp,
    chunk_samples,
    fanout_ms,
    hang_sample,
    terminal_sample,
)
from roomwire.spec.codes import AiStatus, ErrorCode
from roomwire.spec.limits import CLIENT_ID_PATTERN
from roomwire.spec.messages import AiDone, ClientAiMsg, System
from roomwire.spec.protocol import AiExchange


def test_request_names_are_exactly_the_issue_s() -> None:
    assert REQUEST_NAMES == ("connect", "fanout", "ai ttft", "ai itl", "ai total", "ai error", "upstream 429")


def test_a_stamp_round_trips_and_fits_the_id_pattern() -> None:
    stamp = Stamp("abc123-99999", 4_000_000_000, 1_764_069_600.123456)
    text = stamp.encode()
    assert re.match(CLIENT_ID_PATTERN, text) and len(text) <= 64
    decoded = Stamp.decode(text)
    assert decoded is not None
    assert (decoded.sender, decoded.n) == (stamp.sender, stamp.n)
    assert decoded.sent_at == pytest.approx(stamp.sent_at, abs=1e-6)


@pytest.mark.parametrize("id", [None, "", "m-1", "rw.x.1", "rw.a b.1.2", "ai.tag.3"])
def test_ids_that_are_not_stamps_are_not_read_as_stamps(id: str | None) -> None:
    assert Stamp.decode(id) is None


def test_a_sender_tag_that_does_not_fit_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        Stamp("x" * 30, 1, 1.0).encode()


def test_fanout_is_wall_clock_difference_in_ms_and_never_negative() -> None:
    stamp = Stamp("a", 1, 100.0)
    assert fanout_ms(stamp, 100.25) == pytest.approx(250.0)
    assert fanout_ms(stamp, 99.999) == 0.0  # clocks of two processes read a few µs apart


def _exchange(*, chunks: int = 2, status: AiStatus | None = AiStatus.OK, codes: tuple[str, ...] = ()) -> AiExchange:
    exchange = AiExchange(request=ClientAiMsg(content="q", id="ai.t.1"), sent_at=10.0)
    for n in range(chunks):
        exchange.chunks.append(f"c{n}")
        exchange.chunk_times.append(10.1 + n * 0.05)
    exchange.errors.extend(System(content="x", code=code) for code in codes)
    if status is not None:
        exchange.done, exchange.done_at = AiDone(status=status, id="ai.t.1"), 10.5
    return exchange


def test_chunks_give_ttft_then_itl() -> None:
    exchange = AiExchange(request=ClientAiMsg(content="q"), sent_at=10.0)
    exchange.chunks.append("a")
    exchange.chunk_times.append(10.2)
    [first] = chunk_samples(exchange, 10.0)
    exchange.chunks.append("b")
    exchange.chunk_times.append(10.25)
    [second] = chunk_samples(exchange, 10.0)
    assert (first.name, round(first.response_time)) == (AI_TTFT, 200)
    assert (second.name, round(second.response_time)) == (AI_ITL, 50)
    assert chunk_samples(AiExchange(request=ClientAiMsg(content="q"), sent_at=1.0), 1.0) == []


@pytest.mark.parametrize("status", [AiStatus.OK, AiStatus.TRUNCATED])
def test_a_finished_answer_is_an_ai_total_success(status: AiStatus) -> None:
    sample, outcome = terminal_sample(_exchange(status=status), 10.0, [])
    assert (sample.name, sample.failure, outcome) == (AI_TOTAL, None, AiOutcome.OK)
    assert sample.response_time == pytest.approx(500.0)


@pytest.mark.parametrize(
    ("codes", "extra", "status", "name", "error", "outcome"),
    [
        ((ErrorCode.AI_QUOTA,), [], AiStatus.REJECTED, AI_ERROR, "ai_quota", AiOutcome.FRIENDLY_WAIT),
        ((ErrorCode.UPSTREAM_RATE_LIMITED,), [], AiStatus.ERROR, UPSTREAM_429, "upstream_rate_limited", "429"),
        ((ErrorCode.UPSTREAM_ERROR,), [], AiStatus.ERROR, AI_ERROR, "upstream_error", AiOutcome.OTHER_ERROR),
        ((), ["rate_limited"], AiStatus.REJECTED, AI_ERROR, "rate_limited", AiOutcome.OTHER_ERROR),
        ((), [], AiStatus.BLOCKED, AI_ERROR, "status=blocked", AiOutcome.OTHER_ERROR),
        ((ErrorCode.AI_INCOMPLETE,), [], AiStatus.OK, AI_ERROR, "ai_incomplete", AiOutcome.OTHER_ERROR),
    ],
)
def test_an_error_ends_the_exchange_as_a_failure_named_by_its_code(
    codes: tuple[str, ...], extra: list[str], status: AiStatus, name: str, error: str, outcome: str
) -> None:
    sample, got = terminal_sample(_exchange(status=status, codes=codes), 10.0, extra)
    assert sample.name == name
    assert isinstance(sample.failure, ErrorNotice) and str(sample.failure) == error
    assert repr(sample.failure) == f"ErrorNotice({error})"
    assert got == (AiOutcome.UPSTREAM_429 if outcome == "429" else outcome)


def test_a_hang_is_an_ai_total_failure_at_the_deadline_naming_the_notices_seen() -> None:
    sample, outcome = hang_sample(_exchange(status=None, codes=(ErrorCode.UPSTREAM_ERROR,)), 30.0, [])
    assert (sample.name, sample.response_time, outcome) == (AI_TOTAL, 30_000.0, AiOutcome.HANG)
    assert isinstance(sample.failure, AiHang)
    assert str(sample.failure) == "no ai_done within 30 s after upstream_error"
    quiet, _ = hang_sample(_exchange(status=None), 2.5, [])
    assert str(quiet.failure) == "no ai_done within 2.5 s"
