"""What the browser scan records of a page, from frames and recorder states written by hand (no browser)."""

from __future__ import annotations

import asyncio

from roomwire.conformance.page_behaviour import (
    Exchange,
    PageSockets,
    answer_seen,
    markup_texts,
    notices_seen,
)


def test_markup_texts_fit_the_specs_nickname_limit() -> None:
    texts = markup_texts("abcdef")
    assert len(texts["another member's nickname"]) <= 32
    assert all("data-rw-probe" in text for text in texts.values())


def test_answer_seen_reads_the_new_bubble_from_the_recorder_states() -> None:
    exchange = Exchange("q1", "why?", ["a", "b"], "ok")
    states = [(["old"], False), (["old", ""], True), (["old", "a"], True), (["old", "ab"], False)]
    seen = answer_seen(exchange, states, ["old"], ["old", "ab"], True)
    assert seen.states == ((None, False), ("", True), ("a", True), ("ab", False))
    assert seen.new_bubble and seen.earlier_changed == 0 and seen.final_text == "ab"
    assert answer_seen(exchange, states, ["old"], ["changed"], True).earlier_changed == 1


def test_notices_seen_matches_content_to_the_page_lines() -> None:
    frames: list[dict[str, object]] = [
        {"type": "system", "event": "join", "content": "Bob  joined."},
        {"type": "system", "event": "error", "code": "ai_quota", "content": "Wait.", "retry_after": 3},
        {"type": "user_msg", "content": "not a notice"},
    ]
    seen = notices_seen(frames, ["Bob joined.", "Wait.3 s"], [("ai-log", "Wait.3 s")])
    assert [(n.label(), n.shown, n.retry_after, n.line) for n in seen] == [
        ("join", True, None, None),
        ("error/ai_quota", True, 3.0, "Wait.3 s"),
    ]


async def test_page_sockets_pair_answers_with_questions() -> None:
    sockets = PageSockets()
    sockets._sent('{"type": "ai_msg", "id": "a1", "content": "one"}')
    sockets._sent('{"type": "ai_msg", "content": "two"}')
    for frame in (
        '{"type": "ai_chunk", "id": "a1", "content": "x"}',
        '{"type": "ai_chunk", "content": ""}',
        '{"type": "ai_done", "id": "a1", "status": "ok"}',
        '{"type": "ai_chunk", "content": "y"}',
        '{"type": "ai_done"}',
        "not json",
    ):
        sockets._received(frame)
    first, second = sockets.exchanges
    assert (first.chunks, first.status, second.chunks, second.status) == (["x"], "ok", ["y"], "ok")
    await asyncio.wait_for(second.done.wait(), 1)
    assert len(sockets.received) == 5
