"""Our extension of Hypercorn's WebSocket stream: keepalive that closes, exact limits, and a fast send path.

Hypercorn (0.17, 0.18) gets seven things wrong or slow for this protocol, all inside `WSStream`:

1. Keepalive (PRES-004). `websocket_ping_interval` sends pings, but pongs are dropped unread, so a half-open
   peer is never noticed. Here a ping that gets no pong within `websocket_ping_timeout` aborts the TCP
   connection, after telling the app (`websocket.disconnect` with `roomwire.reason: "timeout"`). One timer per
   event loop (`keepalive.Pinger`) pings every connection, instead of a task per connection (1.7 KiB each).
2. Frame size (LIMIT-001). Hypercorn counts *characters* of text messages, keeps buffering the rest of an
   oversized message after answering 1009, and never tells the app. Here the limit is in bytes, the buffer is
   dropped at once, the rest of the message is discarded as it arrives, and the app hears of it.
3. Protocol errors (INPUT-005). When wsproto finds invalid UTF-8 (or another framing error) Hypercorn closes
   TCP without a close frame, so the peer sees 1006. Here the peer gets the close frame (1007, 1002) first.
4. Closes the peer never completes. After a server-initiated close, a peer that neither answers nor reads would
   keep its socket (and the bytes queued for it) until the kernel gives up; here a watchdog aborts it after
   `roomwire_close_timeout` seconds. A client's close frame reaches the app as `roomwire.reason: "close"`
   (Hypercorn reports every end as 1006, which hides PRES-007's close/drop distinction), also one the client
   sent right behind its request, before the 101 (Hypercorn answers such early frames with a 400 while the app
   is accepting): early frames are held and read after the accept.
5. Control frames (LIMIT-007). Hypercorn answers every ping and reads every pong and message fragment without
   limit, and the app's rate limit counts only whole messages. Here pings, pongs and non-final fragments spend a
   token bucket (`roomwire_control_rate`/`_burst`); the frame that finds it empty closes the connection with
   1008, and nothing the peer sends after it is parsed or answered (read and dropped, so that no reset eats
   the close frame, until the peer closes or the watchdog aborts). Nothing is written to a
   transport that is already closing (asyncio logs a warning for each such write: issue 13 counted 10,746).
6. Speed. Every ASGI `websocket.send` goes through wsproto and an awaited drain. The app gets the TCP
   transport of an HTTP/1.1 WebSocket (scope extension `roomwire.ws`), writes pre-framed bytes to it directly
   while it is not congested, and sends `roomwire.ws.send_frames` (pre-framed bytes, awaited drain) otherwise.
   permessage-deflate is declined, which is what makes frames shareable, and removes inflate bombs.
   Received frames are unmasked in C (`websockets.speedups.apply_mask`) instead of wsproto's pure-Python masker,
   and whole text frames, nearly all a client sends, are decoded without wsproto (`ws_receive`).
   The 101 of a plain upgrade that h11 never read (`fast_upgrade`) is serialized here and leaves with the first
   frames (`_rw_accept_raw`).
7. Receiving. Hypercorn hands every received message to the app through a queue, and the app's task runs it a
   loop turn later, behind whatever else is ready (an AI answer's SDK work, other connections). The app may take
   messages from the reader itself instead (`receive_directly` in the extension): a message goes to its
   receiver, in the reader's task, when the app's queue is empty and the receiver accepts it (it returns what to
   await, or None to decline: then the queue, as before). Disconnects always take the queue.

Everything is in `RoomwireWSStream`, a subclass installed in place of Hypercorn's `WSStream` by `install()`,
which behaves exactly as Hypercorn's own unless the server's config is a `RoomwireConfig`. `install()` refuses
Hypercorn versions it was not written against (the app then runs on plain ASGI, and logs that keepalive is off).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from importlib.metadata import version
from time import monotonic, time
from typing import Any, cast

from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.config import Config
from hypercorn.protocol import h2, h11
from hypercorn.protocol import ws_stream as hypercorn_ws
from hypercorn.protocol.events import Data, StreamClosed
from hypercorn.typing import ASGISendEvent, WebsocketAcceptEvent
from wsproto.connection import ConnectionState
from wsproto.events import CloseConnection, Message, Ping, Pong, TextMessage
from wsproto.frame_protocol import CloseReason, FrameDecoder, Opcode, ParseFailed
from wsproto.utilities import LocalProtocolError

from roomwire.reference import fast_upgrade, idle_timer, ws_receive
from roomwire.reference.keepalive import pinger
from roomwire.reference.ratelimit import TokenBucket

log = logging.getLogger(__name__)

SUPPORTED_VERSIONS = ("0.17.", "0.18.")
EXTENSION = "roomwire.ws"
SEND_FRAMES = "roomwire.ws.send_frames"  # {"type": SEND_FRAMES, "data": bytes of whole frames}
REASON = "roomwire.reason"  # key of websocket.disconnect: "close", "drop", "timeout" or "server"


#: The app's taker of received messages (module docstring, 7.): what to await, or None to decline the message.
Receiver = Callable[[dict[str, Any]], Awaitable[None] | None]


class RoomwireConfig(Config):
    """Hypercorn's config plus the settings the extension adds."""

    websocket_ping_timeout: float | None = None
    roomwire_close_timeout: float = 5.0
    roomwire_control_rate: float | None = None  # control frames and fragments per second (LIMIT-007); None: any
    roomwire_control_burst: int = 50
    roomwire_gate: Any = None  # listener.Gate: TCP connections per address before their upgrade (LIMIT-009)


