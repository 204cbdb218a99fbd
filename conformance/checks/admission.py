"""Who gets in, and how often (issue 13): the room as sent (CONN-002's `%61`), the hosts a server serves (SEC-006),
the client address behind proxies (SEC-007), loopback origins (SEC-010), joins of a room per address (LIMIT-008)
and connections of one address before their upgrade (LIMIT-009).

The Host-header checks write their upgrade by hand (`raw_http`): `websockets` sets `Host` itself. The churn checks
open and close connections in a fresh room, so the per-room budget they spend is nobody else's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from roomwire.conformance import frames
from roomwire.conformance.checks.common import members
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.outcomes import Blocked
from roomwire.conformance.raw_http import RawConnection, open_raw, upgrade_status
from roomwire.conformance.registry import requirement
from roomwire.spec.limits import MAX_PENDING_PER_ADDRESS, MAX_REQUEST_TIMEOUT_S

#: Join/leave cycles the suite makes at most to exceed a room's join budget (LIMIT-008, SEC-007).
MAX_CYCLES = 150
#: Half-sent requests LIMIT-009 opens: over the spec's bound by enough to tell a bound from none.
HALF_REQUESTS = MAX_PENDING_PER_ADDRESS + 16
_HALF_REQUEST_HEADERS = "Upgrade: websocket\r\nConnection: Upg"


def _escaped(text: str) -> str:
    return "".join(f"%{ord(ch):02X}" for ch in text)


async def _status(ctx: CheckContext, room_path: str, headers: Mapping[str, str] | None = None) -> int | str:
    endpoint = ctx.session.target.endpoint(0)
    return await upgrade_status(endpoint, ctx.session.target.ssl_context(), room_path, headers, ctx.timeouts.connect)


def _refused(status: int | str) -> bool:
    return isinstance(status, int) and 400 <= status < 500


@requirement("CONN-002")
async def a_percent_escaped_room_id_is_refused_not_decoded(ctx: CheckContext) -> None:
    """`/api/v1/ws/chat/%61` is refused with a 4xx: the room id is judged as sent, never decoded into a room."""
    room = ctx.room()
    (ann,) = await members(ctx, 1, room=room)
    since = ann.mark()
    cases = {
        "every character escaped": _escaped(room),
        "the last character escaped": room[:-1] + _escaped(room[-1]),
    }
    wrong = []
    for what, path in cases.items():
        status = await _status(ctx, path)
        if not _refused(status):
            wrong.append(f"{what} ({path}): HTTP {status}")
    if wrong:
        raise ctx.violation(f"a 4xx for the room id {room!r} percent-escaped", "; ".join(wrong))
    await ctx.expect_none([ann], frames.join(), "a join from an escaped copy of the room's name", since=[since])
    ctx.note(f"{len(cases)} escaped spellings of {room!r} refused; the room saw no join")


@requirement("SEC-006")
async def an_upgrade_for_a_foreign_host_is_refused(ctx: CheckContext) -> None:
    """`Host: <name>.example.invalid` with the matching Origin (the DNS-rebinding shape) gets a 4xx."""
    endpoint = ctx.session.target.endpoint(0)
    own = await _status(ctx, ctx.room(), {"Origin": endpoint.own_origin})
    if own != 101:
        raise ctx.skip(f"the target answered the suite's hand-written upgrade with its own Host with {own}, not 101")
    name = f"{ctx.token('rebind').lower()}.example.invalid"
    rebound = f"{name}:{endpoint.port}"
    status = await _status(ctx, ctx.room(), {"Host": rebound, "Origin": f"http://{rebound}"})
    if not _refused(status):
        raise ctx.violation(f"a 4xx for an upgrade with Host {rebound} and Origin http://{rebound}", f"HTTP {status}")
    ctx.note(f"Host {name} refused with HTTP {status}; the target's own host accepted")


@requirement("SEC-010")
async def a_loopback_origin_is_refused_for_a_host_that_is_not_loopback(ctx: CheckContext) -> None:
    """A loopback Origin on an upgrade whose Host is not loopback (here 192.0.2.10, an address) gets a 4xx."""
    host = f"192.0.2.10:{ctx.session.target.endpoint(0).port}"  # TEST-NET-1: documentation only, never routed
    wrong = []
    for origin in ("http://localhost:5173", "http://127.0.0.1:8080", "https://[::1]:3000"):
        status = await _status(ctx, ctx.room(), {"Host": host, "Origin": origin})
        if not _refused(status):
            wrong.append(f"{origin}: HTTP {status}")
    if wrong:
        raise ctx.violation(f"a 4xx for loopback origins on an upgrade with Host {host}", "; ".join(wrong))
    ctx.note(f"three loopback origins refused for Host {host}")


@dataclass
class Cycles:
    """Join/leave cycles in one room: how many were welcomed, and the first refusal (if any)."""

    welcomed: int = 0
    refusal: Client | None = None
    refused_status: int | str | None = None
    names: list[str] = field(default_factory=list)


async def _cycle(ctx: CheckContext, room: str, name: str, headers: Mapping[str, str] | None) -> Client | int | str:
    """One connection to `room`: the client once it is welcomed or told why not, or the refused upgrade's status."""
    outcome = await ctx.driver.attempt(  # one instance: each counts its own joins (SPEC.md LIMIT-008)
        room, nickname=name, params={"nickname": name}, headers=headers, endpoint_index=0
    )
    if outcome.client is None:
        return outcome.status if outcome.status is not None else outcome.error
    client = outcome.client
    told = frames.either(frames.system("welcome"), frames.system("error"))
    if await client.wait_for(told, ctx.timeouts.welcome) is None and not client.closed.is_set():
        raise Blocked("CONN-003", "no welcome, so a join cannot be told from a refused one")
    return client


