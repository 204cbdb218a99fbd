"""The fast upgrade path: it takes only plain upgrades h11 would read the same way, and every other request, every
refusal and every odd byte gets exactly the answer h11's path gives (compared with the fast path switched off)."""

from __future__ import annotations

import asyncio
import random
import re
import time
from asyncio import selector_events
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from typing import Any

import h11
import pytest
from hypercorn.asyncio import serve

from roomwire.reference import fast_upgrade, hypercorn_ext
from roomwire.reference.fast_upgrade import HeldResponse, UpgradedConnection, parse_upgrade
from roomwire.reference.server import RunningServer, listen
from tests.reference.helpers import host_port, masked_frame, read_close, serving
from tests.support.timing import UNIT

LIMIT = 16 * 1024  # Hypercorn's h11_max_incomplete_size
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
PLAIN = (
    b"GET /api/v1/ws/chat/r1?nickname=a HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: " + KEY + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def h11_request(data: bytes) -> h11.Request | None:
    """What h11 makes of `data` as the first bytes of a connection: the request, or None (an error or more data)."""
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=LIMIT)
    connection.receive_data(data)
    try:
        event = connection.next_event()
    except h11.RemoteProtocolError:
        return None
    return event if isinstance(event, h11.Request) else None


def assert_as_h11(data: bytes) -> None:
    """The fast parser takes `data` only if h11 reads the same request from it."""
    upgrade = parse_upgrade(data, LIMIT)
    if upgrade is None:
        return
    request = h11_request(data)
    assert request is not None, data
    assert (request.method, request.target, request.http_version) == (b"GET", upgrade.target, b"1.1")
    assert list(request.headers) == upgrade.headers, data
    assert upgrade.head == data


# --- the parser -------------------------------------------------------------------------------------------------


def test_a_plain_upgrade_is_read_as_h11_reads_it() -> None:
    upgrade = parse_upgrade(PLAIN.replace(b"Upgrade: websocket", b"UPGRADE:  WebSocket \t"), LIMIT)
    assert upgrade is not None and upgrade.target == b"/api/v1/ws/chat/r1?nickname=a"
    assert dict(upgrade.headers)[b"upgrade"] == b"WebSocket"
    assert_as_h11(PLAIN)
    assert_as_h11(PLAIN.replace(b"Connection: Upgrade", b"Connection: keep-alive, Upgrade"))


ODD = {
    "a partial request": PLAIN[:-2],
    "frames behind it": PLAIN + masked_frame(0x8, b"\x03\xe8"),
    "a second request behind it": PLAIN + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "HTTP/1.0": PLAIN.replace(b"HTTP/1.1", b"HTTP/1.0"),
    "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "another method": PLAIN.replace(b"GET ", b"POST ", 1),
    "lower-case method": PLAIN.replace(b"GET ", b"get ", 1),
    "an absolute target": PLAIN.replace(b"GET /", b"GET http://127.0.0.1/", 1),
    "two spaces": PLAIN.replace(b"GET /", b"GET  /", 1),
    "obs-fold": PLAIN.replace(b"Upgrade: websocket\r\n", b"Upgrade:\r\n websocket\r\n"),
    "a bare LF": PLAIN.replace(b"\r\nUpgrade", b"\nUpgrade"),
    "a bare CR": PLAIN.replace(b"\r\nUpgrade", b"\rUpgrade"),
    "a space before the colon": PLAIN.replace(b"Upgrade:", b"Upgrade :"),
    "a line without a colon": PLAIN.replace(b"Upgrade: websocket", b"Upgrade websocket"),
    "a NUL in a value": PLAIN.replace(b"Upgrade: websocket", b"Upgrade: web\x00socket"),
    "a non-ASCII value": PLAIN.replace(b"Host: 127.0.0.1:8000", b"Host: \xc3\xa9.example"),
    "a non-ASCII target": PLAIN.replace(b"r1?", b"r\xc3\xa9?"),
    "a tab inside a value": PLAIN.replace(b"Connection: Upgrade", b"Connection: keep-alive,\tUpgrade"),
    "no Host": PLAIN.replace(b"Host: 127.0.0.1:8000\r\n", b""),
    "two Hosts": PLAIN.replace(b"Host: 127.0.0.1:8000", b"Host: 127.0.0.1:8000\r\nHost: evil.example"),
    "two keys": PLAIN.replace(b"Sec-WebSocket-Version", b"Sec-WebSocket-Key: x\r\nSec-WebSocket-Version"),
    "no key": PLAIN.replace(b"Sec-WebSocket-Key: " + KEY + b"\r\n", b""),
    "version 8": PLAIN.replace(b"Version: 13", b"Version: 8"),
    "upgrade to h2c": PLAIN.replace(b"Upgrade: websocket", b"Upgrade: h2c"),
    "no upgrade token": PLAIN.replace(b"Connection: Upgrade", b"Connection: keep-alive"),
    "a body": PLAIN.replace(b"\r\n\r\n", b"\r\nContent-Length: 0\r\n\r\n"),
    "chunked": PLAIN.replace(b"\r\n\r\n", b"\r\nTransfer-Encoding: chunked\r\n\r\n"),
    "Expect": PLAIN.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n"),
    "leading blank line": b"\r\n" + PLAIN,
    "too many headers": PLAIN.replace(b"\r\n\r\n", b"\r\n" + b"X-A: b\r\n" * (fast_upgrade.MAX_HEADERS + 1) + b"\r\n"),
    "over h11's size limit": PLAIN.replace(b"\r\n\r\n", b"\r\nX-Pad: " + b"a" * LIMIT + b"\r\n\r\n"),
}


