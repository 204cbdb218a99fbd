"""Relay one AI answer from upstream to the asker: chunks as they come, then exactly one `ai_done` (AI-001..004).

`relay()` runs in its own task beside the connection's read loop (AI-005). Every way it can end sends the
asker its notice and `ai_done`: a finished answer (`ok`, or `truncated` on MAX_TOKENS, preceded by `ai_empty` when
not one chunk of text came: AI-010), a blocked one (a `finishReason` or a `promptFeedback.blockReason`), a stream
that ends without a finish reason, an upstream HTTP error, a transport failure, a timeout (AI-002, UP-001..006).
The one exception is cancellation: when the asker leaves, the task is cancelled and the upstream request with it
(AI-011); when the server shuts down, the connection sends that `ai_done` itself (RECON-002).

Answer text passes `redaction.AnswerScrubber` on its way (SEC-003): a key that upstream writes into an answer,
whole or split across chunks, reaches the asker as `[REDACTED]`. A chunk's tail that could begin a key waits for
the next chunk, so a chunk may go out a few characters shorter and the rest with the next one or at the end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from typing import Protocol

from roomwire.reference import redaction
from roomwire.reference.ai import AiEnd, AiItem, AiStream
from roomwire.reference.metrics import Metrics
from roomwire.reference.upstream_errors import Failure, UpstreamTimeout, classify, empty_answer, from_finish
from roomwire.spec.codes import AiStatus

log = logging.getLogger(__name__)


class AiSink(Protocol):
    """Where an answer goes: the asker's connection (its overridable methods)."""

    def send_ai_chunk(self, content: str, id: str | None) -> None: ...

    def send_ai_error(self, failure: Failure, id: str | None) -> None: ...

    def send_ai_done(self, status: AiStatus, id: str | None) -> None: ...


async def failed_stream(exc: Exception) -> AsyncGenerator[AiItem, None]:
    """A stream that fails with `exc` on its first item (for an `AiClient.stream` that raised when called)."""
    nothing: tuple[AiItem, ...] = ()
    for item in nothing:  # makes this an async generator
        yield item
    raise exc


async def _read(
    stream: AiStream,
    sink: AiSink,
    id: str | None,
    *,
    timeout_s: float,
    metrics: Metrics,
    started: float,
) -> tuple[AiEnd, int]:
    """Forward text pieces as `ai_chunk`s (AI-003, AI-004) until the stream's end; each wait is bounded (UP-004).

    Returns the end and how many chunks were forwarded.
    """
    scrubber = redaction.AnswerScrubber()
    sent = 0

    def forward(text: str) -> None:
        nonlocal sent
        if not text:
            return
        if not sent:
            metrics.ai_ttft.observe(time.perf_counter() - started)
        sent += 1
        sink.send_ai_chunk(text, id)

    try:
        while True:
            try:
                async with asyncio.timeout(timeout_s):
                    item = await anext(stream)
            except StopAsyncIteration:
                forward(scrubber.flush())
                return AiEnd(finish_reason=None), sent  # a stream that ended without its end marker
            except TimeoutError:
                raise UpstreamTimeout() from None
            if isinstance(item, AiEnd):
                forward(scrubber.flush())
                return item, sent
            forward(scrubber.feed(item))
    except Exception:
        forward(scrubber.flush())  # what came before the failure is still the asker's (UP-003)
        raise
    finally:
        await stream.aclose()


async def relay(
    stream: AiStream, sink: AiSink, id: str | None, *, timeout_s: float, metrics: Metrics, started: float
) -> AiStatus:
    """Stream one answer (`AiClient.stream`'s, which `relay` closes) to `sink`; returns the `ai_done` status it
    sent (AI-002: exactly one). `started`: `perf_counter()` when the question was read (the TTFT metric)."""
    try:
        end, sent = await _read(stream, sink, id, timeout_s=timeout_s, metrics=metrics, started=started)
    except asyncio.CancelledError:
        metrics.ai_requests.labels("cancelled").inc()
        raise
    except Exception as exc:  # every upstream failure becomes a fixed notice (UP-001..UP-004, UP-008)
        return _fail(classify(exc), sink, id, metrics)
    if end.usage is not None:
        metrics.usage(end.usage)
    failure = from_finish(end.finish_reason, end.block_reason)
    if failure is None and end.finish_reason == "MAX_TOKENS" and not sent:
        failure = empty_answer()  # AI-010: a thinking model spent the whole limit on thoughts; say so, then truncated
    if failure is not None:
        return _fail(failure, sink, id, metrics)
    status = AiStatus.TRUNCATED if end.finish_reason == "MAX_TOKENS" else AiStatus.OK  # AI-010
    metrics.ai_requests.labels(status.value).inc()
    sink.send_ai_done(status, id)
    return status


def _fail(failure: Failure, sink: AiSink, id: str | None, metrics: Metrics) -> AiStatus:
    log.warning("AI answer ended: %s", failure.summary)  # never upstream text (UP-008)
    metrics.ai_requests.labels(failure.outcome).inc()
    if failure.outcome == "rate_limited":
        metrics.upstream_429.inc()
    sink.send_ai_error(failure, id)
    sink.send_ai_done(failure.status, id)
    return failure.status
