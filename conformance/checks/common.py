"""Helpers the checks share: rooms of members, AI answers as frames, pacing under the rate limit, Hangul ratio.

AI answers are read from the raw frames after the question (lenient, like every predicate here), not from
`ClientProtocol`'s exchange bookkeeping, because that bookkeeping relies on `id` echoes (a SHOULD, AI-012)
and a MUST check must not depend on a SHOULD.
"""

from __future__ import annotations

import asyncio
import math
import unicodedata
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from roomwire.conformance import frames
from roomwire.conformance.budget import MAX_TRIES, Admission
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.frames import Predicate
from roomwire.conformance.outcomes import Blocked
from roomwire.spec.limits import HALF_OPEN_DEADLINE_S, LEAVE_DEADLINE_S
from roomwire.spec.messages import HistoryItem
from roomwire.spec.protocol import Received

T = TypeVar("T")

NAMES = ("Ann", "Bob", "Cy", "Dee", "Eve", "Finn", "Gus", "Hal")

#: Codes that mean "the AI was not asked because of load", which no check about answers can judge through.
QUOTA_CODES = ("ai_quota", "upstream_rate_limited")


async def members(ctx: CheckContext, count: int, *, room: str | None = None, first: int = 0) -> list[Client]:
    """`count` clients joined to one room, one after the other, named Ann, Bob, ..."""
    where = room or ctx.room()
    return [await ctx.driver.join(where, NAMES[(first + i) % len(NAMES)]) for i in range(count)]


@dataclass
class Answer:
    """The frames that answered one ai_msg, as the asker received them."""

    chunks: list[Received] = field(default_factory=list)
    errors: list[Received] = field(default_factory=list)
    dones: list[Received] = field(default_factory=list)
    late_chunks: list[Received] = field(default_factory=list)  # ai_chunk after the first ai_done (AI-002)

    @property
    def text(self) -> str:
        return "".join(str(frames.data(c).get("content", "")) for c in self.chunks)

    @property
    def status(self) -> str | None:
        return str(frames.data(self.dones[0]).get("status")) if self.dones else None

    @property
    def codes(self) -> list[str]:
        return [str(frames.data(e).get("code")) for e in self.errors]

    @property
    def failed(self) -> bool:
        return bool(self.errors) or self.status in ("error", "blocked", "rejected")


async def collect_answer(
    ctx: CheckContext, client: Client, since: int, *, within: float | None = None, linger: float | None = None
) -> Answer:
    """Wait for the first ai_done after `since`, then `linger` (settle) to catch a second one or late chunks."""
    await client.wait_for(frames.ai_done(), ctx.timeouts.ai if within is None else within, since)
    await asyncio.sleep(ctx.timeouts.settle if linger is None else linger)
    answer = Answer()
    for item in client.received[since:]:
        kind = frames.kind(item)
        if kind == "ai_chunk":
            (answer.late_chunks if answer.dones else answer.chunks).append(item)
        elif kind == "ai_done":
            answer.dones.append(item)
        elif ctx.profile.error()(item):
            answer.errors.append(item)
    return answer


Send = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class Sent:
    """A question the target took or refused for another reason than its budget: the client's mark before it,
    and its admission in the AI budget (to give back what `reserve` kept for questions that were refused)."""

    since: int
    admission: Admission


