"""One generateContent / streamGenerateContent call: fault or quota first, then the answer, chunk by chunk.

Order, as Google's front end would see it: the route and key were checked by `app`; here a queued fault that
applies is taken (error faults answer at once), else the quota is charged (429 past it), else the planned answer
is sent: after the first-chunk delay the 200 headers and the first chunk, then one chunk per interval, then the
chunked terminator. Stream faults change that plan: `abort` returns mid-body (Hypercorn then closes the
connection without the terminating chunk, which the SDK reports as an incomplete chunked read), `stall` sends
the headers and waits for the client to leave or the double to stop, `no_finish` drops the finishReason,
`safety` ends with a blocked chunk, `prompt_blocked` sends only `promptFeedback.blockReason`,
`thinking_exhausted` only a MAX_TOKENS chunk without text, `stream_error` sends `data: {"error": ...}`,
`stream_error_raw` the same error as raw pretty-printed JSON lines, `replay` sends a given body. Every step is
written into the call's journal entry as it happens.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from . import error_bodies, wire
from .answers import Answer, digest, plan_answer
from .asgi import ClientWatch, Receive, Send, send_part, send_whole, start_stream
from .error_bodies import ErrorReply
from .faults import AFTER_CHUNKS_KINDS, CUT_KINDS, ERROR_KINDS, Fault
from .journal import JournalEntry
from .keys import KeyInfo
from .request import GenerateRequest
from .state import DoubleState

_SSE_EVENT = re.compile(r".*?(?:\r\n\r\n|\n\n|\r\r)|.+$", re.DOTALL)


@dataclass
class Call:
    """A generation request whose route, key and body are valid."""

    state: DoubleState
    receive: Receive
    send: Send
    entry: JournalEntry
    model: str
    request: GenerateRequest
    key: KeyInfo
    sse: bool
    stream: bool


async def reply_error(send: Send, entry: JournalEntry, reply: ErrorReply, key: KeyInfo, outcome: str) -> None:
    """Send a Google error body and journal it, with any echoed key redacted from the journal's copy."""
    await send_whole(send, reply.status, wire.pretty_json(reply.body), (*wire.JSON_HEADERS, *reply.headers))
    error = reply.body["error"]
    assert isinstance(error, dict)
    message = str(error["message"])
    if key.secret:
        message = message.replace(key.secret, "[REDACTED]")
    entry.status, entry.outcome, entry.error_message = reply.status, outcome, message


async def run(call: Call) -> None:
    """Answer the call (see the module docstring for the order of checks)."""
    state, entry = call.state, call.entry
    fault = state.faults.take(call.model, call.request.last_user_text)
    if fault is not None:
        entry.fault = fault.to_json()
        if fault.kind in ERROR_KINDS:
            await reply_error(call.send, entry, _fault_error(fault, call), call.key, fault.kind)
            return
    else:
        limit = state.config.quota_for(call.model)
        wait = state.quota.admit(
            call.model, call.key.fingerprint or "", limit, state.clock(), state.config.quota_window_s
        )
        if wait is not None and limit is not None:
            reply = error_bodies.rate_limited(
                call.model, limit, wait, retry_after_header=state.config.retry_after_header
            )
            await reply_error(call.send, entry, reply, call.key, "quota_exceeded")
            return
    cut_after = fault is not None and fault.kind in AFTER_CHUNKS_KINDS
    min_chunks = fault.after_chunks + 1 if fault is not None and cut_after else 1  # N chunks, then the fault
    thinking = wire.is_thinking_model(call.model)
    answer = plan_answer(
        call.request, seed=state.config.seed, bank=state.bank, min_chunks=min_chunks, thinking=thinking
    )
    entry.answer_text, entry.chunks_planned = answer.text, len(answer.chunks)
    exhausted = _kind(fault) == "thinking_exhausted"
    entry.thoughts_tokens = _exhausted_thoughts(call, fault) if exhausted else answer.thoughts_tokens
    entry.outcome = fault.kind if fault is not None and fault.kind != "hold" else "ok"  # a held answer is whole
    interrupt = state.interrupt_event()
    release = state.hold_for(call.request.last_user_text) if _kind(fault) == "hold" else None
    try:
        async with ClientWatch(call.receive, interrupt) as watch:
            if call.stream and call.sse:
                await _stream(call, answer, fault, watch, release)
            else:
                await _whole(call, answer, fault, watch)
    finally:
        state.release(interrupt)
        if release is not None:
            state.end_hold(release)
    entry.disconnected = watch.client_gone
    entry.finished_ms = state.now_ms()
    if watch.interrupt.is_set() and entry.outcome == "ok":
        entry.outcome = "client_disconnected" if watch.client_gone else "shutdown"


