"""SPEC.md §7, AI replies: AI-001 … AI-012. Checks marked DOUBLE read the Gemini double's journal."""

from __future__ import annotations

from roomwire.conformance import frames
from roomwire.conformance.checks.cases import CASES, case_exchanges, expect_case, upstream_case
from roomwire.conformance.checks.common import (
    Answer,
    Sent,
    ask_within_budget,
    collect_answer,
    hangul_ratio,
    members,
    skip_if_not_answered,
    slow_question,
)
from roomwire.conformance.checks.exchanges import KOREAN, PLAIN, Asked, hold_wait
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.outcomes import Blocked
from roomwire.conformance.registry import Need, requirement
from roomwire.conformance.shared import shared


async def _first_chunk_then(
    ctx: CheckContext, asker: Client, question: str, id: str | None = None, reserve: int = 1
) -> Sent:
    """Ask (within the AI budget, with room for `reserve` questions), wait for the first chunk; returns the mark
    before the question. Skips if the answer never streams."""
    first = frames.either(frames.ai_chunk(), frames.ai_done())
    sent = await ask_within_budget(ctx, asker, lambda: asker.ask(question, id=id), first=first, reserve=reserve)
    since = sent.since
    item = asker.find(first, since)
    if not item or frames.kind(item[0]) != "ai_chunk":
        answer = await collect_answer(ctx, asker, since, within=0.0, linger=0.0)
        skip_if_not_answered(ctx, answer, "overlap with a streaming answer", asker)
        raise ctx.skip("the answer ended before its first chunk, so nothing could overlap it")
    return sent


@requirement("AI-001", shares=[PLAIN])
async def ai_answer_goes_only_to_the_asker(ctx: CheckContext) -> None:
    """The asker gets chunks then one ai_done; another member gets no AI frame (watched until after the answer)."""
    asked = await shared(ctx, PLAIN)
    if len(asked.answer.dones) != 1:
        raise ctx.violation("exactly one ai_done for the question, at the asker", asked.asker.describe(asked.since))
    leaked = asked.watcher.find(frames.ai_frame(), asked.watcher_since)
    if leaked:
        raise ctx.violation(
            f"{asked.watcher.label} never receives an ai_chunk or ai_done for another member's question",
            f"{asked.watcher.label} received {frames.summarize(leaked)}",
        )
    ctx.protocol_violations([asked.asker, asked.watcher])
    ctx.note(f"{len(asked.answer.chunks)} chunks and one ai_done to the asker only")


@requirement("AI-002", shares=[PLAIN])
async def every_answer_ends_with_exactly_one_ai_done(ctx: CheckContext) -> None:
    """A normal answer ends with one ai_done and no chunk after it."""
    asked = await shared(ctx, PLAIN)
    _one_done(ctx, asked.answer, asked.asker, "a normal answer")
    ctx.note("one ai_done, nothing after it")


@requirement("AI-002", needs=[Need.DOUBLE], slow=True, shares=case_exchanges(*CASES))
async def every_failed_answer_ends_with_exactly_one_ai_done(ctx: CheckContext) -> None:
    """Every answer upstream spoils (an HTTP error, a 429, a cut or failed stream, a block, no finishReason, silence,
    no text before MAX_TOKENS): one ai_done each (every upstream case of the run)."""
    for name in CASES:
        result = await upstream_case(ctx, name)
        _one_done(ctx, result.answer, result.asker, f"an answer that failed upstream ({result.case.what})")
    ctx.note(f"one ai_done each after {len(CASES)} upstream outcomes")


def _one_done(ctx: CheckContext, answer: Answer, client: Client, what: str) -> None:
    if len(answer.dones) != 1 or answer.late_chunks:
        raise ctx.violation(f"exactly one ai_done ending {what}, no ai_chunk after it", client.describe())


@requirement("AI-003", shares=[PLAIN])
async def a_multi_sentence_answer_streams_in_several_chunks(ctx: CheckContext) -> None:
    """A multi-sentence answer arrives as at least two ai_chunk frames."""
    asked = await shared(ctx, PLAIN)
    skip_if_not_answered(ctx, asked.answer, "streaming", asked.asker)
    if len(asked.answer.chunks) < 2:
        raise ctx.violation(
            "a multi-sentence answer in at least 2 ai_chunk frames",
            f"{len(asked.answer.chunks)} chunk(s): {asked.answer.text[:120]!r}",
        )
    ctx.note(f"{len(asked.answer.chunks)} chunks")