async def churn(
    ctx: CheckContext, room: str, *, spoof: bool = False, budget_used: int = 0, prefix: str = "C"
) -> Cycles:
    """Join and leave `room` until a join is refused, or until more joins than the advertised budget can have
    admitted by now (join_burst plus join_rate_per_min per elapsed minute) have been welcomed. `spoof` sends each
    with its own X-Forwarded-For (SEC-007)."""
    limits, clock = ctx.limits, ctx.session.clock
    started, result = clock.now(), Cycles()
    while result.welcomed < MAX_CYCLES:
        admitted = limits.join_burst + limits.join_rate_per_min * (clock.now() - started) / 60
        if result.welcomed + budget_used > admitted + 3:
            break
        name = f"{prefix}{result.welcomed}"
        headers = {"X-Forwarded-For": f"198.51.100.{result.welcomed % 250 + 1}"} if spoof else None
        got = await _cycle(ctx, room, name, headers)
        if not isinstance(got, Client):
            result.refused_status = got
            return result
        if got.find(frames.error("too_many_connections")) or not got.find(frames.system("welcome")):
            result.refusal = got
            return result
        result.welcomed += 1
        result.names.append(name)
        await got.close(ctx.timeouts.close)
    return result


@requirement("LIMIT-008")
async def joining_a_room_too_often_is_refused_unannounced(ctx: CheckContext) -> None:
    """Join/leave cycles in one room beyond join_burst get too_many_connections (retry_after) and 1013, with no
    welcome and no join; the cycles within the advertised budget are all welcomed."""
    if ctx.limits.join_burst + 10 > MAX_CYCLES:
        raise ctx.skip(f"the advertised join_burst {ctx.limits.join_burst} is more than {MAX_CYCLES} cycles exceed")
    room = ctx.room()
    (watcher,) = await members(ctx, 1, room=room)
    cycles = await churn(ctx, room, budget_used=1)
    if cycles.refused_status is not None:
        raise ctx.violation(
            "a refused join is accepted, told why and closed (LIMIT-006's way)", f"HTTP {cycles.refused_status}"
        )
    refused = cycles.refusal
    if refused is None:
        raise ctx.violation(
            f"too_many_connections within {cycles.welcomed + 1} joins of one room (join_burst {ctx.limits.join_burst})",
            f"all {cycles.welcomed} cycles welcomed",
        )
    if cycles.welcomed + 1 < ctx.limits.join_burst:
        raise ctx.violation(
            f"every join within join_burst {ctx.limits.join_burst} welcomed", f"refused after {cycles.welcomed + 1}"
        )
    notice = refused.find(frames.error("too_many_connections"))
    retry = frames.data(notice[0]).get("retry_after") if notice else None
    if not notice or not isinstance(retry, int) or retry < 1:
        raise ctx.violation("too_many_connections with retry_after >= 1", refused.describe())
    await ctx.expect_close(refused, [1013], "a join over the room's join budget")
    if refused.find(frames.system("welcome")):
        raise ctx.violation("no welcome for a refused join", refused.describe())
    name = refused.nickname or ""
    await ctx.expect_none([watcher], frames.join(name), f"a join for the refused connection {name}")
    ctx.note(f"{cycles.welcomed + 1} joins welcomed, the next refused (retry_after {retry}, 1013, unannounced)")


