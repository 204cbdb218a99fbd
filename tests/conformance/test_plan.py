"""The run's AI plan and what it reports spending."""

from __future__ import annotations

import roomwire.conformance.checks  # noqa: F401 - registers the checks
from roomwire.conformance.checks.cases import case_exchange
from roomwire.conformance.checks.exchanges import KOREAN, PLAIN
from roomwire.conformance.plan import ai_plan, exchanges_first, load, planned_requests, upstream_calls
from roomwire.conformance.registry import REGISTRY
from roomwire.conformance.session import Session
from roomwire.conformance.target import parse_target


def test_shared_answers_count_once_and_slow_readers_start_first() -> None:
    checks = [c for c in REGISTRY.checks.values() if c.requirement_id.startswith(("AI-", "UP-"))]
    own, shared = planned_requests(checks)
    assert own == sum(c.ai for c in checks)
    assert shared == len({ex.name for c in checks for ex in c.shares})  # every exchange costs one request
    first = exchanges_first(checks)
    assert first[0] in [case_exchange("stall"), case_exchange("server_error")]  # read by slow checks
    assert {PLAIN, KOREAN} <= set(first)


async def test_the_plan_and_the_counts_read_as_facts() -> None:
    session = Session(target=parse_target(["ws://127.0.0.1:1/api/v1/ws/chat/{room_id}"]))
    none = [c for c in REGISTRY.checks.values() if c.requirement_id == "CHAT-001"]
    assert ai_plan(session, none) == "no AI requests"
    ai = [c for c in REGISTRY.checks.values() if c.requirement_id in ("AI-001", "AI-005")]
    assert ai_plan(session, ai).startswith("2 AI requests (1 shared by several checks, 1 checks' own)")
    assert "within one window" in ai_plan(session, ai)
    assert await upstream_calls(session) == "not counted (no --double)"
    assert load(session) == "0 connections opened, 0 frames sent, 0 received"
    await session.aclose()
