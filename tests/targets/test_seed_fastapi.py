"""The seed copy is broken exactly as issue 4 says: these tests document reality and fail if the copy were fixed.

Each test runs `python -m roomwire.targets.seed_fastapi --port 0` (uvicorn, its own process: the seed keeps its
rooms and Gemini client in module globals) and talks to it over real sockets with the `websockets` client. The
numbered failures are issue 4's "The seed's failures we reproduced". Timeouts scale from `UNIT`; a "nothing
arrives" assertion waits `QUIET` seconds, long enough for a loopback broadcast on a busy 2-core machine.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from roomwire.gemini_double import AsyncDoubleControl, DoubleConfig, DoubleThread
from roomwire.targets.seed_fastapi import FAKE_SEED_API_KEY, LISTENING_PREFIX
from tests.support.processes import running, stop
from tests.support.timing import UNIT

QUIET = 1.0
#: Rooms to try a racy failure in before calling it absent.
TRIES = 10
#: Environment variables that could point the SDK elsewhere or change its mode; the child never inherits them.
SDK_ENV = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI",
           "GOOGLE_GENAI_USE_ENTERPRISE", "GOOGLE_GENAI_API_VERSION")  # fmt: skip


@dataclass
class SeedServer:
    """A running seed copy: its URL base and everything it logged so far (uvicorn logs to stderr)."""

    process: subprocess.Popen[str]
    port: int
    log_lines: list[str] = field(default_factory=list)

    def url(self, room: str) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws/chat/{room}"

    @property
    def log(self) -> str:
        return "".join(self.log_lines)

    async def wait_for_log(self, text: str, within: float = UNIT) -> None:
        """Wait until `text` has been logged (the server logs after it acts, so poll)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while text not in self.log:
            if loop.time() > deadline:
                raise AssertionError(f"{text!r} not logged within {within} s; log:\n{self.log}")
            await asyncio.sleep(0.02)