def _fault_error(fault: Fault, call: Call) -> ErrorReply:
    """The HTTP error an error fault answers with (bodies and their sources in `error_bodies`)."""
    model, key, delay = call.model, call.key.secret or "", fault.retry_delay_s
    limit = call.state.config.quota_for(model) or 10
    header = call.state.config.retry_after_header
    replies: dict[str, Callable[[], ErrorReply]] = {
        "rate_limit": lambda: error_bodies.rate_limited(model, limit, delay, retry_after_header=header),
        "rate_limit_help_only": error_bodies.rate_limited_help_only,
        "rate_limit_per_day": lambda: error_bodies.rate_limited_per_day(model, delay),
        "rate_limit_several": lambda: error_bodies.rate_limited_several(model, delay),
        "server_error": error_bodies.internal,
        "server_error_encountered": error_bodies.internal_encountered,
        "unavailable": error_bodies.unavailable,
        "unavailable_high_demand": error_bodies.unavailable_high_demand,
        "invalid_key": error_bodies.invalid_key,
        "invalid_key_debug": lambda: error_bodies.invalid_key(debug_key=key),
        "key_echo": lambda: error_bodies.key_echo(key),
        "key_echo_2024": lambda: error_bodies.key_echo_2024(key),
    }
    return replies[fault.kind]()


def _kind(fault: Fault | None) -> str | None:
    return fault.kind if fault is not None else None


def _exhausted_thoughts(call: Call, fault: Fault | None) -> int:
    """`thinking_exhausted`: the thoughts that used up the budget (the fault's, else maxOutputTokens, else the
    model's output limit)."""
    if fault is not None and fault.thoughts is not None:
        return fault.thoughts
    budget = call.request.max_output_tokens
    if budget is not None and budget > 0:
        return budget
    return wire.output_token_limit(call.model)


def _timing(call: Call, answer: Answer) -> tuple[float, float]:
    """(first-chunk delay, chunk interval) in seconds; the delay is drawn from the preset's range by the request,
    the interval is the preset's unless the request names one (`[[interval=MS]]`)."""
    timing = call.state.config.timing
    low, high = timing.first_chunk_ms
    fraction = digest(call.request, call.state.config.seed)[1] / 255
    interval = timing.chunk_interval_ms if answer.interval_ms is None else answer.interval_ms
    return (low + (high - low) * fraction) / 1000.0, interval / 1000.0


def _frames(call: Call, answer: Answer, fault: Fault | None) -> tuple[list[bytes], list[str], str]:
    """The SSE events to send, the answer text each carries, and how the stream ends (end, abort or stall)."""
    rid = wire.response_id(call.state.config.seed, call.entry.seq)
    kind = fault.kind if fault is not None else None
    if kind == "stall":
        return [], [], "stall"
    if kind == "replay":
        assert fault is not None and fault.body is not None
        raw = [m.group(0) for m in _SSE_EVENT.finditer(fault.body) if m.group(0)]
        return [event.encode("utf-8") for event in raw], [_event_text(event) for event in raw], "end"
    special = _special_body(call, answer, fault, rid)
    if special is not None:
        return [wire.sse_event(special)], [""], "end"
    chunks = wire.stream_chunks(answer, call.model, rid, finish=kind not in ("no_finish", *CUT_KINDS))
    texts = list(answer.chunks)
    if kind in CUT_KINDS:
        assert fault is not None
        chunks, texts = chunks[: fault.after_chunks], texts[: fault.after_chunks]
    events = [wire.sse_event(chunk) for chunk in chunks]
    if kind == "safety":
        events.append(wire.sse_event(wire.blocked_response(answer.prompt_tokens, call.model, rid)))
        texts.append("")
    if kind == "stream_error":
        assert fault is not None
        events.append(wire.sse_event(error_bodies.by_code(fault.code, call.model).body))
        texts.append("")
    if kind == "stream_error_raw":  # not SSE-framed: the error's lines as its body is printed (SDK's brace buffer)
        assert fault is not None
        events.append(wire.pretty_json(error_bodies.by_code(fault.code, call.model).body))
        texts.append("")
    return events, texts, "abort" if kind == "abort" else "end"


def _special_body(call: Call, answer: Answer, fault: Fault | None, rid: str) -> dict[str, object] | None:
    """The one response object of `prompt_blocked` and `thinking_exhausted` (stream chunk or whole answer)."""
    kind = _kind(fault)
    if kind == "prompt_blocked":
        assert fault is not None
        return wire.prompt_blocked_response(answer.prompt_tokens, call.model, rid, fault.block_reason)
    if kind == "thinking_exhausted":
        return wire.thoughts_only_response(answer.prompt_tokens, _exhausted_thoughts(call, fault), call.model, rid)
    return None


def _event_text(event: str) -> str:
    """The answer text in one replayed SSE event (for the journal's `sent_text`); "" when it has none."""
    try:
        obj = json.loads(event.strip().removeprefix("data:"))
        parts = obj["candidates"][0]["content"]["parts"]
        return "".join(p["text"] for p in parts if isinstance(p.get("text"), str) and not p.get("thought"))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return ""