@pytest.mark.parametrize("data", list(ODD.values()), ids=list(ODD))
def test_anything_unusual_is_left_to_h11(data: bytes) -> None:
    assert parse_upgrade(data, LIMIT) is None


def mutations(seed: int, count: int) -> Iterator[bytes]:
    """`PLAIN` with random bytes changed, inserted, dropped or repeated, and header lines reordered or doubled."""
    rng = random.Random(seed)
    alphabet = b"\x00\t\n\r \x7f\x80\xff:;,/?=Aaz09-_" + bytes(range(0x21, 0x7F))
    for _ in range(count):
        data = bytearray(PLAIN)
        for _ in range(rng.randint(1, 3)):
            where = rng.randrange(len(data) - 4)
            action = rng.randrange(4)
            if action == 0:
                data[where] = rng.choice(alphabet)
            elif action == 1:
                data.insert(where, rng.choice(alphabet))
            elif action == 2:
                del data[where]
            else:
                lines = bytes(data[:-4]).split(b"\r\n")
                rest = lines[1:]
                rng.shuffle(rest)
                if rest:
                    rest.append(rng.choice(rest))
                data = bytearray(b"\r\n".join([lines[0], *rest]) + b"\r\n\r\n")
        yield bytes(data)


def test_whatever_the_fast_parser_takes_h11_reads_the_same() -> None:
    taken = 0
    for data in mutations(15, 4000):
        assert_as_h11(data)
        taken += parse_upgrade(data, LIMIT) is not None
    assert 100 < taken < 4000  # both ways were exercised