@requirement("AI-003", needs=[Need.DOUBLE], shares=[PLAIN])
async def the_first_chunk_is_forwarded_before_upstream_ends(ctx: CheckContext) -> None:
    """With upstream holding its answer back after the first chunk, that chunk reaches the client meanwhile."""
    asked = await shared(ctx, PLAIN)
    call, answer = asked.call, asked.answer
    if call is None or not call.chunk_times_ms:
        raise ctx.skip(f"upstream sent no chunk to forward ({call.outcome if call else 'no call'})")
    hold = asked.hold
    if hold is None or call.hold_end not in HOLD_OBSERVED:
        ended = call.hold_end or "never began"
        raise ctx.skip(f"upstream's hold of the answer ended {ended}, so the order was not observed")
    if hold.chunk_while_held:
        ctx.note("the first ai_chunk came while upstream held the rest of the answer back")
        return
    if hold.chunk_seen:  # the chunk came, but upstream's answer had ended (the target hung up) by the release
        raise ctx.skip("the target ended upstream's held answer before the suite saw whether its chunk came first")
    after = "upstream was let go" if hold.released else "the target gave up on upstream"
    raise ctx.violation(
        "the first ai_chunk forwarded while upstream has not ended its answer",
        f"no ai_chunk within {hold_wait(ctx):.1f} s while upstream held all but its first chunk back; "
        f"{len(answer.chunks)} chunk(s) came after {after} (buffered until upstream ended)",
    )


#: How a hold ends when its order was observed: the suite let it go after its wait, or the target hung up on
#: upstream first (a timeout: it held the first chunk all that time without forwarding it).
HOLD_OBSERVED = ("released", "interrupted")


def _whitespace_cuts(chunks: tuple[str, ...]) -> tuple[int, int]:
    """Chunk boundaries next to a space and next to a newline (a chunk ending or starting with one)."""
    pairs = list(zip(chunks, chunks[1:], strict=False))
    spaces = sum(1 for a, b in pairs if a[-1:] in (" ", "\t") or b[:1] in (" ", "\t"))
    newlines = sum(1 for a, b in pairs if a[-1:] == "\n" or b[:1] == "\n")
    return spaces, newlines


@requirement("AI-004", needs=[Need.DOUBLE], shares=[PLAIN, KOREAN])
async def chunks_add_up_to_upstream_text(ctx: CheckContext) -> None:
    """The concatenated chunks equal the text upstream streamed, in order, whitespace included (English, Korean)."""
    spaces = newlines = 0
    for exchange in (PLAIN, KOREAN):
        asked = await shared(ctx, exchange)
        call = asked.call
        if call is None or call.outcome != "ok":
            raise ctx.skip(f"upstream did not answer normally ({call.outcome if call else 'no call'})")
        if asked.answer.text != call.sent_text:
            raise ctx.violation(f"chunks that add up to upstream's {call.sent_text!r}", f"{asked.answer.text!r}")
        more_spaces, more_newlines = _whitespace_cuts(call.sent_chunks)
        spaces, newlines = spaces + more_spaces, newlines + more_newlines
    ctx.note(
        f"chunks equal upstream's text, English and Korean; upstream cut {spaces} time(s) next to a space and "
        f"{newlines} next to a newline"
    )


#: AI-005: chunks the asker must receive between sending a message and ai_done, with its own echo after that
#: ai_done, to call it held back (a correct server may have a few chunks in flight while it reads the message).
HELD_BACK_CHUNKS = 5


@requirement("AI-005", ai=1)
async def chatting_continues_while_an_answer_streams(ctx: CheckContext) -> None:
    """While the asker's answer streams, its chat message is broadcast without waiting for the answer.

    Judged on the asker's own connection, whose frames keep the server's order: its echo against its ai_done.
    Comparing the arrival times of frames on two connections says nothing when the suite reads both late."""
    ann, bob = await members(ctx, 2)
    since = (await _first_chunk_then(ctx, ann, slow_question(ctx, ctx.token("q")))).since
    text = ctx.token("meanwhile")
    sent = ann.mark()
    await ann.say(text)
    echo = await bob.wait_for(frames.user_msg(text), ctx.timeouts.ai)
    own = await ann.wait_for(frames.user_msg(text), ctx.timeouts.ai, sent)
    done = await ann.wait_for(frames.ai_done(), ctx.timeouts.ai, since)
    if echo is None:
        raise ctx.violation("the message sent during the answer is broadcast to the room", bob.describe())
    if own is None:
        raise Blocked("CHAT-001", "the asker's own message never came back to it, so its order cannot be judged")
    if done is None:
        raise ctx.skip("the answer did not end within the AI timeout, so the order could not be judged")
    if done.index < sent:
        raise ctx.skip("the answer finished before the message was sent")
    if own.index < done.index:
        ctx.note("the message was broadcast while the answer was still streaming")
        return
    held = [c for c in ann.find(frames.ai_chunk(), sent) if c.index < done.index]
    if len(held) >= HELD_BACK_CHUNKS:
        raise ctx.violation(
            "the broadcast of a message sent mid-answer before the answer ends",
            f"the sender's echo came after ai_done; {len(held)} chunks came between sending it and ai_done",
        )
    raise ctx.skip(f"the answer ended {len(held)} chunk(s) after the message was sent: too soon to judge the order")