async def ask_within_budget(
    ctx: CheckContext,
    client: Client,
    send: Send,
    *,
    first: Predicate | None = None,
    within: float | None = None,
    reserve: int = 1,
) -> Sent:
    """Send a question within the target's AI budget and wait for its answer's `first` frame (default: ai_done);
    returns the client's mark before the question.

    The question is admitted by the run's `AiBudget` (paced to `ai_budget_rpm`). A refusal `ai_quota` the suite
    provoked itself is not the answer: the budget holds every question until the advertised `retry_after` and this
    one is asked again, at most `MAX_TRIES` times; then the check SKIPs with the reason (LIMIT-005's own check is
    the one that judges refusals). A question the target accepts counts; one refused for another reason is given
    back to the budget. `reserve` admits room for more questions the check sends on its own right after (they
    stay counted: the target may accept them).
    """
    budget = ctx.session.ai
    wait = ctx.timeouts.ai if within is None else within
    refusals: list[str] = []
    for _ in range(MAX_TRIES):
        admission = await budget.admit(reserve)
        since = client.mark()
        await send()
        await client.wait_for(first or frames.ai_done(), wait, since)
        quota = client.find(frames.error("ai_quota"), since)
        if not quota:
            done = client.find(frames.ai_done(), since)
            if done and frames.data(done[0]).get("status") == "rejected":
                budget.give_back(admission)
            return Sent(since, admission)
        retry = frames.data(quota[0]).get("retry_after")
        hold = budget.refused(admission, retry)
        refusals.append(f"retry_after {retry!r}")
        client.transcript.note(
            f"ai_quota for a question of the suite's (retry_after {retry!r}): the suite sends no question for "
            f"{hold:.0f} s and asks again (a refusal it provoked is not a verdict)"
        )
        await client.wait_for(frames.ai_done(), ctx.timeouts.frame, quota[0].index)
    raise ctx.skip(
        f"the target refused the question for its AI budget {len(refusals)} times ({', '.join(refusals)}) although "
        f"the suite kept its own questions within ai_budget_rpm {budget.rpm}: another client is spending the budget"
    )


async def ask(
    ctx: CheckContext,
    client: Client,
    question: str,
    *,
    id: str | None = None,
    history: tuple[HistoryItem, ...] = (),
    within: float | None = None,
) -> Answer:
    """Ask within the AI budget (`ask_within_budget`) and collect the answer."""
    sent = await ask_within_budget(ctx, client, lambda: client.ask(question, id=id, history=history), within=within)
    since = sent.since
    return await collect_answer(ctx, client, since, within=0.0)  # the wait for its ai_done is over


def skip_if_not_answered(ctx: CheckContext, answer: Answer, what: str, client: Client) -> None:
    """A check about a successful answer cannot judge one that failed for reasons outside its requirement."""
    if any(code in QUOTA_CODES for code in answer.codes):
        raise ctx.skip(f"the target refused the question for load ({', '.join(answer.codes)}); {what} not judged")
    if not answer.dones:
        if client.closed.is_set():
            raise ctx.skip(f"the asker's connection was closed ({client.close_code}) before its answer ended")
        raise Blocked("AI-002", "the answer never ended with an ai_done")
    if answer.failed:
        raise ctx.skip(
            f"the answer failed ({', '.join(answer.codes) or answer.status}), so {what} is not judged here "
            "(failures are AI-002's and UP-*'s; with --double, AI-004 fails a target that fails sound answers)"
        )


def slow_question(ctx: CheckContext, token: str, *, chunks: int = 40) -> str:
    """A question whose answer streams for a while: the double's `[[chunks=N]]` (N x its chunk interval)."""
    directive = f" [[chunks={chunks}]] [[sentences={max(4, chunks // 4)}]]" if ctx.session.upstream else ""
    return f"Tell me a long story about pinball, in many sentences. {token}{directive}"


def leave_deadline(ctx: CheckContext) -> float:
    """PRES-002/003's 5 seconds, plus scaled slack for the suite's own scheduling."""
    return LEAVE_DEADLINE_S + ctx.timeouts(2.0)


def half_open_deadline(ctx: CheckContext) -> float:
    """PRES-004: advertised ping_interval_s + ping_timeout_s (SPEC bounds when not advertised), at most 60 s."""
    limits = ctx.limits
    advertised = (
        limits.ping_interval_s + limits.ping_timeout_s if ctx.session.limits_advertised else HALF_OPEN_DEADLINE_S
    )
    return min(float(advertised), HALF_OPEN_DEADLINE_S) + ctx.timeouts(5.0)


