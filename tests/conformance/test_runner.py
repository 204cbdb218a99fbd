"""The runner turns what checks raise into verdicts: only SpecViolation fails, Skip skips with its reason, and
anything else is a harness error; exit codes follow from the verdicts."""

from __future__ import annotations

import asyncio

import pytest

from roomwire.conformance.context import CheckContext
from roomwire.conformance.outcomes import Status, Violations
from roomwire.conformance.registry import Need, Registry
from roomwire.conformance.runner import Runner, RunResult, Selection
from roomwire.conformance.session import Session, Timeouts
from roomwire.conformance.target import parse_target
from roomwire.spec.errors import SpecViolation, TargetUnreachable
from roomwire.spec.requirements import Level, catalog
from tests.conformance.toy import Toy, toy_server

ORDER: list[str] = []


def fake_registry() -> Registry:
    registry = Registry()

    @registry.requirement("CHAT-001")
    async def holds(ctx: CheckContext) -> None:
        """Holds."""
        ann = await ctx.driver.join(ctx.room(), "Ann")
        await ann.say("x")
        ctx.note("said x")

    @registry.requirement("CHAT-002")
    async def breaks(ctx: CheckContext) -> None:
        """Breaks."""
        await ctx.driver.join(ctx.room(), "Ann")
        raise ctx.violation("a", "b")

    @registry.requirement("CHAT-005")
    async def breaks_a_should(ctx: CheckContext) -> None:
        """Breaks a SHOULD."""
        raise SpecViolation("CHAT-005", "consecutive", "a gap")

    @registry.requirement("CHAT-003")
    async def skips(ctx: CheckContext) -> None:
        """Skips."""
        raise ctx.skip("no reason to run")

    @registry.requirement("CHAT-004")
    async def crashes(ctx: CheckContext) -> None:
        """Crashes."""
        raise KeyError("harness bug")

    @registry.requirement("CHAT-006")
    async def blames_another(ctx: CheckContext) -> None:
        """Blames a requirement it does not declare."""
        raise SpecViolation("PRES-001", "x", "y")

    @registry.requirement("UP-001", needs=[Need.DOUBLE])
    async def needs_double(ctx: CheckContext) -> None:
        """Needs the double."""

    @registry.requirement("PRES-001", also=("PRES-002", "PRES-003"))
    async def several(ctx: CheckContext) -> None:
        """Fails one of its IDs."""
        raise ctx.violation("leave", "none", "PRES-002")

    @registry.requirement("INPUT-005")
    async def sends_after_the_target_closed(ctx: CheckContext) -> None:
        """Sends its frame on a connection the target has closed: not judged."""
        ann = await ctx.driver.join(ctx.room(), "Ann")
        await ann.send_binary(b"x")  # the toy closes with 1003
        await ann.wait_closed(ctx.timeouts.frame)
        ctx.sent(ann, await ann.send_raw_text_bytes(b"\xff"), "the invalid UTF-8 frame")

    @registry.requirement("IDENT-001", also=("IDENT-002",))
    async def judges_one_of_two(ctx: CheckContext) -> None:
        """Reaches a verdict on IDENT-001 only."""
        ctx.not_judged("IDENT-002", "not judged: nothing was sent")

    @registry.requirement("LIMIT-001", also=("LIMIT-002", "LIMIT-003"))
    async def fails_one_judges_one(ctx: CheckContext) -> None:
        """Fails LIMIT-002 and cannot judge LIMIT-003; a violation wins over not judged."""
        ctx.not_judged("LIMIT-003", "not judged: the payloads never left")
        ctx.not_judged("LIMIT-002", "not judged: overridden by the violation")
        raise Violations([ctx.violation("too_long", "nothing", "LIMIT-002")])

    @registry.requirement("RECON-002", exclusive=True, order=5)
    async def last(ctx: CheckContext) -> None:
        """Runs last."""
        ORDER.append("last")

    @registry.requirement("LIMIT-005", exclusive=True, order=1)
    async def before_last(ctx: CheckContext) -> None:
        """Runs before last."""
        ORDER.append("before")

    @registry.requirement("SEC-001", needs=[Need.CANARY, Need.RESTART])
    async def needs_more(ctx: CheckContext) -> None:
        """Needs a canary and a restart."""

    return registry


async def run(selection: Selection | None = None, toy: Toy | None = None) -> RunResult:
    selection = selection or Selection()
    ORDER.clear()
    async with toy_server(toy) as url:
        session = Session(target=parse_target([url]), timeouts=Timeouts(0.3))
        progress: list[tuple[str, object]] = []
        try:
            result = await Runner(
                session, fake_registry(), selection, progress=lambda n, r: progress.append((n, r))
            ).run()
        finally:
            await session.aclose()
    assert len(progress) == 2 * len(
        [c for c in fake_registry().checks.values() if selection.wants(catalog()[c.requirement_id], [c])]
    )
    return result