@requirement("AI-006", ai=1)  # admits room for two; the refused second is given back
async def a_second_question_in_flight_gets_ai_busy(ctx: CheckContext) -> None:
    """A second ai_msg while one is in flight gets ai_busy and its own rejected ai_done; the first finishes.

    The first question is admitted with room for the second in the budget, so a target on its last admission
    cannot rightly answer the second with ai_quota instead."""
    (ann,) = await members(ctx, 1)
    sent = await _first_chunk_then(ctx, ann, slow_question(ctx, ctx.token("q")), id="first", reserve=2)
    since, second = sent.since, ann.mark()
    await ann.ask(f"And another one? {ctx.token('q2')}", id="second")
    if [d for d in ann.find(frames.ai_done(), since) if d.index < second]:
        raise ctx.skip("the first answer ended before the second question was sent")
    await ann.wait_count(frames.ai_done(), 2, ctx.timeouts.ai, since)
    await collect_answer(ctx, ann, second, within=0.0)
    if ann.find(frames.error("ai_quota"), second):
        raise ctx.skip("the target refused the second question for its AI budget (spent by another client)")
    busy = ann.find(frames.error("ai_busy"), second)
    if busy:
        ctx.session.ai.give_back(sent.admission)  # the second question's room: refused, it was never counted
    dones = [frames.data(d) for d in ann.find(frames.ai_done(), since)]
    statuses = sorted(str(d.get("status")) for d in dones)
    if not busy:
        _busy_missing_or_too_soon(ctx, ann, since, second)
    if len(dones) != 2 or statuses.count("rejected") != 1:
        raise ctx.violation(
            "ai_busy, one 'rejected' ai_done for the second question and one other for the first", ann.describe(since)
        )
    first_status = next(s for s in statuses if s != "rejected")
    if ctx.session.upstream is not None and first_status not in ("ok", "truncated"):
        raise ctx.violation("the first answer continues unharmed (status ok)", f"it ended {first_status!r}")
    ctx.note(f"ai_busy and ai_done statuses {statuses}")


def _busy_missing_or_too_soon(ctx: CheckContext, ann: Client, since: int, second: int) -> None:
    """No ai_busy: a violation if the first answer kept streaming after the second question was sent (the target
    had it in time), else a skip (the first answer may have ended before the target read it). Judged on the
    asker's own stream, in the target's order."""
    first_done = next((d for d in ann.find(frames.ai_done(), since) if d.index > second), None)
    held = [c for c in ann.find(frames.ai_chunk(), second) if first_done is None or c.index < first_done.index]
    if len(held) >= HELD_BACK_CHUNKS:
        raise ctx.violation(
            "ai_busy and a 'rejected' ai_done for a second question sent while the first answer streams",
            f"no ai_busy although {len(held)} chunks of the first answer came after it was sent; {ann.describe(since)}",
        )
    raise ctx.skip(f"the first answer ended {len(held)} chunk(s) after the second question: too soon to judge")


@requirement("AI-007", shares=[KOREAN])
async def a_korean_question_gets_a_korean_answer(ctx: CheckContext) -> None:
    """A Korean question's answer is mostly Hangul (at least half its letters)."""
    asked = await shared(ctx, KOREAN)
    skip_if_not_answered(ctx, asked.answer, "the answer's language", asked.asker)
    ratio = hangul_ratio(asked.answer.text)
    if ratio < 0.5:
        raise ctx.violation(
            "an answer whose letters are at least half Hangul", f"Hangul ratio {ratio:.2f}: {asked.answer.text[:120]!r}"
        )
    if asked.call is not None and asked.call.last_user_text != asked.question:
        raise ctx.violation("the question reaches upstream unchanged", f"{asked.call.last_user_text!r}")
    ctx.note(f"Hangul ratio {ratio:.2f}")


def _client_text(asked: Asked) -> list[str]:
    """The run-unique text a client put in a question: its token, its history's tokens, the members' nicknames."""
    history = [h.content.split(" ", 1)[0] for h in asked.history]
    return [asked.token, *history, *asked.nicknames]