HOSTILE = {
    "spaces then a bad byte": b"Upgrade: websocket\r\nX-A:" + b" " * LIMIT + b"\x7f",
    "spaced words then a bad byte": b"X-A: " + b"a " * (LIMIT // 2) + b"\x01",
    "one long name": b"X" * LIMIT + b": a",
    "colons": b"X-A: " + b":" * LIMIT,
    "many tiny lines": b"a:\r\n" * (LIMIT // 4),
    "no CRLF at all": b"a" * (4 * LIMIT),
}


@pytest.mark.parametrize("filler", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_requests_are_refused_in_time_linear_in_their_size(filler: bytes) -> None:
    """Bounded work: the parser reads at most h11's limit, with no pattern that retries (a quadratic parse of
    16 KiB would take seconds; the bound here is generous)."""
    data = PLAIN.replace(b"\r\n\r\n", b"\r\n" + filler + b"\r\n\r\n")
    started = time.process_time()
    for _ in range(20):
        assert parse_upgrade(data, LIMIT) is None
        assert parse_upgrade(data[: LIMIT - 1] + b"\r\n\r\n", LIMIT) is None
    assert time.process_time() - started < 5.0


def test_a_refusal_after_the_fast_path_is_h11s_answer() -> None:
    """The connection hands the request to h11 at the first HTTP response: the same bytes as h11's own path."""
    response = h11.Response(status_code=403, headers=[(b"content-length", b"2")])
    ours = UpgradedConnection(h11.Connection(h11.SERVER), PLAIN)
    unread_before = ours.unread
    theirs = h11.Connection(h11.SERVER)
    theirs.receive_data(PLAIN)
    theirs.next_event()
    assert ours.send(response) == theirs.send(response)
    assert (unread_before, ours.unread) == (True, False)
    assert ours.send(h11.Data(data=b"no")) == theirs.send(h11.Data(data=b"no"))


# --- through the server: the same answers with and without the fast path -----------------------------------------


@contextmanager
def fast_path_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with monkeypatch.context() as patch:
        patch.setattr(fast_upgrade, "parse_upgrade", lambda data, max_size: None)
        yield


def request(server: RunningServer, path: str = "/api/v1/ws/chat/r1?nickname=a", extra: bytes = b"") -> bytes:
    host, port = host_port(server)
    return (
        PLAIN.replace(b"/api/v1/ws/chat/r1?nickname=a", path.encode())
        .replace(b"127.0.0.1:8000", f"{host}:{port}".encode())
        .replace(b"\r\n\r\n", b"\r\n" + extra + b"\r\n\r\n" if extra else b"\r\n\r\n")
    )


async def answer(server: RunningServer, pieces: list[bytes]) -> bytes:
    """Everything the server sends until it closes or falls quiet, for `pieces` written one after another."""
    reader, writer = await asyncio.open_connection(*host_port(server))
    received = b""
    try:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.05)
        while True:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 0.3)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
    finally:
        writer.close()
    return received


def comparable(response: bytes) -> bytes:
    """A response without what changes between two runs: the Date, and the time stamps of frames."""
    return re.sub(rb'"ts":\d+', b'"ts":0', re.sub(rb"date: [^\r]*\r\n", b"", response))


CASES = {
    "plain": lambda s: [request(s)],
    "a subprotocol and deflate offered": lambda s: [
        request(s, extra=b"Sec-WebSocket-Protocol: chat, x\r\nSec-WebSocket-Extensions: permessage-deflate")
    ],
    "foreign Host (SEC-006)": lambda s: [request(s).replace(b"Host: 127.0.0.1", b"Host: evil.example")],
    "foreign Origin (SEC-004)": lambda s: [request(s, extra=b"Origin: http://evil.example")],
    "loopback Origin (SEC-010)": lambda s: [request(s, extra=b"Origin: http://localhost:3000")],
    "bad room (CONN-002)": lambda s: [request(s, "/api/v1/ws/chat/r%61")],
    "bad query (CONN-002)": lambda s: [request(s, "/api/v1/ws/chat/r1?lang=xx")],
    "not the chat path": lambda s: [request(s, "/elsewhere")],
    "no key": lambda s: [request(s).replace(b"Sec-WebSocket-Key: " + KEY + b"\r\n", b"")],
    "in two pieces": lambda s: [request(s)[:20], request(s)[20:]],
    "a close frame behind it": lambda s: [request(s) + masked_frame(0x8, b"\x03\xe8")],
    "a plain GET": lambda s: [request(s, "/healthz").replace(b"Upgrade: websocket\r\n", b"")],
}


@pytest.mark.parametrize("case", list(CASES))
async def test_every_answer_is_the_one_h11s_path_gives(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = []
    for fast in (True, False):  # a server each: the second would find the first one's room
        async with serving() as server:
            with nullcontext() if fast else fast_path_off(monkeypatch):
                answers.append(comparable(await answer(server, CASES[case](server))))
    assert answers[0] == answers[1]
    assert answers[0].startswith(b"HTTP/1.1 ")


async def test_plain_upgrades_take_the_fast_path_and_refusals_are_counted_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken: list[bytes] = []
    parse = fast_upgrade.parse_upgrade

    def counting(data: bytes, max_size: int) -> fast_upgrade.Upgrade | None:
        upgrade = parse(data, max_size)
        if upgrade is not None:
            taken.append(upgrade.target)
        return upgrade

    monkeypatch.setattr(fast_upgrade, "parse_upgrade", counting)
    async with serving() as server:
        accepted = await answer(server, [request(server)])
        refused = await answer(server, [request(server, extra=b"Origin: http://evil.example")])
        metrics = server.hub.metrics.registry.get_sample_value("roomwire_connections_refused_total", {"why": "403"})
    assert accepted.startswith(b"HTTP/1.1 101 \r\n") and b'"event":"welcome"' in accepted
    assert refused.startswith(b"HTTP/1.1 403 \r\n") and refused.endswith(b"origin not allowed")
    assert taken == [b"/api/v1/ws/chat/r1?nickname=a"] * 2 and metrics == 1


async def test_a_fast_upgrade_keeps_its_connection_alive_and_closes_cleanly() -> None:
    """After the 101 written by us the stream is a normal WebSocket: it answers a ping and a close."""
    async with serving() as server:
        reader, writer = await asyncio.open_connection(*host_port(server))
        try:
            writer.write(request(server))
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), UNIT)
            assert head.startswith(b"HTTP/1.1 101 \r\n")
            writer.write(masked_frame(0x9, b"hi"))
            writer.write(masked_frame(0x8, b"\x03\xe8"))
            assert await read_close(reader) == 1000
        finally:
            writer.close()


