"""The per-check driver: opens connections into the check's own rooms and knows when a client has joined.

Rooms are `rw-<run>-<slug>-<n>`: unique per run, check and room, so checks run concurrently against one
target (even a shared staging server) without seeing each other. Client `n` of a check connects to endpoint
`n % len(endpoints)` (issue 7: several instances), directly or through the fault proxy.

Joining is where one defect must not fail everything. A client has joined when it receives its welcome
(CONN-003). When the target sends none, `join` falls back, in order, to: its own join notice, the echo of a
probe `user_msg` it sends (a broadcast reaches the sender only once it is a member), and finally a bounded
settle delay. CONN-003 fails on its own; every other check still gets a member to work with.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import string
from collections.abc import Mapping
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.typing import Origin

from roomwire.conformance import frames
from roomwire.conformance.client import Client
from roomwire.conformance.outcomes import Blocked
from roomwire.conformance.proxy import ProxiedConnection
from roomwire.conformance.session import Session
from roomwire.conformance.target import Endpoint, Query
from roomwire.conformance.transcript import Transcript
from roomwire.spec.errors import HarnessError, TargetUnreachable
from roomwire.spec.protocol import ClientProtocol

MAX_FRAME_FROM_TARGET = 16 * 1024 * 1024
USER_AGENT = "roomwire-conformance"


class UpgradeRefused(Blocked):
    """A valid upgrade was refused: CONN-001 fails on its own; other checks are blocked, not failed."""

    def __init__(self, url: str, status: int | None, error: str = "") -> None:
        how = f"HTTP {status}" if status is not None else error
        super().__init__("CONN-001", f"the upgrade of {url} was refused ({how})")
        self.status = status


@dataclass
class Handshake:
    """The outcome of an upgrade attempt that may legitimately be refused (CONN-002, SEC-004)."""

    url: str
    status: int | None  # the HTTP status of a refusal; None when accepted or not answered with a status
    client: Client | None
    error: str = ""  # how the handshake failed when it got no HTTP status (connection closed, garbage)

    @property
    def accepted(self) -> bool:
        return self.client is not None


def _labels() -> itertools.chain[str]:
    letters = string.ascii_uppercase
    return itertools.chain(letters, (f"{a}{n}" for n in itertools.count(2) for a in letters))


class Driver:
    """Connections of one check; closes them all in `aclose`."""

    def __init__(self, session: Session, check_name: str, slug: str) -> None:
        self.session = session
        self.check_name = check_name
        self.slug = slug
        self.clients: list[Client] = []
        self.proxied: dict[str, ProxiedConnection] = {}
        self.transcripts: list[Transcript] = []
        self._labels = _labels()
        self._ordinal = itertools.count()
        self._tokens = itertools.count(1)

    def room(self, n: int = 1) -> str:
        return f"rw-{self.session.run_id}-{self.slug}-{n}"[:64]

    def token(self, tag: str = "t") -> str:
        """A text unique in the run (checks put it in content to find their frames among others')."""
        return f"{tag}-{self.session.run_id}-{self.slug}-{next(self._tokens)}"

    def _kwargs(self, origin: str | None, headers: Mapping[str, str] | None) -> dict[str, object]:
        timeouts = self.session.timeouts
        kwargs: dict[str, object] = {
            "open_timeout": timeouts.connect,
            "ping_interval": None,  # the target's keepalive is under test, not ours (PRES-004)
            "ping_timeout": None,
            "close_timeout": timeouts.close,
            "max_size": MAX_FRAME_FROM_TARGET,
            "compression": None,  # frames on the wire are exactly what we sized them to be (LIMIT-001)
            "proxy": None,
            "user_agent_header": USER_AGENT,
        }
        if origin is not None:
            kwargs["origin"] = Origin(origin)
        if headers:
            kwargs["additional_headers"] = dict(headers)
        context = self.session.target.ssl_context()
        if context is not None:
            kwargs["ssl"] = context
        return kwargs

    async def _open(
        self,
        url: str,
        endpoint: Endpoint,
        kwargs: dict[str, object],
        via_proxy: bool,
        slow_reader: bool,
        transcript: Transcript,
    ) -> object:
        if via_proxy or slow_reader:
            proxy = await self.session.proxy_for(endpoint, slow_reader=slow_reader)
            kwargs.update(host="127.0.0.1", port=proxy.listen_port)
            if endpoint.secure:
                kwargs["server_hostname"] = endpoint.host
        try:
            return await self._handshake(url, kwargs, transcript)
        except InvalidStatus as exc:
            return exc.response.status_code
        except (InvalidHandshake, EOFError) as exc:  # it answered, but not with an upgrade or a status
            return f"the handshake failed: {type(exc).__name__}: {exc}"
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise TargetUnreachable(f"cannot open {url}: {type(exc).__name__}: {exc}") from exc

    async def _handshake(self, url: str, kwargs: dict[str, object], transcript: Transcript) -> ClientConnection:
        """`connect` within `timeouts.connect` of the suite's attention (roomwire.conformance.stalls): a stall
        of the suite's own loop during the handshake extends its deadline, bounded, and the transcript says so."""
        options = dict(kwargs)
        within = float(options.pop("open_timeout"))  # type: ignore[arg-type]
        wait = self.session.stalls.wait(within)
        opening = asyncio.ensure_future(connect(url, open_timeout=None, **options))  # type: ignore[arg-type]
        try:
            while not opening.done():
                remaining = wait.remaining()
                if remaining <= 0:
                    credit = wait.deadline - wait.started - within
                    given = f" and {credit:.1f} s for stalls of the suite's own loop" if credit > 0 else ""
                    raise TimeoutError(f"timed out during opening handshake after {within:.1f} s{given}")
                await asyncio.wait({opening}, timeout=remaining)
        finally:
            if not opening.done():
                opening.cancel()
                await asyncio.gather(opening, return_exceptions=True)
        connection = opening.result()
        stalled = wait.overdue()
        if stalled is not None:  # in time only thanks to the credit
            took = asyncio.get_running_loop().time() - wait.started
            transcript.note(
                f"the handshake took {took:.1f} s, {stalled:.1f} s of it a stall of the suite's own event loop "
                f"(harness side), not counted against the target's {within:.1f} s"
            )
        return connection

    async def attempt(
        self,
        room: str,
        *,
        nickname: str | None = None,
        params: Query | None = None,
        origin: str | None = None,
        headers: Mapping[str, str] | None = None,
        via_proxy: bool = False,
        slow_reader: bool = False,
        raw_room: bool = False,
        frame_nickname: bool = True,
        endpoint_index: int | None = None,
        validate: bool = True,
    ) -> Handshake:
        """Try an upgrade; a refusal is an outcome (status), not an exception."""
        ordinal = next(self._ordinal)
        endpoint = self.session.target.endpoint(ordinal if endpoint_index is None else endpoint_index)
        url = endpoint.url(room, params, raw_room=raw_room)
        label = next(self._labels)
        transcript = Transcript(label, url, self.session.clock)
        self.transcripts.append(transcript)
        self.session.transcripts.append(transcript)
        transcript.note(f"connect{' via fault proxy' if via_proxy or slow_reader else ''}, origin={origin!r}")
        result = await self._open(url, endpoint, self._kwargs(origin, headers), via_proxy, slow_reader, transcript)
        if isinstance(result, int):
            transcript.note(f"upgrade refused: HTTP {result}")
            return Handshake(url, result, None)
        if isinstance(result, str):
            transcript.note(f"upgrade refused: {result}")
            return Handshake(url, None, None, result)
        client = Client(
            label=label,
            ws=result,  # type: ignore[arg-type]
            protocol=ClientProtocol(nickname=nickname),
            transcript=transcript,
            watch=self.session.watch,
            check=self.check_name,
            send_timeout=self.session.timeouts.send,
            nickname=nickname if frame_nickname else None,
            validate=validate,
            stalls=self.session.stalls,
        )
        self.clients.append(client)
        if via_proxy or slow_reader:
            proxy = await self.session.proxy_for(endpoint, slow_reader=slow_reader)
            connection = proxy.connection(client.local_port())
            if connection is None:
                raise HarnessError(f"the fault proxy lost track of connection {label}")
            self.proxied[label] = connection
        return Handshake(url, None, client)

    async def connect(
        self,
        room: str,
        *,
        nickname: str | None = None,
        query_nickname: bool = True,
        params: Mapping[str, str] | None = None,
        origin: str | None = None,
        via_proxy: bool = False,
        slow_reader: bool = False,
        frame_nickname: bool = True,
        validate: bool = True,
    ) -> Client:
        """Open a connection that must be accepted; a refusal blocks the check (CONN-001 reports it).

        `nickname` goes in the query (unless `query_nickname` is False) and in every frame the client sends
        (unless `frame_nickname` is False), as the seed's page sends it on every `user_msg`.
        """
        query = dict(params or {})
        if nickname is not None and query_nickname:
            query.setdefault("nickname", nickname)
        outcome = await self.attempt(
            room,
            nickname=nickname,
            params=query,
            origin=origin,
            via_proxy=via_proxy,
            slow_reader=slow_reader,
            frame_nickname=frame_nickname,
            validate=validate,
        )
        if outcome.client is None:
            raise UpgradeRefused(outcome.url, outcome.status, outcome.error)
        return outcome.client

    async def join(
        self,
        room: str,
        nickname: str | None = None,
        *,
        probe: bool = True,
        query_nickname: bool = True,
        params: Mapping[str, str] | None = None,
        via_proxy: bool = False,
        slow_reader: bool = False,
        frame_nickname: bool = True,
        validate: bool = True,
    ) -> Client:
        """Connect and wait until the client is a member (see the module docstring)."""
        client = await self.connect(
            room,
            nickname=nickname,
            query_nickname=query_nickname,
            params=params,
            via_proxy=via_proxy,
            slow_reader=slow_reader,
            frame_nickname=frame_nickname,
            validate=validate,
        )
        await self.await_membership(client, probe=probe)
        return client

    async def await_membership(self, client: Client, *, probe: bool = True) -> str:
        """How membership was established: 'welcome', 'join', 'echo' or 'settled'; 'closed' when it was not."""
        session = self.session
        if await client.wait_for(frames.system("welcome"), session.welcome_wait()) is not None:
            session.welcome_seen = True
            return "welcome"
        if session.welcome_seen is None:
            session.welcome_seen = False
        joined = frames.join(client.nickname) if client.nickname else frames.join()
        if client.find(joined):
            client.transcript.note("no welcome; membership taken from the join notice")
            return "join"
        if probe and not client.closed.is_set():
            token = self.token("probe")
            await client.say(f"rw-probe {token}")
            if await client.wait_for(frames.user_msg(containing=token), session.timeouts.frame) is not None:
                client.transcript.note("no welcome; membership taken from the probe's echo")
                return "echo"
        if client.closed.is_set():  # no member to wait for (a check's next send says NotSent)
            client.transcript.note(f"the target closed the connection before it joined ({client.how_closed()})")
            return "closed"
        await asyncio.sleep(session.timeouts.settle)
        client.transcript.note("no welcome, join notice or echo: membership assumed after a settle delay")
        return "settled"

    def proxy_of(self, client: Client) -> ProxiedConnection:
        connection = self.proxied.get(client.label)
        if connection is None:
            raise HarnessError(f"connection {client.label} was not opened through the fault proxy")
        return connection

    async def aclose(self) -> None:
        """Close every connection (cleanly when the network allows) and stop their readers."""
        timeout = self.session.timeouts(0.5)

        async def end(client: Client) -> None:
            broken = self.proxied.get(client.label)
            if broken is not None and (broken.blackholed or broken.reading_stalled or broken.dropped):
                client.abort()
                broken.close()
            elif not client.closed.is_set():
                await client.close(timeout)
            await client.finish()

        await asyncio.gather(*(end(c) for c in self.clients), return_exceptions=True)
