"""SPEC.md SEC-003 and UP-008, the log side: neither the key nor upstream error text in any log line of the server.

The target's log (roomwire.conformance.target_log: `--target-log PATH`, or the bundled target's, which the suite
keeps itself) is read once every other check of the run is done (exclusive, last), so it holds what the whole run
provoked, and the upstream cases it needs first: errors that echo the key (in the message, the details, a
DebugInfo) and every other upstream outcome. A server that logs Google's error body as it came, as the seed's
handler does through uvicorn, fails here. Without a log the runner reports these checks as not judged (Need
.TARGET_LOG), so SEC-003 and UP-008 pass only partially and say so.
"""

from __future__ import annotations

from roomwire.conformance.checks.cases import CASES, case_exchanges, upstream_case
from roomwire.conformance.checks.exchanges import PLAIN
from roomwire.conformance.checks.secrets import KEY_ECHOES, prove_canary
from roomwire.conformance.context import CheckContext
from roomwire.conformance.registry import Need, requirement
from roomwire.conformance.target_log import LogRead, describe, search
from roomwire.conformance.upstream import UPSTREAM_TEXT_PHRASES

#: After every other exclusive check (LIMIT-005's drain is 10 and 11): the log then covers the whole run.
LOG_ORDER = 20


async def read_logs(ctx: CheckContext) -> list[LogRead]:
    """Every log the run has, read now; SKIP when none could be read (saying why)."""
    reads = [await log.read() for log in ctx.session.target_logs]
    readable = [read for read in reads if not read.unread]
    if not readable:
        raise ctx.skip("the log side was not judged: " + "; ".join(f"{r.name}: {r.unread}" for r in reads))
    return reads


def judged(reads: list[LogRead]) -> str:
    """What was searched: lines per log, and what could not be read or was read only in part."""
    parts = []
    for read in reads:
        said = f"{read.name}: not read ({read.unread})" if read.unread else f"{len(read.lines)} line(s) of {read.name}"
        parts.append(said + "".join(f" ({note})" for note in read.notes))
    return "; ".join(parts)


@requirement(
    "SEC-003",
    needs=[Need.CANARY, Need.TARGET_LOG],
    exclusive=True,
    order=LOG_ORDER,
    shares=(PLAIN, *case_exchanges(*KEY_ECHOES)),
)
async def the_key_appears_in_no_log_line(ctx: CheckContext) -> None:
    """The target's log of the run holds no line with the key, although upstream errors echoed it in their
    message, details and DebugInfo."""
    for name in KEY_ECHOES:
        await upstream_case(ctx, name)
    reads = await read_logs(ctx)
    canary = {"the canary key": ctx.session.canary or ""}
    findings = [found for read in reads for found in search(read, canary, ctx.session.watch.mask)]
    if findings:
        raise ctx.violation("the key in no log line", f"the canary key in {describe(findings)}")
    await prove_canary(ctx)  # no find means something only once the target is known to use the canary
    ctx.note(f"no key in {judged(reads)}, after upstream errors that echoed it")


@requirement(
    "UP-008", needs=[Need.DOUBLE, Need.TARGET_LOG], exclusive=True, order=LOG_ORDER, shares=case_exchanges(*CASES)
)
async def upstream_error_text_appears_in_no_log_line(ctx: CheckContext) -> None:
    """The target's log of the run holds none of upstream's error text (Google's messages and details, the run's
    own marker in a replayed body), after every upstream case of the run."""
    needles = {repr(phrase): phrase for phrase in UPSTREAM_TEXT_PHRASES}
    for name in CASES:
        result = await upstream_case(ctx, name)
        if any("{marker}" in str(value) for value in result.case.options.values()):
            needles[f"the marker upstream sent in {result.case.what}"] = result.marker
    reads = await read_logs(ctx)
    findings = [found for read in reads for found in search(read, needles, ctx.session.watch.mask)]
    if findings:
        raise ctx.violation("no upstream error text in any log line", f"upstream error text in {describe(findings)}")
    ctx.note(f"no upstream error text in {judged(reads)}, after {len(CASES)} upstream outcomes")


#: The checks judged on the target's log, by requirement: what a run without a log reports as not judged.
LOG_CHECKS = {
    "SEC-003": the_key_appears_in_no_log_line.__name__,
    "UP-008": upstream_error_text_appears_in_no_log_line.__name__,
}
