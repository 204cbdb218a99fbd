"""SPEC.md §13, secrets and the browser boundary: SEC-001 … SEC-005.

Key checks need a canary: a fake key configured in the target, known to the suite (`--canary-key`, or the
bundled target's own). Before judging, `prove_canary` reads the double's journal entry of the run's shared plain
question (checks/exchanges.py): only if the key fingerprint upstream saw is the canary's does "the canary appears
nowhere" mean anything. Every frame and close reason of the whole run is searched for it as it arrives
(transcript.LeakWatch); SEC-003 runs last (exclusive) so its verdict covers all of them, the upstream errors that
echo the key (`KEY_ECHOES`) included, plus the target's HTTP responses.

With `--browser PAGE_URL`, SEC-003 and SEC-005 have a browser side too: the page is loaded and used in chromium
(checks/page.py, roomwire.conformance.browser) and everything DevTools shows is searched for the canary. A find
is a FAIL even when the canary is not proven (the configured key reached the browser); no find is a verdict only
once the double's journal proves the target uses the canary, as for the other key checks.
"""

from __future__ import annotations

from roomwire.conformance.checks.cases import case_exchanges, upstream_case
from roomwire.conformance.checks.exchanges import PLAIN
from roomwire.conformance.checks.page import BROWSER_ORDER, SCAN, scan_in_browser
from roomwire.conformance.context import CheckContext
from roomwire.conformance.http_probe import Fetched, http_client, page_and_assets, server_responses
from roomwire.conformance.outcomes import Skip
from roomwire.conformance.registry import Need, requirement
from roomwire.conformance.shared import shared
from roomwire.conformance.target import Endpoint
from roomwire.conformance.upstream import UpstreamCall, fingerprint
from roomwire.spec.hosts import is_loopback_host


async def traced_call(ctx: CheckContext) -> UpstreamCall:
    """The shared plain question as the double journaled it; skips when the target made no upstream call for it."""
    asked = await shared(ctx, PLAIN)
    if asked.call is None:
        raise ctx.skip("the target made no upstream call for a question (is it wired to the double?)")
    return asked.call


async def prove_canary(ctx: CheckContext) -> UpstreamCall:
    """The journal shows the target sending the canary key; else SKIP saying what it sent instead."""
    canary = ctx.session.canary or ""
    try:
        proof = await traced_call(ctx)
    except Skip as exc:
        raise ctx.skip(f"could not trace a question upstream to prove the canary: {exc.reason}") from None
    if proof.key_fingerprint != fingerprint(canary):
        raise ctx.skip(
            f"the target does not send the canary key upstream (the double saw key fingerprint "
            f"{proof.key_fingerprint or 'none'}, the canary's is {fingerprint(canary)}): "
            "configure the canary as its key"
        )
    return proof


@requirement("SEC-001", needs=[Need.CANARY], shares=[PLAIN])
async def the_key_comes_from_the_servers_configuration(ctx: CheckContext) -> None:
    """The key the target uses upstream is the one configured in it (the canary's fingerprint in the journal).

    When the suite configured the canary itself (the bundled target), another key upstream is this failure; for a
    URL target it may be a configuration slip of the person running the suite, so the check cannot judge."""
    if ctx.session.canary_configured:
        canary = ctx.session.canary or ""
        call = await traced_call(ctx)
        if call.key_fingerprint != fingerprint(canary):
            raise ctx.violation(
                f"upstream gets the key the suite configured (fingerprint {fingerprint(canary)})",
                f"upstream got key fingerprint {call.key_fingerprint or 'none'}",
            )
    proof = await prove_canary(ctx)
    ctx.note(
        f"upstream saw the configured key (fingerprint {proof.key_fingerprint}); "
        "refusing to start without a key is not observable from outside"
    )


@requirement("SEC-002", needs=[Need.DOUBLE], shares=[PLAIN])
async def the_key_travels_only_in_the_x_goog_api_key_header(ctx: CheckContext) -> None:
    """Upstream receives the key in x-goog-api-key, never as ?key= in the URL."""
    call = await traced_call(ctx)
    if call.key_location == "none":
        raise ctx.skip("the target sent no key upstream at all")
    if call.key_location != "header" or "key" in call.query:
        raise ctx.violation(
            "the key only in the x-goog-api-key header",
            f"the key was in the {call.key_location} (query {sorted(call.query)})",
        )
    ctx.note("key in x-goog-api-key, none in the URL")


def _scan(ctx: CheckContext, fetched: list[Fetched], requirement_id: str) -> None:
    for item in fetched:
        for where, text in (("headers", item.headers), ("body", item.body)):
            for sighting in ctx.session.watch.scan(
                text, where=f"HTTP GET {item.url} {where}", check=ctx.check.name, connection="http"
            ):
                raise ctx.violation(
                    "the key in no HTTP response", f"{sighting.where}: {sighting.excerpt}", requirement_id
                )