async def test_verdicts_by_what_the_check_raised() -> None:
    result = await run()
    statuses = {rid: r.status for rid, r in result.results.items()}
    assert statuses["CHAT-001"] is Status.PASS and result.results["CHAT-001"].detail == "said x"
    assert statuses["CHAT-002"] is Status.FAIL and statuses["CHAT-005"] is Status.FAIL
    assert statuses["CHAT-003"] is Status.SKIP and result.results["CHAT-003"].detail == "no reason to run"
    assert statuses["CHAT-004"] is Status.ERROR and statuses["CHAT-006"] is Status.ERROR
    assert "attributed a violation to PRES-001" in result.results["CHAT-006"].detail
    assert statuses["UP-001"] is Status.SKIP and "--double" in result.results["UP-001"].detail
    assert "canary" in result.results["SEC-001"].detail and "restart" in result.results["SEC-001"].detail
    assert (statuses["PRES-002"], statuses["PRES-001"], statuses["PRES-003"]) == (Status.FAIL, Status.SKIP, Status.SKIP)
    assert statuses["FRAME-003"] is Status.SKIP and "browser" in result.results["FRAME-003"].detail
    assert statuses["INPUT-005"] is Status.SKIP
    assert result.results["INPUT-005"].detail == (
        "not judged: the invalid UTF-8 frame was never sent: the target had closed A's connection (close 1003)"
    )
    assert (statuses["IDENT-001"], statuses["IDENT-002"]) == (Status.PASS, Status.SKIP)
    assert result.results["IDENT-002"].detail == "not judged: nothing was sent"
    assert (statuses["LIMIT-001"], statuses["LIMIT-002"], statuses["LIMIT-003"]) == (
        Status.PASS,
        Status.FAIL,
        Status.SKIP,
    )
    assert ORDER == ["before", "last"]
    failed = result.results["CHAT-002"].checks[0].evidence
    assert failed is not None and failed.expected == "a" and failed.transcripts[0]["connection"] == "A"
    crashed = result.results["CHAT-004"].checks[0].evidence
    assert crashed is not None and "KeyError" in crashed.traceback
    assert result.exit_code() == 3


async def test_exit_codes_follow_levels_and_strictness() -> None:
    must = await run(Selection(("CHAT-001", "CHAT-002")))
    assert must.exit_code() == 1
    should = await run(Selection(("CHAT-001", "CHAT-005")))
    assert should.exit_code() == 0 and should.exit_code(strict=True) == 1
    fine = await run(Selection(("CHAT-001", "CHAT-003")))
    assert fine.exit_code() == 0
    assert fine.counts() == {"pass": 1, "fail": 0, "skip": 1, "error": 0, "not_applicable": 0}
    musts = await run(Selection(level=Level.MUST))
    assert "CHAT-005" not in musts.results


async def test_an_unreachable_target_stops_before_any_check() -> None:
    session = Session(target=parse_target(["ws://127.0.0.1:9/x"]), timeouts=Timeouts(0.2))
    with pytest.raises(TargetUnreachable):
        await Runner(session, fake_registry()).run()
    await session.aclose()


async def test_preflight_learns_the_welcome_and_limits() -> None:
    result = await run(Selection(("CHAT-001",)))
    assert result.facts["welcome"] is True and isinstance(result.facts["limits"], dict)
    bare = await run(Selection(("CHAT-001",)), Toy(no_welcome=True))
    assert bare.facts["welcome"] is False and "not advertised" in str(bare.facts["limits"])


async def test_a_check_over_its_budget_is_a_harness_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import roomwire.conformance.runner as runner_module

    registry = Registry()

    @registry.requirement("CHAT-001")
    async def hangs(ctx: CheckContext) -> None:
        """Never ends."""
        await asyncio.sleep(60)

    monkeypatch.setattr(runner_module, "CHECK_BUDGET_S", 0.1)
    async with toy_server() as url:
        session = Session(target=parse_target([url]), timeouts=Timeouts(1.0))
        result = await Runner(session, registry, Selection(("CHAT-001",))).run()
        await session.aclose()
    assert result.results["CHAT-001"].status is Status.ERROR and "budget" in result.results["CHAT-001"].detail


async def test_the_room_model_attributes_what_it_finds_to_its_own_requirements() -> None:
    """The toy neither broadcasts (no_broadcast) nor answers the AI (answers_ai=False): the model must fail one of
    its requirements (which one depends on the derandomized history), leave the others "not concluded", and raise
    no error."""
    import roomwire.conformance.checks  # noqa: F401 - registers the checks
    from roomwire.conformance.registry import REGISTRY

    check = REGISTRY.checks["a_random_room_history_matches_the_model"]
    registry = Registry()
    registry.add(check)
    async with toy_server(Toy(no_broadcast=True, answers_ai=False)) as url:
        session = Session(target=parse_target([url]), timeouts=Timeouts(0.3))
        result = await Runner(session, registry, Selection(("CHAT-004",))).run()
        await session.aclose()
    statuses = {rid: result.results[rid].status for rid in check.requirement_ids}
    failed = [rid for rid, status in statuses.items() if status is Status.FAIL]
    assert failed in (["CHAT-001"], ["AI-002"]) and Status.ERROR not in statuses.values()
    assert all(status is Status.SKIP for rid, status in statuses.items() if rid not in failed)
