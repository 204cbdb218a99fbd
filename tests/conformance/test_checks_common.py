"""The arithmetic the checks rely on: Hangul ratio (AI-007), padding, pacing, deadlines, payload labels."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from roomwire.conformance.checks import fuzz
from roomwire.conformance.checks.common import (
    Pacer,
    half_open_deadline,
    hangul_ratio,
    leave_deadline,
    whitespace_padded,
)
from roomwire.conformance.checks.exchanges import hold_wait
from roomwire.conformance.session import Timeouts
from roomwire.fixtures import invalid_frames
from roomwire.spec.cases import LabelledPayload
from roomwire.spec.codes import CloseCode, ErrorCode
from roomwire.spec.limits import DEFAULT_LIMITS, Limits


def fake_ctx(limits: Limits = DEFAULT_LIMITS, advertised: bool = True) -> Any:
    session = SimpleNamespace(limits_advertised=advertised, timeouts=Timeouts(1.0))
    return SimpleNamespace(limits=limits, session=session, timeouts=Timeouts(1.0))


def test_hangul_ratio_counts_letters_only() -> None:
    assert hangul_ratio("핀볼은 재미있어요!") == 1.0
    assert hangul_ratio("Pinball is fun.") == 0.0
    assert hangul_ratio("123 ... !!!") == 0.0
    assert hangul_ratio("핀볼 pinball") == 2 / 9  # two Hangul syllables among nine letters: not Korean


def test_whitespace_padding_keeps_valid_json_of_the_wanted_size() -> None:
    frame = json.dumps({"type": "user_msg", "content": "가"}, ensure_ascii=False)
    padded = whitespace_padded(frame, 1000)
    assert len(padded.encode()) == 1000 and json.loads(padded) == json.loads(frame)
    assert whitespace_padded(frame, 3) == frame


def test_deadlines_follow_advertised_limits_within_spec_bounds() -> None:
    fast = Limits(ping_interval_s=2, ping_timeout_s=3)
    assert half_open_deadline(fake_ctx(fast)) == 5 + 5
    assert half_open_deadline(fake_ctx(Limits(ping_interval_s=30, ping_timeout_s=30))) == 60 + 5
    assert half_open_deadline(fake_ctx(fast, advertised=False)) == 60 + 5
    assert leave_deadline(fake_ctx()) == 7.0


def test_the_wait_for_a_held_first_chunk_ends_before_the_targets_own_ai_timeout() -> None:
    """AI-003's hold: 10 s, but short of ai_timeout_s (a buffering target must not time out on the held answer
    first), and never less than half of it."""
    assert hold_wait(fake_ctx(DEFAULT_LIMITS)) == 10.0  # ai_timeout_s 30
    assert hold_wait(fake_ctx(Limits(ai_timeout_s=5))) == 3.5
    assert hold_wait(fake_ctx(Limits(ai_timeout_s=2))) == 1.0


async def test_pacer_spends_the_burst_then_waits() -> None:
    pacer = Pacer(fake_ctx(Limits(rate_per_s=50, burst=5)), reserve=3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(4):
        await pacer.wait()
    assert loop.time() - started >= 2 / 40 - 0.01


def test_fuzz_labels_apply_only_under_the_limits_they_assume() -> None:
    fixtures = invalid_frames()
    assert all(fuzz.applicable(case, DEFAULT_LIMITS) for case in fixtures)
    small = Limits(max_content_chars=500)
    assert not any(fuzz.applicable(c, small) for c in fixtures if c.requirement_id == "LIMIT-002")
    wrong = LabelledPayload(name="x", payload="{}", requirement_id="INPUT-001", error_code=ErrorCode.BAD_JSON)
    assert not fuzz.applicable(wrong, DEFAULT_LIMITS)


def test_an_oversized_non_utf8_frame_may_close_with_1009_or_1007() -> None:
    both = LabelledPayload(
        name="x", payload=b"\xff" * 10, requirement_id="LIMIT-001", close_code=CloseCode.MESSAGE_TOO_BIG
    )
    assert fuzz.acceptable_closes(both) == {1009, 1007}
    text = LabelledPayload(name="y", payload="x" * 10, requirement_id="LIMIT-001", close_code=CloseCode.MESSAGE_TOO_BIG)
    assert fuzz.acceptable_closes(text) == {1009}


def test_generated_near_misses_are_reproducible_from_the_seed() -> None:
    first = fuzz.generated_cases(7, 5, 65536)
    again = fuzz.generated_cases(7, 5, 65536)
    assert [c.name for c in first] == [c.name for c in again] and len(first) == 5