#: Upstream errors whose bodies hold the key: in the message and details (403), in a DebugInfo detail only (400).
KEY_ECHOES = ("key_echo", "invalid_key_debug")


@requirement("SEC-003", needs=[Need.CANARY], exclusive=True, order=0, shares=(PLAIN, *case_exchanges(*KEY_ECHOES)))
async def the_key_appears_in_no_frame_close_reason_or_response(ctx: CheckContext) -> None:
    """Not in any frame or close reason of the run (upstream errors that echo the key included), nor in any HTTP
    response."""
    await prove_canary(ctx)
    for name in KEY_ECHOES:  # upstream echoed the key in its error body: no notice may
        await upstream_case(ctx, name)
    endpoint = ctx.session.target.endpoint(0)
    async with http_client(ctx.session.target.ssl_context() or False, ctx.timeouts.frame) as client:
        _scan(ctx, await server_responses(client, endpoint, ctx.room(), ctx.token("missing")), "SEC-003")
    sightings = [s for s in ctx.session.watch.sightings if s.secret_name == "canary key"]
    if sightings:
        first = sightings[0]
        raise ctx.violation(
            "the key in no frame or close reason",
            f"{len(sightings)} sighting(s), first in a {first.where} of {first.check}/{first.connection}: "
            f"{first.excerpt}",
        )
    ctx.note(
        f"canary absent from {ctx.session.watch.searched} frames, close reasons and responses "
        "(upstream errors that echo it in their message, details and DebugInfo included)"
    )


def allowed_origins(ctx: CheckContext) -> list[tuple[str, str]]:
    """Origins the target must accept: `--allowed-origin`'s when given (the deployment's own list), else SPEC.md
    §13's default: the target's own host, and loopback origins on other ports when that host is loopback (SEC-010
    refuses them for any other Host, so a staging server must not be judged by them)."""
    if ctx.session.allowed_origins:
        return [("an origin the deployment allows (--allowed-origin)", o) for o in ctx.session.allowed_origins]
    return default_allowed_origins(ctx.session.target.endpoint(0))


def default_allowed_origins(endpoint: Endpoint) -> list[tuple[str, str]]:
    """SEC-004's default for a server at `endpoint`: its own origin, and loopback ones when it is loopback."""
    own = [("the server's own host", endpoint.own_origin)]
    if not is_loopback_host(endpoint.host):
        return own  # SEC-010: a loopback Origin is refused when the Host is not loopback
    return [
        *own,
        ("a loopback origin on another port", "http://localhost:5173"),
        ("a loopback address on another port", "http://127.0.0.1:8080"),
        ("the IPv6 loopback", "https://[::1]:3000"),
    ]


def look_alike_origins(ctx: CheckContext) -> list[tuple[str, str]]:
    """Origins that resemble an allowed one and must be refused (SPEC.md §13's Origin matching)."""
    endpoint = ctx.session.target.endpoint(0)
    host, port = endpoint.host, endpoint.port
    wrapped = f"[{host}]" if ":" in host else host
    cases = [
        ("a foreign host", f"https://{ctx.token('evil')}.example.invalid"),
        ("prefix: localhost.evil.example", "http://localhost.evil.example"),
        ("prefix: 127.0.0.1.evil.example", "http://127.0.0.1.evil.example"),
        ("prefix: the server's host in a foreign one", f"http://{wrapped}.evil.example:{port}"),
        ("suffix: evil-localhost", "http://evil-localhost"),
        ("suffix: a subdomain of localhost", "http://evil.localhost"),
        ("userinfo: localhost@evil.example", "http://localhost@evil.example"),
        ("userinfo: the server's host and port before @evil.example", f"http://{wrapped}:{port}@evil.example"),
        ("userinfo in front of a loopback host", "http://evil.example@127.0.0.1"),
        ("port: a foreign host on the server's port", f"http://evil.example:{port}"),
        ("scheme: ftp://localhost", "ftp://localhost"),
        ("scheme: ws://127.0.0.1", "ws://127.0.0.1"),
        ("scheme: the opaque origin null", "null"),
        ("case: LOCALHOST.EVIL.EXAMPLE", "http://LOCALHOST.EVIL.EXAMPLE"),
    ]
    if not is_loopback_host(host):  # the own host on another port is another origin (loopback: any port)
        cases.append(
            ("port: the server's host on another port", f"{endpoint.own_origin.split('://')[0]}://{wrapped}:1")
        )
    return cases


