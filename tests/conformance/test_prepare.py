"""A check's `prepare` (roomwire.conformance.registry): the runner calls it once, before any check starts, and not
for a check it skips; a prepare that raises is that check's harness error, no one else's. The loop it blocks
on purpose is not reported as a stall; a check that blocks the loop is."""

from __future__ import annotations

import time

from roomwire.conformance.context import CheckContext
from roomwire.conformance.outcomes import Status
from roomwire.conformance.registry import Need, Registry
from roomwire.conformance.runner import Runner, RunResult, Selection
from roomwire.conformance.session import Session, Timeouts
from roomwire.conformance.target import parse_target
from tests.conformance.toy import toy_server


async def run(registry: Registry, *only: str) -> tuple[RunResult, Session]:
    async with toy_server() as url:
        session = Session(target=parse_target([url]), timeouts=Timeouts(0.3))
        try:
            return await Runner(session, registry, Selection(only)).run(), session
        finally:
            await session.aclose()


def block(seconds: float) -> None:
    """Block the loop for `seconds`, as a synchronous computation does."""
    time.sleep(seconds)


async def test_prepare_runs_once_before_any_check_and_its_error_is_that_checks_alone() -> None:
    events: list[str] = []
    registry = Registry()

    def cases(session: Session) -> list[str]:
        events.append("prepare cases")
        return ["a", "b"]

    def broken(session: Session) -> object:
        events.append("prepare broken")
        raise ValueError("no cases today")

    def never(session: Session) -> object:
        events.append("prepare skipped")
        return None

    @registry.requirement("CHAT-001", prepare=cases)
    async def uses_its_cases(ctx: CheckContext) -> None:
        """Reads what it prepared, twice."""
        events.append("check")
        assert ctx.prepared == ["a", "b"] and ctx.prepared is ctx.prepared

    @registry.requirement("CHAT-002", prepare=broken)
    async def cannot_prepare(ctx: CheckContext) -> None:
        """Reads what failed to prepare."""
        events.append("check")
        assert ctx.prepared

    @registry.requirement("CHAT-003")
    async def prepares_nothing(ctx: CheckContext) -> None:
        """Needs no preparation."""
        events.append("check")

    @registry.requirement("UP-001", needs=[Need.DOUBLE], prepare=never)
    async def skipped(ctx: CheckContext) -> None:
        """Skipped: no double."""

    result, _ = await run(registry, "CHAT-001", "CHAT-002", "CHAT-003", "UP-001")
    assert events == ["prepare cases", "prepare broken", "check", "check", "check"]
    statuses = {rid: result.results[rid].status for rid in ("CHAT-001", "CHAT-002", "CHAT-003", "UP-001")}
    assert statuses == {
        "CHAT-001": Status.PASS,
        "CHAT-002": Status.ERROR,
        "CHAT-003": Status.PASS,
        "UP-001": Status.SKIP,
    }
    failed = result.results["CHAT-002"]
    assert "preparing cannot_prepare failed: ValueError: no cases today" in failed.detail
    evidence = failed.checks[0].evidence
    assert evidence is not None and "ValueError: no cases today" in evidence.traceback
    assert result.exit_code() == 3


async def test_preparing_is_no_stall_but_a_check_blocking_the_loop_is() -> None:
    registry = Registry()

    def slow(session: Session) -> object:
        block(1.0)
        return None

    @registry.requirement("CHAT-001", prepare=slow)
    async def prepared_slowly(ctx: CheckContext) -> None:
        """Prepared slowly, on purpose."""

    quiet, session = await run(registry, "CHAT-001")
    assert "harness stalls" not in quiet.facts and session.stalls.total < 0.5

    @registry.requirement("CHAT-002")
    async def blocks_the_loop(ctx: CheckContext) -> None:
        """Blocks the suite's loop while it runs."""
        block(1.0)

    busy, session = await run(registry, "CHAT-002")
    assert "harness stalls" in busy.facts and session.stalls.longest >= 0.9