async def _stream(
    call: Call, answer: Answer, fault: Fault | None, watch: ClientWatch, release: asyncio.Event | None = None
) -> None:
    """Send the events one by one; a `hold` fault (`release` given) holds them back after its `after_chunks`."""
    entry, send = call.entry, call.send
    first, interval = _timing(call, answer)
    events, texts, ending = _frames(call, answer, fault)
    if await watch.pause(first):
        await _stopped_before_headers(call, watch)
        return
    status = fault.status if fault is not None and fault.kind == "replay" else 200
    headers = wire.SSE_HEADERS if status == 200 else wire.JSON_HEADERS
    await start_stream(send, status, (*headers, ("server-timing", f"gfet4t7; dur={round(first * 1000)}")))
    entry.status = status
    for index, (event, text) in enumerate(zip(events, texts, strict=True)):
        if release is not None and fault is not None and index == fault.after_chunks:
            if await _held(call, release, fault.hold_s, watch):
                return
        if index and await watch.pause(interval):
            return
        await send_part(send, event)
        entry.chunk_times_ms.append(call.state.now_ms())
        entry.sent_text += text
        if text:
            entry.sent_chunks.append(text)
    if ending == "stall":
        await watch.interrupt.wait()
    elif ending == "abort":
        await watch.pause(interval)  # then return mid-body: Hypercorn drops the connection
    else:
        await send_part(send, b"", last=True)
        entry.finish_reason = _sent_finish(answer, fault)


async def _held(call: Call, release: asyncio.Event, seconds: float, watch: ClientWatch) -> bool:
    """Hold the rest of the stream until `release`, the end of `seconds`, or a disconnect or shutdown (then True).
    The journal says how long and what ended it (`held_ms`, `hold_end`)."""
    started = call.state.now_ms()
    waits = [asyncio.ensure_future(release.wait()), asyncio.ensure_future(watch.interrupt.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    call.entry.held_ms = call.state.now_ms() - started
    interrupted = watch.interrupt.is_set()
    call.entry.hold_end = "interrupted" if interrupted else "released" if release.is_set() else "timeout"
    return interrupted


async def _stopped_before_headers(call: Call, watch: ClientWatch) -> None:
    """The double stops before answering: 503 UNAVAILABLE (a client that left gets nothing)."""
    if not watch.client_gone:
        await reply_error(call.send, call.entry, error_bodies.unavailable(), call.key, "shutdown")


def _sent_finish(answer: Answer, fault: Fault | None) -> str | None:
    if fault is None or fault.kind == "hold":
        return answer.finish_reason
    return {
        "safety": "SAFETY",
        "thinking_exhausted": "MAX_TOKENS",
        "prompt_blocked": None,
        "replay": None,
        "no_finish": None,
        "stream_error": None,
        "stream_error_raw": None,
    }.get(fault.kind)


async def _whole(call: Call, answer: Answer, fault: Fault | None, watch: ClientWatch) -> None:
    """generateContent (and streamGenerateContent without alt=sse, sent as one JSON array)."""
    entry, send = call.entry, call.send
    first, interval = _timing(call, answer)
    if await watch.pause(first + interval * (len(answer.chunks) - 1)):
        await _stopped_before_headers(call, watch)
        return
    kind = fault.kind if fault is not None else None
    rid = wire.response_id(call.state.config.seed, entry.seq)
    if kind in ("stream_error", "stream_error_raw"):
        assert fault is not None
        await reply_error(send, entry, error_bodies.by_code(fault.code, call.model), call.key, kind)
        return
    if kind == "replay":
        assert fault is not None and fault.body is not None
        await send_whole(send, fault.status, fault.body.encode("utf-8"), wire.JSON_HEADERS)
        entry.status = fault.status
        return
    special = _special_body(call, answer, fault, rid)
    if special is not None:
        body = wire.pretty_json([special] if call.stream else special)
    elif kind == "safety":
        body = wire.pretty_json(wire.blocked_response(answer.prompt_tokens, call.model, rid))
    elif call.stream:
        chunks = wire.stream_chunks(answer, call.model, rid, finish=kind != "no_finish")
        body = ("[" + ",\r\n".join(wire.pretty_json(c).decode("utf-8").rstrip("\n") for c in chunks) + "]").encode()
    else:
        body = wire.pretty_json(wire.whole_response(answer, call.model, rid, finish=kind != "no_finish"))
    entry.status = 200
    if kind in ("abort", "stall"):
        await start_stream(send, 200, wire.JSON_HEADERS)
        if kind == "stall":
            await watch.interrupt.wait()
            return
        await send_part(send, body[: len(body) // 2])
        return  # mid-body: the connection is dropped
    await send_whole(send, 200, body, wire.JSON_HEADERS)
    entry.sent_text = "" if kind in ("safety", "prompt_blocked", "thinking_exhausted") else answer.text
    entry.chunk_times_ms.append(call.state.now_ms())
    entry.finish_reason = _sent_finish(answer, fault)