@contextmanager
def seed_server(extra_env: dict[str, str] | None = None) -> Iterator[SeedServer]:
    """Start the seed copy on a free port; stop it (and its log reader) whatever happens."""
    env = {k: v for k, v in os.environ.items() if k not in SDK_ENV}
    env.update(extra_env or {})
    command = [sys.executable, "-m", "roomwire.targets.seed_fastapi", "--host", "127.0.0.1", "--port", "0"]
    reader: threading.Thread | None = None
    with running(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            first = process.stdout.readline()
            assert first.startswith(LISTENING_PREFIX), f"seed copy did not start: {first!r}"
            server = SeedServer(process=process, port=int(first.rsplit(":", 1)[1]))
            stderr = process.stderr
            reader = threading.Thread(target=lambda: server.log_lines.extend(iter(stderr.readline, "")), daemon=True)
            reader.start()
            yield server
        finally:
            stop(process)  # before the reader is joined: it reads until the child's stderr ends
            if reader is not None:
                reader.join(timeout=UNIT)


@pytest.fixture
def seed() -> Iterator[SeedServer]:
    with seed_server() as server:
        yield server


@dataclass
class WiredSeed:
    """The seed copy with its SDK pointed at a Gemini double by `GOOGLE_GEMINI_BASE_URL` alone."""

    server: SeedServer
    double_url: str


@pytest.fixture
def wired() -> Iterator[WiredSeed]:
    with DoubleThread(DoubleConfig(latency="fast", quota_rpm=None)) as double:
        with seed_server({"GOOGLE_GEMINI_BASE_URL": double.base_url}) as server:
            yield WiredSeed(server=server, double_url=double.base_url)


@asynccontextmanager
async def members(url: str, count: int) -> AsyncIterator[list[ClientConnection]]:
    """`count` clients joined one after the other (the seed's room list keeps that order)."""
    clients: list[ClientConnection] = []
    try:
        for _ in range(count):
            clients.append(await asyncio.wait_for(connect(url), UNIT))
        yield clients
    finally:
        for client in clients:
            await client.close()


async def say(client: ClientConnection, nickname: str, content: str) -> None:
    await client.send(json.dumps({"type": "user_msg", "nickname": nickname, "content": content}))


async def next_frame(client: ClientConnection, within: float = UNIT) -> dict[str, object]:
    frame = json.loads(await asyncio.wait_for(client.recv(), within))
    assert isinstance(frame, dict)
    return frame


async def frames_within(client: ClientConnection, seconds: float = QUIET) -> list[dict[str, object]]:
    """Every frame that arrives within `seconds` (stops early if the connection closes)."""
    frames: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        while (left := deadline - loop.time()) > 0:
            frames.append(await next_frame(client, left))
    except (TimeoutError, ConnectionClosed):
        pass
    return frames


async def all_greet(clients: list[ClientConnection]) -> None:
    """Each client speaks once (so the seed's `data` is bound) and every echo is read."""
    for i, client in enumerate(clients):
        await say(client, f"n{i}", "hello")
        for other in clients:
            assert (await next_frame(other))["content"] == "hello"


async def test_the_copy_works_when_nothing_goes_wrong(seed: SeedServer) -> None:
    """The baseline the failures depart from: a user_msg reaches everyone, sender included, as the seed sends it."""
    async with members(seed.url("ok"), 2) as (a, b):
        await say(a, "A", "안녕")
        expected = {"type": "user_msg", "nickname": "A", "content": "안녕"}
        assert await next_frame(a) == expected
        assert await next_frame(b) == expected


async def ask(client: ClientConnection, question: str) -> None:
    await client.send(json.dumps({"type": "ai_msg", "content": question, "history": []}))


async def assert_room_poisoned(speaker: ClientConnection, listener: ClientConnection) -> None:
    """A dead socket sits before `listener` in the room: a broadcast never reaches it and kills the speaker."""
    await say(speaker, "S", "anyone there?")
    assert await frames_within(listener) == [], "a member after the dead socket still got the broadcast"
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(speaker.recv(), UNIT)


async def test_the_sdk_reaches_the_double_through_its_own_environment_variable(wired: WiredSeed) -> None:
    """No code change points the seed at the double: `GOOGLE_GEMINI_BASE_URL` is read by google-genai itself."""
    async with members(wired.server.url("ai"), 1) as (asker,):
        await ask(asker, "안녕")
        frames = [await next_frame(asker)]
        while frames[-1]["type"] != "ai_done":
            frames.append(await next_frame(asker))
    assert [f["type"] for f in frames[:-1]] == ["ai_chunk"] * (len(frames) - 1) and len(frames) > 1
    async with AsyncDoubleControl(wired.double_url) as control:
        assert len(await control.journal()) == 1


async def test_failure_1_upstream_429_kills_the_asker_and_poisons_the_room(wired: WiredSeed) -> None:
    """Seed failure 1: the SDK's ClientError escapes the handler: no ai_done, the asker's dead socket stays."""
    async with AsyncDoubleControl(wired.double_url) as control:
        await control.queue_fault("rate_limit", count=1)
    async with members(wired.server.url("f1"), 3) as (asker, speaker, listener):
        await ask(asker, "점수 올리는 법?")
        received: list[dict[str, object]] = []
        with pytest.raises(ConnectionClosed):
            while True:
                received.append(await next_frame(asker))
        assert received == [], "the seed copy answered a 429 with frames (an ai_done?)"
        await assert_room_poisoned(speaker, listener)
    assert "429 RESOURCE_EXHAUSTED" in wired.server.log


async def test_failure_5_the_upstream_error_body_is_logged_at_error_with_the_key(wired: WiredSeed) -> None:
    """Seed failure 5: uvicorn logs the unhandled ClientError at ERROR, and its text is the whole upstream body.

    The double's `key_echo` fault answers like Google's CONSUMER_SUSPENDED 403, whose message echoes the key.
    """
    async with AsyncDoubleControl(wired.double_url) as control:
        await control.queue_fault("key_echo", count=1)
    async with members(wired.server.url("f5"), 1) as (asker,):
        await ask(asker, "hi")
        with pytest.raises(ConnectionClosed):
            await next_frame(asker)
    await wired.server.wait_for_log(f"api_key:{FAKE_SEED_API_KEY}")
    log = wired.server.log
    error_at = log.index("ERROR:")
    assert "Exception in ASGI application" in log[error_at : log.index("\n", error_at)]
    assert log.index(FAKE_SEED_API_KEY) > error_at, "the key is logged as part of the ERROR record"


async def test_failure_2_leaving_before_speaking_announces_nothing(seed: SeedServer) -> None:
    """Seed failure 2: `data` is unbound in the `except` block, so the leave notice raises UnboundLocalError."""
    async with members(seed.url("f2"), 2) as (stayer, leaver):
        await leaver.close()
        await seed.wait_for_log("UnboundLocalError")
        assert await frames_within(stayer) == [], "the seed copy announced a leave it cannot announce"


async def test_failure_3_two_leaving_at_once_crash_the_broadcast(seed: SeedServer) -> None:
    """Seed failure 3: a leaver's notice goes to another leaver's already closed socket, which raises.

    The stayer joins last, so it sits after the leavers in the room list and a broadcast that dies never reaches
    it. Whether a close is seen before another leaver's broadcast is a race (usually won on a warm server), so
    four members leave at once (three chances for each broadcast to meet a closed socket), in fresh rooms until
    a leave goes missing: two leaving at once are the smallest case of the same defect.
    """
    leavers = 4
    for attempt in range(TRIES):
        async with members(seed.url(f"f3-{attempt}"), leavers + 1) as clients:
            await all_greet(clients)
            await asyncio.gather(*(leaver.close() for leaver in clients[:leavers]))
            notices = [f for f in await frames_within(clients[-1]) if f.get("type") == "system"]
        if len(notices) < leavers:
            break
    assert len(notices) < leavers, f"every leave was announced in each of {TRIES} rooms"
    await seed.wait_for_log("ClientDisconnected")


@pytest.mark.parametrize("bad_frame", ["not json", '{"content": "no type"}'], ids=["non-json", "no-type"])
async def test_failure_4_bad_frame_kills_the_handler_and_poisons_the_room(seed: SeedServer, bad_frame: str) -> None:
    """Seed failure 4: `receive_json()` / `data["type"]` raise outside the `except`, leaving a dead socket.

    From then on a broadcast in that room fails at the dead socket: members after it get nothing, and the
    speaker's own handler dies too (its `WebSocketDisconnect` handler broadcasts to the dead socket again).
    """
    async with members(seed.url("f4"), 3) as (poisoner, speaker, listener):
        await poisoner.send(bad_frame)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(poisoner.recv(), UNIT)
        await assert_room_poisoned(speaker, listener)
    assert ("JSONDecodeError" if bad_frame == "not json" else "KeyError") in seed.log


async def test_failure_6_one_stalled_reader_stalls_the_room(seed: SeedServer) -> None:
    """Seed failure 6: `await ws.send_json` to a member that does not read blocks the whole broadcast loop.

    The stalled member shrinks its receive buffer so that what piles up is the server's side (uvicorn's
    transport buffer plus the kernel send buffer, which autotunes to 4 MiB here), then never reads again.
    """
    url = seed.url("f6")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", seed.port))
    payload = base64.b64encode(os.urandom(24_576)).decode()  # 32 KiB that permessage-deflate cannot shrink
    async with connect(url, sock=sock, max_queue=1, close_timeout=0.5) as stalled, members(url, 2) as (speaker, other):
        assert stalled is not None
        sent = 0
        stalled_after: int | None = None
        while sent < 2_000:  # 64 MiB: far beyond any buffer on this machine
            await say(speaker, "S", payload)
            sent += 1
            try:
                await next_frame(speaker, UNIT)
                await next_frame(other, UNIT)
            except TimeoutError:
                stalled_after = sent - 1
                break
        assert stalled_after is not None, "the room never stalled: the seed copy no longer awaits each member"
        queued = stalled_after * (len(payload) + 50)
        assert 256 * 1024 < queued < 32 * 1024 * 1024, f"stalled after {queued} bytes queued, not about 4 MB"
        await say(other, "O", "hello?")  # another speaker is stuck behind the same member
        assert await frames_within(speaker) == []