@requirement("AI-008", needs=[Need.DOUBLE], shares=[PLAIN, KOREAN])
async def client_text_never_enters_the_system_instruction(ctx: CheckContext) -> None:
    """The configured system instruction is sent unchanged; no question, history or nickname text enters it."""
    texts = []
    for exchange in (PLAIN, KOREAN):
        asked = await shared(ctx, exchange)
        if asked.call is None:
            raise ctx.skip(f"the target made no upstream call for the {exchange.name} question")
        leaked = [t for t in _client_text(asked) if t in asked.call.system_text]
        if leaked:
            raise ctx.violation(
                "client text only in contents, never in systemInstruction", f"systemInstruction holds {leaked}"
            )
        texts.append(asked.call.system_text)
    if texts[0] != texts[1]:
        raise ctx.violation(
            "the same configured systemInstruction for every question", f"{texts[0][:80]!r} vs {texts[1][:80]!r}"
        )
    ctx.note(f"systemInstruction constant ({len(texts[0])} chars), free of client text")


@requirement("AI-009", needs=[Need.DOUBLE], shares=[PLAIN])
async def history_is_capped_ordered_and_followed_by_the_question(ctx: CheckContext) -> None:
    """Upstream gets the last max_history_items history items in order with roles, then the question as a user turn."""
    asked = await shared(ctx, PLAIN)
    if asked.call is None:
        raise ctx.violation("an upstream call for a question with history", "no call in the journal")
    keep = ctx.limits.max_history_items
    expected = [(h.role, h.content) for h in asked.history[-keep:]] + [("user", asked.question)]
    if list(asked.call.turns) != expected:
        raise ctx.violation(f"the last {keep} history items, in order, then the question", f"{list(asked.call.turns)}")
    ctx.note(f"{len(asked.history)} history items capped to the last {keep}")


@requirement("AI-010", needs=[Need.DOUBLE], shares=[KOREAN])
async def answers_are_capped_upstream_and_reported_truncated(ctx: CheckContext) -> None:
    """maxOutputTokens is set upstream, and an answer cut by it ends with ai_done 'truncated'."""
    asked = await shared(ctx, KOREAN)
    if asked.call is None or asked.call.max_output_tokens is None:
        raise ctx.violation("generationConfig.maxOutputTokens in the upstream request", "none sent")
    if asked.answer.status != "truncated":
        raise ctx.violation(
            "ai_done status 'truncated' for an answer cut at maxOutputTokens", f"status {asked.answer.status!r}"
        )
    ctx.note(f"maxOutputTokens={asked.call.max_output_tokens}, truncated reported")


@requirement("AI-010", needs=[Need.DOUBLE], shares=case_exchanges("thinking_exhausted"))
async def an_answer_cut_before_any_text_is_truncated_with_ai_empty(ctx: CheckContext) -> None:
    """A thinking answer that upstream ends at MAX_TOKENS with no text gives no ai_chunk (not an empty one), the
    error ai_empty, then ai_done 'truncated'."""
    result = await upstream_case(ctx, "thinking_exhausted")
    answer = result.answer
    if answer.chunks or answer.late_chunks:
        raise ctx.violation(
            f"no ai_chunk after {result.case.what}", frames.summarize(answer.chunks + answer.late_chunks)
        )
    await expect_case(ctx, "thinking_exhausted", "ai_empty", "truncated")
    ctx.note("no ai_chunk, ai_empty, then ai_done 'truncated'")


@requirement("AI-011", needs=[Need.DOUBLE], ai=1)
async def leaving_mid_answer_cancels_upstream(ctx: CheckContext) -> None:
    """When the asker disconnects mid-answer, the target hangs up on upstream (judged once upstream's stream ended
    or the AI wait passed)."""
    (ann,) = await members(ctx, 1)
    token = ctx.token("cancel")
    await _first_chunk_then(ctx, ann, slow_question(ctx, token, chunks=60))  # the answer streams for 1.5 s
    await ann.close(ctx.timeouts.close)
    calls = await ctx.upstream.wait_for_calls(token, ctx.timeouts.ai)
    if not calls or not calls[0].disconnected:
        raise ctx.violation(
            "upstream sees the target hang up after the asker left", f"{calls[0].outcome if calls else 'no call'}"
        )
    ctx.note("upstream request cancelled")


@requirement("AI-012", shares=[PLAIN])
async def ai_frames_echo_the_id_and_done_has_a_status(ctx: CheckContext) -> None:
    """Every ai_chunk and the ai_done echo the ai_msg's id, and ai_done carries a status."""
    asked = await shared(ctx, PLAIN)
    answer = asked.answer
    wrong = [frames.summary(f) for f in answer.chunks + answer.dones if frames.data(f).get("id") != "ask-1"]
    if wrong or not answer.dones or answer.status in (None, "None"):
        raise ctx.violation(
            "id 'ask-1' on every AI frame and a status on ai_done", "; ".join(wrong) or asked.asker.describe()
        )
    ctx.note("ids echoed, status present")