class RoomwireWSStream(hypercorn_ws.WSStream):
    """Hypercorn's `WSStream` with the seven changes of the module docstring (only under a `RoomwireConfig`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rw = isinstance(self.config, RoomwireConfig)
        self._rw_closed = asyncio.Event()
        self._rw_ping_generation = 0  # bumped by each pong: older keepalive entries no longer apply
        self._rw_awaiting_pong = False
        self._rw_bytes = 0  # bytes of the message being received
        self._rw_discard = False  # the rest of an oversized message, or anything after a failure
        self._rw_told = False  # the app has had its websocket.disconnect
        self._rw_watching = False
        self._rw_early = bytearray()  # frames sent before the handshake's answer (RFC 6455 §4.1 says not to)
        self._rw_drop_input = False  # LIMIT-007 tripped: what arrives is not even parsed
        self._rw_held: fast_upgrade.HeldResponse | None = None  # a 101 not yet written (fast_upgrade)
        self._rw_receiver: Receiver | None = None  # the app's, while it takes messages from the reader (7.)
        self._rw_app_queue: asyncio.Queue[Any] | None = None  # Hypercorn's queue to the app, once known (7.)
        self._rw_fast: ws_receive.FastReader | None = None  # set at the accept: frames that may skip wsproto (6.)
        rate = getattr(self.config, "roomwire_control_rate", None)
        burst = float(getattr(self.config, "roomwire_control_burst", 0))
        self._rw_control = TokenBucket(rate, burst, monotonic()) if self._rw and rate else None  # LIMIT-007

    # --- plumbing -------------------------------------------------------------------------------------------

    def _rw_tcp(self) -> TCPServer | None:
        """The TCP server under this stream: `send` is the HTTP protocol's, whose own `send` is the server's."""
        protocol = getattr(self.send, "__self__", None)
        server = getattr(getattr(protocol, "send", None), "__self__", None)
        return server if isinstance(server, TCPServer) else None

    def _rw_transport(self) -> asyncio.WriteTransport | None:
        server = self._rw_tcp()
        return server.writer.transport if server is not None else None

    def _rw_abort(self) -> None:
        transport = self._rw_transport()
        if transport is not None:
            transport.abort()
        else:  # pragma: no cover - HTTP/2 or HTTP/3 stream: end this stream only
            self._rw_spawn(self.send, StreamClosed(stream_id=self.stream_id))

    async def _rw_tell_app(self, code: int, reason: str) -> None:
        if not self._rw_told and self.app_put is not None:
            self._rw_told = True
            await self.app_put({"type": "websocket.disconnect", "code": code, REASON: reason})

    def _rw_watch(self) -> None:
        """Start the close watchdog once, unless the connection is already gone (nothing left to abort)."""
        if not self._rw_watching and not self._rw_closed.is_set():
            self._rw_watching = True
            self._rw_spawn(self._rw_watchdog)

    async def _rw_watchdog(self) -> None:
        """Abort a closing connection that is not gone, or not flushed, after the close timeout."""
        timeout = cast(RoomwireConfig, self.config).roomwire_close_timeout
        deadline = monotonic() + timeout
        try:
            await asyncio.wait_for(self._rw_closed.wait(), timeout)
        except TimeoutError:
            self._rw_abort()
            return
        transport = self._rw_transport()
        if transport is not None and transport.get_write_buffer_size():
            await asyncio.sleep(max(0.0, deadline - monotonic()))
            if transport.get_write_buffer_size():
                transport.abort()

    # --- overrides ------------------------------------------------------------------------------------------

    async def handle(self, event: Any) -> None:
        if self._rw and isinstance(event, StreamClosed):
            self._rw_closed.set()
            if self._rw_held is not None:
                self._rw_held.flush()  # a peer that half-closed still reads its 101
            if _holds_close_frame(self._rw_early):  # a close frame sent with the request, then FIN: a close
                await self._rw_tell_app(CloseReason.NORMAL_CLOSURE, "close")
            await self._rw_tell_app(CloseReason.ABNORMAL_CLOSURE, "drop")  # PRES-003: TCP ended, no close frame
        elif self._rw and isinstance(event, Data) and self._rw_drop_input:
            return  # a flooder's bytes after its 1008: dropped unparsed until it closes or the watchdog aborts
        elif self._rw_fast is not None and isinstance(event, Data) and self._rw_fast_ok():
            texts, used = ws_receive.complete_text_frames(event.data)
            for text in texts:  # the common frames, without wsproto (ws_receive.py); what follows takes wsproto
                await self._rw_message(TextMessage(data=text))
            if used == len(event.data) or self.closed:
                return
            event = Data(stream_id=event.stream_id, data=event.data[used:])
        elif self._rw and isinstance(event, Data) and self._rw_before_accept():
            # RFC 6455 §4.1 has a client wait for the 101 before it sends frames. One that does not (a close frame
            # right behind its request) is read after the accept, instead of Hypercorn's 400 behind the app's back.
            if len(self._rw_early) + len(event.data) <= self.config.websocket_max_message_size:
                self._rw_early.extend(event.data)
                return
        await super().handle(event)

    def _rw_fast_ok(self) -> bool:
        assert self._rw_fast is not None
        return not self.closed and not self._rw_discard and self._rw_fast.idle()

    def _rw_before_accept(self) -> bool:
        handshake = getattr(self, "handshake", None)
        return not self.closed and handshake is not None and not handshake.accepted and self.app_put is not None

    async def _accept(self, message: WebsocketAcceptEvent) -> None:
        if not self._rw:
            return await super()._accept(message)
        self.handshake.extensions = None  # decline permessage-deflate (module docstring, 6)
        if not await self._rw_accept_raw(message):
            await super()._accept(message)
        ws_receive.unmask_in_c(self.connection)
        self._rw_fast = ws_receive.FastReader.of(self.connection)
        upgraded = getattr(self._rw_tcp(), "roomwire_upgraded", None)
        if upgraded is not None:
            upgraded()  # no longer a pending connection of its address (listener.py, LIMIT-009)
        if self._rw_early:  # frames that came with the request (see `handle`)
            early, self._rw_early = bytes(self._rw_early), bytearray()
            self.connection.receive_data(early)
            await self._handle_events()
        transport = self._rw_transport() if isinstance(getattr(self.send, "__self__", None), h11.H11Protocol) else None
        extension: dict[str, Any] = {"transport": transport, "is_open": self._rw_is_open, "held": self._rw_held}
        queue = getattr(self.app_put, "__self__", None)
        if isinstance(queue, asyncio.Queue):  # the receiver may take a message only when this queue is empty
            self._rw_app_queue = queue
            extension["receive_directly"] = self._rw_receive_directly
        self.scope["extensions"][EXTENSION] = extension

    async def _rw_accept_raw(self, message: WebsocketAcceptEvent) -> bool:
        """Hypercorn's `_accept` with the 101 written by us (`fast_upgrade`), when h11 has not read the request
        and the app adds no headers; False (nothing done) otherwise."""
        if message.get("headers") or not fast_upgrade.unread(getattr(self.send, "__self__", None)):
            return False
        self.state = hypercorn_ws.ASGIWebsocketState.CONNECTED
        status_code, headers, self.connection = self.handshake.accept(message.get("subprotocol"), ())
        transport = self._rw_transport()
        if transport is not None and not transport.is_closing():
            self._rw_held = fast_upgrade.HeldResponse(fast_upgrade.response_head(headers, self.config), transport)
        await self.config.log.access(self.scope, {"status": status_code, "headers": []}, time() - self.start_time)
        if self.config.websocket_ping_interval is None:
            pass
        elif getattr(self.config, "websocket_ping_timeout", None) is None:
            self.task_group.spawn(self._send_pings)  # Hypercorn's pinging loop
        else:
            await self._send_pings()  # enrols with the loop's pinger: no task (see there)
        return True

    def _rw_receive_directly(self, receiver: Receiver | None) -> None:
        """The app takes received messages from the reader from now on (module docstring, 7.); None: no longer."""
        self._rw_receiver = receiver

    async def _rw_deliver(self, message: dict[str, Any]) -> None:
        """A received message to the app: to its receiver when nothing waits in its queue (which keeps the order)
        and the receiver takes it, else through the queue."""
        receiver, queue = self._rw_receiver, self._rw_app_queue
        if receiver is not None and queue is not None and queue.empty():
            handled = receiver(message)
            if handled is not None:
                await handled
                return
        assert self.app_put is not None
        await self.app_put(message)

    def _rw_is_open(self) -> bool:
        """Whether frames may still go out: after a close frame nothing may follow it (RFC 6455 §5.5.1)."""
        return not self.closed and self.connection.state is ConnectionState.OPEN

    def _rw_closing(self) -> bool:
        """We sent a close frame and wait for the peer's (or for the watchdog)."""
        connection = getattr(self, "connection", None)
        return connection is not None and not self.closed and connection.state is ConnectionState.LOCAL_CLOSING

    async def app_send(self, message: ASGISendEvent | None) -> None:
        if self._rw and message is None and self._rw_closing():
            return  # the app is done, but closing TCP now would reset a peer still sending: wait for its close
        if self._rw and message is not None:
            kind = message["type"]
            if kind == SEND_FRAMES:
                if not self.closed and self.connection.state is ConnectionState.OPEN:
                    data = cast(dict[str, Any], message)["data"]
                    if self._rw_held is not None and self._rw_held.data:
                        data = self._rw_held.take() + data
                    await self.send(Data(stream_id=self.stream_id, data=data))
                return
            if kind == "websocket.close" and self.state is hypercorn_ws.ASGIWebsocketState.CONNECTED:
                self._rw_watch()
        await super().app_send(message)

    async def _handle_events(self) -> None:
        if not self._rw:
            return await super()._handle_events()
        for event in self.connection.events():
            if isinstance(event, CloseConnection):
                await self._rw_close_event(event)
            elif self._rw_discard:
                continue  # after our close: read and dropped, never answered
            elif isinstance(event, Message):
                if event.frame_finished and not event.message_finished and not await self._rw_control_ok():
                    return
                await self._rw_message(event)
            elif not await self._rw_control_ok():
                return  # the rest of what the flooder sent is never parsed
            elif isinstance(event, Ping):
                await self._send_wsproto_event(event.response())
            elif isinstance(event, Pong):
                self._rw_on_pong()

    async def _rw_control_ok(self) -> bool:
        """LIMIT-007: a ping, a pong or a non-final fragment spends a token; with none left, close with 1008 and
        stop reading: parsing what a flooder has queued would cost the other connections their turn."""
        bucket = self._rw_control
        if bucket is None or bucket.take(monotonic()):
            return True
        await self._rw_refuse(CloseReason.POLICY_VIOLATION, "too many control frames")
        self._rw_drop_input = True  # read on (so that the close frame is not lost to a reset) but parse nothing
        return False

    async def _rw_refuse(self, code: CloseReason, reason: str | None = None) -> None:
        """Close for a limit the peer broke: drop what it was sending, say why (code), tell the app, watch."""
        self._rw_discard = True
        self.buffer.clear()
        await self._send_wsproto_event(CloseConnection(code=code, reason=reason))
        await self._rw_tell_app(code, "server")
        self._rw_watch()

    async def _send_wsproto_event(self, event: Any) -> None:
        """Hypercorn's, but nothing is written to a transport that is closing (asyncio would warn per write)."""
        if self._rw:
            if self._rw_held is not None:
                self._rw_held.flush()  # the 101 first
            transport = self._rw_transport()
            if transport is not None and transport.is_closing():
                with contextlib.suppress(LocalProtocolError):
                    self.connection.send(event)  # the state moves on as if sent
                return
        await super()._send_wsproto_event(event)

    async def _rw_message(self, event: Message[Any]) -> None:
        if self._rw_discard:
            return
        data = event.data
        size = len(data)
        if isinstance(data, str) and size * 4 > self.config.websocket_max_message_size - self._rw_bytes:
            size = len(data.encode("utf-8"))  # count bytes, not characters (LIMIT-001)
        self._rw_bytes += size
        if self._rw_bytes > self.config.websocket_max_message_size:
            await self._rw_refuse(CloseReason.MESSAGE_TOO_BIG)
            return
        if event.message_finished and self.buffer.value is None:  # a whole message in one event: no buffer
            self._rw_bytes = 0
            text = data if isinstance(data, str) else None
            await self._rw_deliver(
                {"type": "websocket.receive", "bytes": None if text is not None else bytes(data), "text": text}
            )
            return
        self.buffer.extend(event)
        if event.message_finished:
            self._rw_bytes = 0
            message = self.buffer.to_message()
            self.buffer.clear()
            await self._rw_deliver(cast(dict[str, Any], message))

    async def _rw_close_event(self, event: CloseConnection) -> None:
        if self.connection.state is ConnectionState.OPEN:
            # wsproto failed the connection (invalid UTF-8: 1007, bad framing: 1002) and sent nothing: say so.
            # Its parser is dead, so the peer's close frame will not be seen: half-close, and let the peer's EOF
            # (or the watchdog) end the connection. Closing outright could reset data the peer still sends.
            self._rw_discard = True
            await self._send_wsproto_event(CloseConnection(code=event.code))
            await self._rw_tell_app(event.code, "server")
            transport = self._rw_transport()
            if transport is not None and transport.can_write_eof():
                transport.write_eof()
            self._rw_watch()
            return
        await self._rw_tell_app(event.code, "close")
        if self.connection.state is ConnectionState.REMOTE_CLOSING:
            await self._send_wsproto_event(event.response())
        await self.send(StreamClosed(stream_id=self.stream_id))

    async def _send_pings(self) -> None:
        """Hypercorn spawns this at accept; under our config it only enrols the stream with the loop's `Pinger`."""
        timeout = getattr(self.config, "websocket_ping_timeout", None)
        if not self._rw or timeout is None:
            return await super()._send_pings()
        interval = self.config.websocket_ping_interval
        assert interval is not None
        pinger().schedule(self, interval, self._rw_ping_generation)

    def _rw_keepalive_due(self, generation: int) -> None:
        """A keepalive time of this stream came: send the next ping, or end a stream whose ping went unanswered."""
        if generation != self._rw_ping_generation or self.closed or self._rw_closed.is_set():
            return
        if self._rw_awaiting_pong:  # PRES-004: no pong in time
            self._rw_spawn(self._rw_timed_out)
            return
        self._rw_awaiting_pong = True
        self._rw_spawn(self._send_wsproto_event, Ping())
        pinger().schedule(self, cast(RoomwireConfig, self.config).websocket_ping_timeout or 0.0, generation)

    def _rw_on_pong(self) -> None:
        if not self._rw_awaiting_pong:
            return  # unsolicited (RFC 6455 §5.5.3): no answer to anything
        self._rw_awaiting_pong = False
        self._rw_ping_generation += 1
        interval = self.config.websocket_ping_interval
        if interval is not None and not self.closed:
            pinger().schedule(self, interval, self._rw_ping_generation)

    def _rw_spawn(self, func: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """A short task in the connection's task group; nothing once the group has ended (the connection is gone).

        Hypercorn's `spawn` creates the coroutine before asyncio's task group refuses it (RuntimeError: finished
        or shutting down), so the coroutine is made here, where it can be closed unstarted: no "coroutine ... was
        never awaited". The app may send (a late `websocket.close`) after its connection ended; that must stay
        quiet.
        """
        made: list[Awaitable[Any]] = []

        def start() -> Awaitable[Any]:
            made.append(func(*args))
            return made[0]

        try:
            self.task_group.spawn(start)
        except RuntimeError:
            for awaitable in made:
                if isinstance(awaitable, Coroutine):
                    awaitable.close()
            log.debug("%s after the connection ended: not started", getattr(func, "__name__", func))

    async def _rw_timed_out(self) -> None:
        if not self.closed:
            await self._rw_tell_app(CloseReason.ABNORMAL_CLOSURE, "timeout")
            self._rw_abort()


def _holds_close_frame(data: bytes | bytearray) -> bool:
    """Whether client frames `data` (as far as they are complete) include a close frame."""
    if not data:
        return False
    decoder = FrameDecoder(client=False)
    decoder.receive_bytes(bytes(data))
    try:
        while (frame := decoder.process_buffer()) is not None:
            if frame.opcode is Opcode.CLOSE:
                return True
    except ParseFailed:
        return False
    return False


def supported(hypercorn_version: str | None = None) -> bool:
    found = hypercorn_version or version("hypercorn")
    return found.startswith(SUPPORTED_VERSIONS)


_installed = False


def install() -> bool:
    """Make Hypercorn create `RoomwireWSStream`s (idempotent); False, with an error logged, if it cannot."""
    global _installed
    if _installed:
        return True
    if not supported():
        log.error(
            "Hypercorn %s is not one this server's WebSocket extension was written for (%s); running without it: "
            "no keepalive timeout (PRES-004), slower sends",
            version("hypercorn"),
            ", ".join(v + "x" for v in SUPPORTED_VERSIONS),
        )
        return False
    setattr(h11, "WSStream", RoomwireWSStream)  # noqa: B010 - the name is not exported; we replace it
    setattr(h2, "WSStream", RoomwireWSStream)  # noqa: B010
    idle_timer.install()
    fast_upgrade.install(RoomwireConfig)
    _installed = True
    return True
