"""What every attack uses: WebSocket clients from a chosen source address, and bystanders who measure whether
anyone else noticed (the issue's "nobody else notices").

`Bystanders` are two members of a room of their own, connected from a loopback source address of their own (so
the attacker's per-address budgets are not theirs). One says a numbered message every 150 ms, the other times
its arrival; `stop()` gives the figures. A message that never arrives, or arrives more than `LATE_S` late, means
the attack reached someone it should not have: the threshold is INPUT-007's, as the conformance suite applies it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from roomwire.attacks.target import AttackTarget

#: A bystander message later than this (seconds) counts as hurt (INPUT-007's 2 s, as the suite judges it).
LATE_S = 2.0
CONNECT_S = 5.0


async def open_ws(
    target: AttackTarget,
    room: str,
    *,
    query: str = "",
    source: str | None = None,
    headers: dict[str, str] | None = None,
) -> ClientConnection:
    """A plain client (no keepalive, no compression, no size limit), from `source` when given.

    Raises:
        OSError, TimeoutError, InvalidStatus, ...: whatever `websockets.connect` raises.
    """
    options: dict[str, Any] = {"ping_interval": None, "max_size": None, "compression": None, "proxy": None}
    if source is not None:
        options["local_addr"] = (source, 0)
    if headers:
        options["additional_headers"] = headers
    return await connect(target.url(room, query), open_timeout=CONNECT_S, **options)


async def next_frame(ws: ClientConnection, within: float) -> dict[str, Any] | None:
    """The next JSON frame, or None when nothing came in time or the connection ended."""
    try:
        text = await asyncio.wait_for(ws.recv(), within)
    except (TimeoutError, ConnectionClosed):
        return None
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        return {"type": "<not JSON>"}
    return frame if isinstance(frame, dict) else {"type": "<not an object>"}


async def until(ws: ClientConnection, wanted: set[str], within: float) -> dict[str, Any] | None:
    """Read frames until one whose `event` or `type` is in `wanted` (None when none came in time)."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        frame = await next_frame(ws, left)
        if frame is None:
            return None
        if frame.get("event") in wanted or frame.get("type") in wanted:
            return frame
    return None


async def shut(ws: ClientConnection, within: float = 2.0) -> None:
    """Close `ws`, and abort it when the close handshake does not finish in time (a jammed or flooded socket)."""
    try:
        await asyncio.wait_for(ws.close(), within)
    except Exception:
        pass
    if not ws.transport.is_closing():
        ws.transport.abort()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.wait_closed(), within)


def close_code(ws: ClientConnection) -> int | None:
    """The close code the server sent, None when it sent no close frame (or has not closed)."""
    received = ws.protocol.close_rcvd
    return received.code if received is not None else None


async def healthz(target: AttackTarget, *, source: str | None = None, within: float = 2.0) -> tuple[int | str, float]:
    """GET /healthz from `source`: (status or error, seconds it took)."""
    started = time.monotonic()
    transport = httpx.AsyncHTTPTransport(local_address=source) if source else None
    try:
        async with httpx.AsyncClient(transport=transport, timeout=within, verify=False, trust_env=False) as http:
            status: int | str = (await http.get(f"{target.http}/healthz")).status_code
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    return status, time.monotonic() - started


@dataclass
class Delivery:
    """What the bystanders saw: messages sent and received, and how late."""

    sent: int = 0
    received: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    max_ms: float = 0.0
    error: str = ""

    @property
    def lost(self) -> int:
        return self.sent - self.received

    @property
    def hurt(self) -> bool:
        return bool(self.error) or self.lost > 0 or self.max_ms > LATE_S * 1000

    def figures(self, prefix: str = "bystander") -> dict[str, Any]:
        return {
            f"{prefix}_sent": self.sent,
            f"{prefix}_lost": self.lost,
            f"{prefix}_p50_ms": round(self.p50_ms, 1),
            f"{prefix}_p95_ms": round(self.p95_ms, 1),
            f"{prefix}_max_ms": round(self.max_ms, 1),
        }

    def describe(self) -> str:
        if self.error:
            return f"the bystanders could not chat: {self.error}"
        return (
            f"bystanders: {self.received}/{self.sent} messages, p50 {self.p50_ms:.0f} ms, p95 {self.p95_ms:.0f} ms, "
            f"max {self.max_ms:.0f} ms"
        )


class Bystanders:
    """Two members of their own room, timing each other's messages while an attack runs (module docstring)."""

    def __init__(self, target: AttackTarget, room: str, *, source_index: int = 200) -> None:
        self.target = target
        self.room = room
        self.source = target.source(source_index)
        self._task: asyncio.Task[Delivery] | None = None
        self._stop = asyncio.Event()

    async def __aenter__(self) -> Bystanders:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> Delivery:
        self._stop.set()
        assert self._task is not None
        return await self._task

    async def _run(self) -> Delivery:
        delivery = Delivery()
        opened: list[ClientConnection] = []
        try:
            for name in ("speaker", "listener"):
                opened.append(await open_ws(self.target, self.room, query=f"nickname={name}", source=self.source))
            await self._exchange(opened[0], opened[1], delivery)
        except (OSError, TimeoutError, InvalidStatus) as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        finally:
            await asyncio.gather(*(shut(ws) for ws in opened))
        return delivery

    async def _exchange(self, speaker: ClientConnection, listener: ClientConnection, delivery: Delivery) -> None:
        sent_at: dict[str, float] = {}
        delays: list[float] = []

        async def listen() -> None:
            while True:
                frame = await next_frame(listener, 3600)
                if frame is None:
                    return
                key = frame.get("content")
                if frame.get("type") == "user_msg" and key in sent_at:
                    delays.append((time.monotonic() - sent_at.pop(str(key))) * 1000)

        reader = asyncio.create_task(listen())
        try:
            while not self._stop.is_set():
                key = f"beat-{delivery.sent}"
                sent_at[key] = time.monotonic()
                try:
                    await speaker.send(json.dumps({"type": "user_msg", "content": key}))
                except ConnectionClosed as exc:
                    delivery.error = f"the speaker's connection closed ({exc.rcvd.code if exc.rcvd else 1006})"
                    break
                delivery.sent += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 0.15)  # well under the default rate limit (10/s)
            deadline = time.monotonic() + LATE_S
            while sent_at and time.monotonic() < deadline and not reader.done():  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # the last messages' arrival, polled: the reader owns the socket
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        delivery.received = len(delays)
        if delays:
            ordered = sorted(delays)
            delivery.p50_ms = statistics.median(ordered)
            delivery.p95_ms = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
            delivery.max_ms = ordered[-1]


async def cycle(
    target: AttackTarget,
    room: str,
    nickname: str,
    *,
    source: str | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    """Join `room` and leave at once: `welcomed`, `refused <code>` (told why, LIMIT-006/008), `http <status>`,
    `closed <code>` or `error <what>`."""
    try:
        ws = await open_ws(target, room, query=f"nickname={nickname}", source=source, headers=headers)
    except InvalidStatus as exc:
        return f"http {exc.response.status_code}"
    except (OSError, TimeoutError) as exc:
        return f"error {type(exc).__name__}"
    try:
        frame = await until(ws, {"welcome", "error"}, CONNECT_S)
        if frame is None:
            return f"closed {close_code(ws)}"
        return "welcomed" if frame.get("event") == "welcome" else f"refused {frame.get('code')}"
    finally:
        await shut(ws)