# --- the 101 held for the first frames ----------------------------------------------------------------------------


class RecordingTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing


async def test_a_held_101_goes_out_by_itself_two_loop_turns_after_the_accept() -> None:
    transport = RecordingTransport()
    held = HeldResponse(b"HTTP/1.1 101 \r\n\r\n", transport)  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert transport.written == []  # one turn: the app's first frames may still take it
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert transport.written == [b"HTTP/1.1 101 \r\n\r\n"] and held.take() == b""


async def test_a_held_101_is_taken_once_and_never_written_to_a_closing_connection() -> None:
    transport = RecordingTransport()
    held = HeldResponse(b"101", transport)  # type: ignore[arg-type]
    assert held.take() == b"101" and held.take() == b""
    closing = RecordingTransport()
    closing.closing = True
    HeldResponse(b"101", closing)  # type: ignore[arg-type]
    for _ in range(3):
        await asyncio.sleep(0)
    assert transport.written == [] and closing.written == []


async def test_the_101_and_the_welcome_leave_in_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[bytes] = []
    transport_class: Any = getattr(selector_events, "_SelectorSocketTransport")  # noqa: B009 - private, untyped
    write = transport_class.write

    def recording(self: object, data: bytes) -> None:
        writes.append(bytes(data))
        write(self, data)

    monkeypatch.setattr(transport_class, "write", recording)
    async with serving() as server:
        received = await answer(server, [request(server)])
    first = [data for data in writes if data.startswith(b"HTTP/1.1 101")]
    assert len(first) == 1 and b'"event":"welcome"' in first[0]
    assert received.startswith(first[0])


@asynccontextmanager
async def hypercorn_app(app: Any) -> AsyncIterator[RunningServer]:
    """`app` under Hypercorn with our config (the fast path on), for apps that do what the chat endpoint does not."""
    hypercorn_ext.install()
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = hypercorn_ext.RoomwireConfig()
    config.bind = [f"fd://{sock.detach()}"]
    config.accesslog = None
    config.graceful_timeout = 1.0
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait, mode="asgi"))
    try:
        await asyncio.sleep(0.2)
        yield RunningServer(url=f"ws://127.0.0.1:{port}/api/v1/ws/chat/{{room_id}}", app=None, stop=stop)  # type: ignore[arg-type]
    finally:
        stop.set()
        await task


def accepting(**accept: Any) -> Any:
    """An ASGI app that accepts with `accept` (a subprotocol, headers) and then writes nothing."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept", **accept})
        while (await receive())["type"] != "websocket.disconnect":
            pass

    return app


@pytest.mark.parametrize(
    "accept",
    [
        {},
        {"subprotocol": "chat"},
        {"headers": [(b"x-app", b"1")]},
        {"subprotocol": "chat", "headers": [(b"x-a", b"b")]},
    ],
    ids=["nothing", "a subprotocol", "headers", "both"],
)
async def test_an_app_that_writes_nothing_still_gets_its_101_as_h11_writes_it(
    accept: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = []
    for fast in (True, False):
        async with hypercorn_app(accepting(**accept)) as server:
            with nullcontext() if fast else fast_path_off(monkeypatch):
                answers.append(
                    comparable(await answer(server, [request(server, extra=b"Sec-WebSocket-Protocol: x, chat")]))
                )
    assert answers[0] == answers[1]
    assert answers[0].startswith(b"HTTP/1.1 101 \r\n") and answers[0].endswith(b"\r\n\r\n")
    assert (b"sec-websocket-protocol: chat\r\n" in answers[0]) == ("subprotocol" in accept)