def hangul_ratio(text: str) -> float:
    """Hangul letters / all letters (digits, punctuation and spaces ignored); 0.0 for a text without letters.

    AI-007's rule: an answer is Korean when this is at least 0.5 (the double answers Korean to a question
    whose letters are more than half Hangul, and a real Korean answer may carry a few Latin words).
    """
    letters = [ch for ch in text if unicodedata.category(ch).startswith("L")]
    if not letters:
        return 0.0
    hangul = sum(1 for ch in letters if "HANGUL" in unicodedata.name(ch, ""))
    return hangul / len(letters)


class Pacer:
    """Keeps one client's frames within the advertised rate (burst first, then rate_per_s), so a check that
    sends many frames never provokes `rate_limited` by accident."""

    def __init__(self, ctx: CheckContext, *, reserve: int = 3) -> None:
        limits = ctx.limits
        self.tokens = float(max(1, limits.burst - reserve))
        self.rate = max(1.0, limits.rate_per_s * 0.8)
        self.capacity = self.tokens
        self.last = asyncio.get_running_loop().time()

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            await asyncio.sleep((1 - self.tokens) / self.rate)
            self.tokens = 1
            self.last = loop.time()
        self.tokens -= 1


@dataclass
class Flood:
    """A flood sent by `flood`: how many frames, over which seconds of the run clock, and the notices it got."""

    token: str
    sent: int
    started: float
    ended: float
    notices: list[Received]
    rate: int = 1
    burst: int = 1

    @property
    def inconclusive(self) -> bool:
        """No notice, but the frames went out so slowly that the bucket may have admitted them all."""
        return not self.notices and self.sent <= self.burst + self.rate * (self.ended - self.started) + 1


async def flood(ctx: CheckContext, client: Client, *, over: int | None = None, cap: int | None = None) -> Flood:
    """Send frames until `over` more than the bucket can have admitted by now (burst plus rate_per_s per elapsed
    second) have gone out, each batch in one write (`send_texts_at_once`): the target receives them as one burst,
    so its bucket cannot refill between them however slow this machine is (sent one `await` at a time, a CI
    machine running browsers beside the suite once took 2 s for 39 frames and the check had to skip).

    `over` defaults to half the burst (at least 1) and `cap` to twice the burst minus one: however late the
    target reads them, fewer than `burst` frames are dropped, which a target may not yet treat as a persistent
    flood (LIMIT-004). When the suite itself was too slow to overflow the bucket, `inconclusive` says so."""
    limits = ctx.limits
    extra = over if over is not None else max(1, limits.burst // 2)
    limit = cap if cap is not None else 2 * limits.burst - 1
    token = ctx.token("flood")
    since, clock = client.mark(), ctx.session.clock
    started, sent = clock.now(), 0
    while sent < limit:
        due = min(limit, math.ceil(limits.burst + limits.rate_per_s * (clock.now() - started) + extra))
        if sent >= due:
            break
        batch = [client.protocol.user_msg(f"{token} {n}", nickname=client.nickname) for n in range(sent, due)]
        if not await client.send_texts_at_once(batch):
            break
        sent = due
    ended = clock.now()
    await client.wait_for(frames.error("rate_limited"), ctx.timeouts.frame, since)
    notices = client.find(frames.error("rate_limited"), since)
    return Flood(token, sent, started, ended, notices, limits.rate_per_s, limits.burst)


async def gather_or_cancel(*coroutines: Coroutine[Any, Any, T]) -> list[T]:
    """Like `asyncio.gather`, but the first exception cancels the others (a violation found by one sender must
    not leave the others running into the check's time budget) and is raised as itself, not as a group."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def whitespace_padded(frame_json: str, size: int) -> str:
    """`frame_json` grown to `size` UTF-8 bytes with JSON whitespace after its first `{` (still valid JSON)."""
    missing = size - len(frame_json.encode("utf-8"))
    return frame_json if missing <= 0 else "{" + " " * missing + frame_json[1:]


def ceil_seconds(value: float) -> int:
    return max(1, math.ceil(value))