@requirement("SEC-007")
async def a_client_cannot_choose_its_address_with_x_forwarded_for(ctx: CheckContext) -> None:
    """Join/leave cycles that each claim another X-Forwarded-For are refused like plain ones (LIMIT-008): the
    header of a client that is not a trusted proxy does not change the address its limits count."""
    if ctx.limits.join_burst + 10 > MAX_CYCLES:
        raise ctx.skip(f"the advertised join_burst {ctx.limits.join_burst} is more than {MAX_CYCLES} cycles exceed")
    spoofed = await churn(ctx, ctx.room(), spoof=True, prefix="S")
    if spoofed.refusal is not None or spoofed.refused_status is not None:
        ctx.note(f"refused after {spoofed.welcomed} cycles with X-Forwarded-For, as without")
        return
    plain = await churn(ctx, ctx.room(), prefix="P")
    if plain.refusal is None and plain.refused_status is None:
        raise ctx.skip(f"no per-address join limit seen within {plain.welcomed} plain cycles, so none to evade")
    raise ctx.violation(
        "joins that claim other addresses in X-Forwarded-For are limited as plain ones",
        f"{spoofed.welcomed} cycles with a new X-Forwarded-For each were all welcomed; plain cycles were refused "
        f"after {plain.welcomed}",
    )


async def _open_half_requests(ctx: CheckContext, count: int) -> list[RawConnection]:
    endpoint, context = ctx.session.target.endpoint(0), ctx.session.target.ssl_context()
    head = f"GET {endpoint.path_for(ctx.room())} HTTP/1.1\r\nHost: {endpoint.netloc}\r\n{_HALF_REQUEST_HEADERS}"
    opened: list[RawConnection] = []
    for _ in range(count):
        try:
            connection = await open_raw(endpoint, context, ctx.timeouts.connect)
        except (OSError, TimeoutError):
            continue  # refused at once: as good as closed
        connection.writer.write(head.encode("latin-1"))
        opened.append(connection)
    return opened


@requirement("LIMIT-009", exclusive=True, order=5, slow=True)
async def unfinished_requests_are_bounded_per_address_and_in_time(ctx: CheckContext) -> None:
    """Of 80 connections that send half a request and then nothing, at most 64 stay open, and every one is
    closed within 30 seconds."""
    connections = await _open_half_requests(ctx, HALF_REQUESTS)
    try:
        states = [asyncio.ensure_future(c.ended(MAX_REQUEST_TIMEOUT_S + ctx.timeouts(5.0))) for c in connections]
        deadline = asyncio.get_running_loop().time() + ctx.timeouts(3.0)
        while sum(not s.done() for s in states) > MAX_PENDING_PER_ADDRESS:
            if asyncio.get_running_loop().time() > deadline:
                still = sum(not s.done() for s in states)
                raise ctx.violation(
                    f"at most {MAX_PENDING_PER_ADDRESS} of {HALF_REQUESTS} half-sent requests from one address open",
                    f"{still} still open after {ctx.timeouts(3.0):.0f} s",
                )
            await asyncio.sleep(0.05)
        cut_at_once = HALF_REQUESTS - sum(not s.done() for s in states)
        started = asyncio.get_running_loop().time()
        ended = await asyncio.gather(*states)
        took = asyncio.get_running_loop().time() - started
        if not all(ended):
            raise ctx.violation(
                f"every half-sent request closed within {MAX_REQUEST_TIMEOUT_S:.0f} s",
                f"{ended.count(False)} still open after {took:.0f} s",
            )
    finally:
        for connection in connections:
            connection.close()
    ctx.note(f"{cut_at_once} of {HALF_REQUESTS} closed at once, the rest within {took:.1f} s")