@requirement("SEC-004")
async def a_foreign_origin_is_refused_with_403(ctx: CheckContext) -> None:
    """A foreign Origin, and every look-alike of an allowed one (prefix, suffix, userinfo, port, scheme, case), gets
    403; the server's own host, loopback origins and a request without Origin are accepted."""
    room = ctx.room()
    wrong = []
    for what, origin in look_alike_origins(ctx):
        outcome = await ctx.driver.attempt(room, origin=origin)
        if outcome.client is not None or outcome.status != 403:
            wrong.append(f"{what} ({origin}): {'accepted' if outcome.client else f'HTTP {outcome.status}'}")
        if outcome.client is not None:
            await outcome.client.close(ctx.timeouts.close)
    for what, origin in [*allowed_origins(ctx), ("no Origin header (not a browser)", "")]:
        outcome = await ctx.driver.attempt(room, origin=origin or None)
        if outcome.client is None:
            wrong.append(f"{what} ({origin or 'none'}): refused with HTTP {outcome.status or outcome.error}")
        else:
            await outcome.client.close(ctx.timeouts.close)
    if wrong:
        raise ctx.violation(
            "HTTP 403 for foreign and look-alike origins; the upgrade accepted from allowed ones and without Origin",
            "; ".join(wrong),
        )
    ctx.note(f"{len(look_alike_origins(ctx))} foreign and look-alike origins refused with 403; allowed ones accepted")


@requirement("SEC-005", needs=[Need.CANARY], shares=[PLAIN])
async def the_page_and_its_assets_hold_no_key(ctx: CheckContext) -> None:
    """The page at / and the scripts and styles it loads from the same origin do not contain the key."""
    await prove_canary(ctx)
    endpoint = ctx.session.target.endpoint(0)
    async with http_client(ctx.session.target.ssl_context() or False, ctx.timeouts.frame) as client:
        fetched = await page_and_assets(client, endpoint)
    _scan(ctx, fetched, "SEC-005")
    page = fetched[0]
    served = f"{len(fetched)} resource(s)" if page.status == 200 else f"no page at / (HTTP {page.status or page.error})"
    ctx.note(f"{served} searched over HTTP")


#: What each key requirement's browser side searched (browser_evidence.requirement_for splits the places).
_BROWSER_SIDE = {
    "SEC-003": (
        "the canary key in nothing the browser received from the target: WebSocket frames and URLs, handshake and "
        "HTTP response headers, API response bodies",
        ("ws_frame_received", "response_header", "response_body", "ws_url"),
    ),
    "SEC-005": (
        "the canary key nowhere the page holds or runs: DOM, form values, scripts, cookies, localStorage, "
        "sessionStorage, page globals, console, requests the page made",
        ("dom", "form_value", "script", "cookie", "local_storage", "session_storage", "global", "console", "request"),
    ),
}


async def browser_key_verdict(ctx: CheckContext, requirement_id: str) -> None:
    """The browser side of SEC-003/SEC-005: a find fails; no find passes only for a proven canary."""
    if ctx.session.upstream is None:
        unproven: str | None = "without --double the suite cannot prove that the target uses this canary as its key"
    else:
        try:
            await prove_canary(ctx)
            unproven = None
        except Skip as exc:
            unproven = exc.reason
    scan = await scan_in_browser(ctx)
    ctx.attach("browser_scan", scan.to_json())
    expected, places = _BROWSER_SIDE[requirement_id]
    noted = f"; the scan could not do everything: {'; '.join(scan.notes)}" if scan.notes else ""
    found = [f for f in scan.findings if f.requirement == requirement_id]
    if found:
        times = sum(f.count for f in found)
        actual = f"found it {times} time(s) in {len(found)} place(s): " + "; ".join(f.describe() for f in found)
        raise ctx.violation(expected, actual + noted)
    if unproven is not None:
        raise ctx.skip(f"the browser showed no canary, but that is no verdict: {unproven}{noted}")
    if requirement_id == "SEC-003" and not scan.searched.get("ws_frame_received"):
        raise ctx.skip(f"the browser received no WebSocket frame from the target: nothing of the wire to search{noted}")
    counts = ", ".join(f"{scan.searched[p]} {p}" for p in places if scan.searched.get(p))
    ctx.note(f"no canary in the browser at {scan.page_url} ({counts}){noted}")


BROWSER_KEY = [Need.CANARY_KEY, Need.BROWSER]


@requirement("SEC-003", needs=BROWSER_KEY, exclusive=True, order=BROWSER_ORDER, shares=[PLAIN, SCAN])
async def the_browser_receives_no_key_in_frames_or_responses(ctx: CheckContext) -> None:
    """While the page is used (chat, AI, a key_echo fault), nothing the browser receives holds the key."""
    await browser_key_verdict(ctx, "SEC-003")


@requirement("SEC-005", needs=BROWSER_KEY, exclusive=True, order=BROWSER_ORDER, shares=[PLAIN, SCAN])
async def the_browser_holds_no_key_in_page_scripts_storage_or_cookies(ctx: CheckContext) -> None:
    """After use, the page's DOM, scripts, cookies, storage, globals and console hold no key."""
    await browser_key_verdict(ctx, "SEC-005")
