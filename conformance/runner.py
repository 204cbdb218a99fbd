"""Runs the selected checks against one target and turns what they raise into verdicts.

Order: a preflight connection (the target must be reachable, else TargetUnreachable and exit 3; its welcome,
if any, tells every check the advertised limits), then the checks' CPU-bound preparation (`prepare`: it
blocks the event loop, so it runs while no check waits on the target), then every ordinary check
concurrently under a bound (slow ones first, so the long waits overlap), then the exclusive checks one by one
(they disturb the target: drain its AI budget, restart it). Each check gets its own driver, hence its own
rooms. The run measures stalls of its own event loop (roomwire.conformance.stalls): waits on the target are
extended by them, and the facts report them.

Only `SpecViolation` is a FAIL. `Skip` is a SKIP with its reason. Anything else, including a check that
overruns its time budget, is an ERROR with the traceback kept: a harness problem is never reported as the
target's failure (Schemathesis' failure-versus-error split).
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from roomwire.conformance.budget import Gate, Slot
from roomwire.conformance.context import CheckContext, prepare_check
from roomwire.conformance.driver import Driver
from roomwire.conformance.outcomes import CheckResult, Evidence, Skip, Status, Violations, combine
from roomwire.conformance.plan import ai_plan, exchanges_first, load, upstream_calls
from roomwire.conformance.preflight import preflight
from roomwire.conformance.registry import NEED_REASONS, NOT_COVERED, Check, Need, Registry, matches
from roomwire.conformance.session import Session
from roomwire.conformance.shared import start as start_shared
from roomwire.spec.errors import SpecViolation
from roomwire.spec.requirements import Level, Requirement

CHECK_BUDGET_S = 150.0
TRANSCRIPT_EVENTS = 80

Progress = Callable[[str, CheckResult | None], None]


@dataclass(frozen=True)
class Selection:
    """Which requirements run: `--only` patterns and `--level`."""

    only: tuple[str, ...] = ()
    level: Level | None = None  # MUST: MUSTs only; SHOULD: MUST and SHOULD (and MAY); None: all

    def wants(self, requirement: Requirement, checks: Iterable[Check] = ()) -> bool:
        if self.level is Level.MUST and requirement.level is not Level.MUST:
            return False
        if not self.only:
            return True
        return matches(self.only, requirement) or any(matches(self.only, requirement, c.name) for c in checks)


@dataclass
class RequirementResult:
    requirement: Requirement
    status: Status
    detail: str
    checks: list[CheckResult] = field(default_factory=list)


@dataclass
class RunResult:
    results: dict[str, RequirementResult]
    duration: float
    facts: dict[str, object]

    def exit_code(self, *, strict: bool = False) -> int:
        """3 on any harness error, 1 on a failed MUST (any failure under `strict`), else 0 (STYLE.md)."""
        statuses = list(self.results.values())
        if any(r.status is Status.ERROR for r in statuses):
            return 3
        if any(r.status is Status.FAIL and (strict or r.requirement.level is Level.MUST) for r in statuses):
            return 1
        return 0

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for result in self.results.values():
            counts[result.status.value] += 1
        return counts


class Runner:
    """See the module docstring."""

    def __init__(
        self,
        session: Session,
        registry: Registry,
        selection: Selection = Selection(),
        *,
        concurrency: int = 8,
        progress: Progress | None = None,
    ) -> None:
        self.session = session
        self.registry = registry
        self.selection = selection
        self.concurrency = max(1, concurrency)
        self.progress = progress or (lambda _name, _result: None)

    def selected(self) -> tuple[list[Requirement], list[Check]]:
        requirements = [
            req
            for req in self.registry.known.values()
            if self.selection.wants(req, self.registry.for_requirement(req.id))
        ]
        ids = {req.id for req in requirements}
        checks = [c for c in self.registry.checks.values() if c.requirement_id in ids]
        return requirements, checks

    async def run(self) -> RunResult:
        stalls = self.session.stalls
        measuring = not stalls.running
        stalls.start()
        try:
            result = await self._run()
        finally:
            if measuring:
                await stalls.stop()
        stalled = stalls.summary()
        if stalled is not None:
            result.facts["harness stalls"] = stalled
        return result

    async def _run(self) -> RunResult:
        requirements, checks = self.selected()
        facts = await preflight(self.session)
        start = self.session.clock.now()
        ordinary = sorted((c for c in checks if not c.exclusive), key=lambda c: not c.slow)
        exclusive = sorted((c for c in checks if c.exclusive), key=lambda c: c.order)
        with self.session.stalls.deliberate():  # CPU-bound preparation now, while no check waits on the target
            for check in checks:
                if check.prepare is not None and self._unavailable(check) is None:
                    prepare_check(check, self.session)
        self.session.gate = gate = Gate(self.concurrency)
        runnable = [c for c in checks if self._unavailable(c) is None]
        facts["AI plan"] = ai_plan(self.session, runnable)
        for exchange in exchanges_first(runnable):  # before any check: their questions get the first admissions
            start_shared(self.session, exchange)
        slugs = {c.name: self._slug(c) for c in checks}

        async def run(check: Check, bounded: bool) -> list[CheckResult]:
            async with gate.slot(bounded=bounded) as slot:
                return await self.run_check(check, slugs[check.name], slot)

        collected: list[CheckResult] = []
        for batch in await asyncio.gather(*(run(c, True) for c in ordinary)):
            collected += batch
        for check in exclusive:
            collected += await run(check, False)
        results = self._combine(requirements, collected)
        facts["AI requests"] = self.session.ai.summary()
        facts["upstream calls"] = await upstream_calls(self.session)
        facts["load"] = load(self.session)
        return RunResult(results, self.session.clock.now() - start, facts)

    def _slug(self, check: Check) -> str:
        siblings = self.registry.for_requirement(check.requirement_id)
        return f"{check.requirement_id.lower()}{'abcdefghijklmnopqrstuvwxyz'[siblings.index(check)]}"

    def _combine(self, requirements: list[Requirement], collected: list[CheckResult]) -> dict[str, RequirementResult]:
        results: dict[str, RequirementResult] = {}
        wanted = {req.id for req in requirements} | {r.requirement_id for r in collected}
        for req in (r for r in self.registry.known.values() if r.id in wanted):
            own = [r for r in collected if r.requirement_id == req.id]
            if not own and req.id in NOT_COVERED:
                results[req.id] = RequirementResult(req, Status.SKIP, f"not covered: {NOT_COVERED[req.id]}")
                continue
            status, detail = combine(own)
            results[req.id] = RequirementResult(req, status, detail, own)
        return results

    def _unavailable(self, check: Check) -> str | None:
        available = {Need.DOUBLE} if self.session.upstream is not None else set()
        if self.session.upstream is not None and self.session.canary:
            available.add(Need.CANARY)
        if self.session.restart is not None:
            available.add(Need.RESTART)
        if self.session.browser is not None:
            available.add(Need.BROWSER)
        if self.session.canary:
            available.add(Need.CANARY_KEY)
        if self.session.target_logs:
            available.add(Need.TARGET_LOG)
        missing = [need for need in check.needs if need not in available]
        return "; ".join(self._reason(need) for need in missing) if missing else None

    def _reason(self, need: Need) -> str:
        if need is Need.BROWSER and self.session.browser_absent:  # the bundled run would have used one
            return f"needs chromium and Playwright: {self.session.browser_absent}"
        return NEED_REASONS[need]

    async def run_check(self, check: Check, slug: str, slot: Slot | None = None) -> list[CheckResult]:
        """Run one check and return one result per requirement it declares."""
        self.progress(check.name, None)
        reason = self._unavailable(check)
        if reason is not None:
            results = self._results(check, Status.SKIP, reason, 0.0, None, None)
            self.progress(check.name, results[0])
            return results
        driver = Driver(self.session, check.name, slug)
        ctx = CheckContext(self.session, check, driver)
        started = self.session.clock.now()
        violated: str | None = None
        evidence: Evidence | None = None
        try:
            await self._within_budget(check.func(ctx), slot or Slot())
            status, detail = Status.PASS, "; ".join(ctx.notes) or check.doc or "held"
        except Violations as exc:
            return await self._several(check, exc, ctx, driver, started)
        except SpecViolation as exc:
            status, detail, violated = Status.FAIL, f"expected {exc.expected}; got {exc.actual}", exc.requirement_id
            mask = self.session.watch.mask
            evidence = Evidence(expected=mask(exc.expected), actual=mask(exc.actual))
            if exc.requirement_id not in check.requirement_ids:  # a check may only judge what it declares
                status, violated = Status.ERROR, None
                detail = f"harness bug: {check.name} attributed a violation to {exc.requirement_id}: {detail}"
        except Skip as exc:
            status, detail = Status.SKIP, exc.reason
        except TimeoutError:
            status, detail = (
                Status.ERROR,
                f"the check overran its budget of {self.session.timeouts(CHECK_BUDGET_S):.0f} s",
            )
            evidence = Evidence(traceback=traceback.format_exc())
        except Exception as exc:
            status, detail = Status.ERROR, f"{type(exc).__name__}: {exc}"
            evidence = Evidence(traceback=traceback.format_exc())
        finally:
            await driver.aclose()
        if evidence is not None:
            evidence.notes = list(ctx.notes)
            evidence.transcripts = [self._masked(t.to_json(TRANSCRIPT_EVENTS)) for t in ctx.transcripts()]
            evidence.attachments = {name: self._mask_tree(data) for name, data in ctx.attachments.items()}
        duration = self.session.clock.now() - started
        results = self._results(check, status, detail, duration, evidence, violated, ctx.unjudged)
        self.progress(check.name, next((r for r in results if r.status is status), results[0]))
        return results

    async def _within_budget(self, work: Awaitable[None], slot: Slot) -> None:
        """Run `work` within CHECK_BUDGET_S of its own time: waits for the AI budget or a shared answer
        (`Slot.idle_total`) do not count. Raises TimeoutError when it overruns."""
        task = asyncio.ensure_future(work)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.session.timeouts(CHECK_BUDGET_S)
        try:
            while not task.done():
                now = loop.time()
                remaining = deadline + slot.idle_total(time.monotonic()) - now
                if remaining <= 0:
                    raise TimeoutError
                await asyncio.wait({task}, timeout=remaining)
            task.result()
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _several(
        self, check: Check, exc: Violations, ctx: CheckContext, driver: Driver, started: float
    ) -> list[CheckResult]:
        """A FAIL per broken requirement, a PASS for the check's others (its scenario ran to the end)."""
        await driver.aclose()
        duration = self.session.clock.now() - started
        transcripts = [self._masked(t.to_json(TRANSCRIPT_EVENTS)) for t in ctx.transcripts()]
        broken = {v.requirement_id: v for v in reversed(exc.violations)}
        results = []
        for rid in check.requirement_ids:
            violation = broken.get(rid)
            if violation is None and rid in ctx.unjudged:
                reason = self.session.watch.mask(ctx.unjudged[rid])
                results.append(CheckResult(check.name, rid, Status.SKIP, reason, duration))
                continue
            if violation is None:
                results.append(CheckResult(check.name, rid, Status.PASS, "; ".join(ctx.notes) or check.doc, duration))
                continue
            detail = self.session.watch.mask(f"expected {violation.expected}; got {violation.actual}")
            evidence = Evidence(violation.expected, violation.actual, transcripts=transcripts, notes=list(ctx.notes))
            results.append(CheckResult(check.name, rid, Status.FAIL, detail, duration, evidence))
        if set(broken) - set(check.requirement_ids):
            return self._results(
                check, Status.ERROR, f"harness bug: {check.name} blamed {sorted(broken)}", duration, None, None
            )
        self.progress(check.name, results[0])
        return results

    def _results(
        self,
        check: Check,
        status: Status,
        detail: str,
        duration: float,
        evidence: Evidence | None,
        violated: str | None,
        unjudged: dict[str, str] | None = None,
    ) -> list[CheckResult]:
        """One result per declared requirement; on a PASS, those the check marked not judged are SKIPs."""
        masked = self.session.watch.mask(detail)
        if status is Status.PASS and unjudged:
            mask = self.session.watch.mask
            return [
                CheckResult(check.name, rid, Status.SKIP, mask(unjudged[rid]), duration)
                if rid in unjudged
                else CheckResult(check.name, rid, status, masked, duration, evidence)
                for rid in check.requirement_ids
            ]
        if status is not Status.FAIL:
            return [CheckResult(check.name, rid, status, masked, duration, evidence) for rid in check.requirement_ids]
        results = [CheckResult(check.name, violated or check.requirement_id, Status.FAIL, masked, duration, evidence)]
        for rid in check.requirement_ids:
            if rid != results[0].requirement_id:
                note = f"not concluded: the scenario stopped at a {results[0].requirement_id} violation"
                results.append(CheckResult(check.name, rid, Status.SKIP, note, duration))
        return results

    def _mask_tree(self, data: object) -> object:
        """`data` (JSON-like) with every watched secret masked in every string."""
        if isinstance(data, str):
            return self.session.watch.mask(data)
        if isinstance(data, dict):
            return {key: self._mask_tree(value) for key, value in data.items()}
        if isinstance(data, list | tuple):
            return [self._mask_tree(value) for value in data]
        return data

    def _masked(self, data: dict[str, object]) -> dict[str, object]:
        events = data.get("events")
        if isinstance(events, list):
            for event in events:
                if isinstance(event, dict) and isinstance(event.get("text"), str):
                    event["text"] = self.session.watch.mask(event["text"])
        return data
