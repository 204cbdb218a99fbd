"""The key stays secret and the upgrade is guarded (SEC-002..004, UP-008, ERR-003, CONN-002)."""

from __future__ import annotations

import logging

import httpx
import pytest

from roomwire.gemini_double import AsyncDoubleControl
from roomwire.reference.settings import Secret
from tests.reference.helpers import Client, double_server, raw_upgrade, serving

#: A canary of the right shape that no real project has (FAKE test key).
CANARY = "AIzaCANARY-roomwire-FAKE-test-key-00001"
assert len(CANARY) == 39


@pytest.mark.parametrize("kind", ["key_echo", "key_echo_2024", "invalid_key_debug"])
async def test_an_upstream_body_echoing_the_key_reaches_no_frame_log_or_page(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The key in `message` (2024), also in `details[]` ErrorInfo metadata and LocalizedMessage (today's 403), or
    only in a DebugInfo detail (400 API_KEY_INVALID): none of it reaches the asker, a log or a page."""
    caplog.set_level(logging.DEBUG)
    async with double_server() as double:
        real = {"gemini": "real", "gemini_api_key": Secret(CANARY)}
        async with serving(double, **real) as server, Client.connect(server.ws("r")) as a:
            await a.joined()
            async with AsyncDoubleControl(double.base_url) as control:
                await control.queue_fault(kind, match="leak")
                await a.ask("leak the key", id="q")
                error = await a.error("upstream_error")  # UP-002: a fixed text
                await a.answer("q")
                (entry,) = await control.journal(match="leak")
            assert entry["key"]["location"] == "header" and entry["outcome"] == kind  # the double echoed it
            await a.say("after")
            await a.expect(lambda f: f["type"] == "user_msg")
            async with httpx.AsyncClient(base_url=server.http) as http:
                pages = [await http.get(path) for path in ("/healthz", "/metrics", "/", "/api/v1/ws/chat/r")]
            server.hub.begin_shutdown()
            code, reason = await a.closed()
    assert code == 1012
    assert "AIza" not in error["content"]
    assert all(CANARY not in f for f in (item.raw for item in a.protocol.received))  # SEC-003: no frame
    assert CANARY not in (reason or "")  # no close reason
    for page in pages:
        assert CANARY not in page.text and CANARY not in str(page.headers)  # no HTTP response
    for record in caplog.records:  # no log record, however it is formatted
        assert CANARY not in record.getMessage() and CANARY not in (record.exc_text or "")
    assert CANARY not in caplog.text
    status = 400 if kind == "invalid_key_debug" else 403
    assert any(f"upstream HTTP {status}" in r.getMessage() for r in caplog.records)  # a key-free summary was logged


async def test_a_log_record_holding_a_key_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    async with serving(gemini="real", gemini_api_key=Secret("not-google-shaped-but-FAKE-test-secret")) as server:
        logger = logging.getLogger("some.library")
        logger.error("echo %s and %s", CANARY, "not-google-shaped-but-FAKE-test-secret")
        try:
            raise ValueError(f"body: {CANARY}")
        except ValueError:
            logger.exception("failed")
        assert server.hub.started
    text = caplog.text
    assert CANARY not in text and "not-google-shaped-but-FAKE-test-secret" not in text
    assert text.count("[REDACTED]") >= 3


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        (None, 101),  # not a browser
        ("http://localhost:3000", 101),  # loopback
        ("http://127.0.0.1", 101),
        ("http://[::1]:8080", 101),
        ("https://evil.example", 403),  # SEC-004
        ("null", 403),
        ("http://127.0.0.1.evil.example", 403),
        ("http://evil.example@127.0.0.1", 403),  # not a serialized origin: userinfo (SPEC.md §13)
        ("http://127.0.0.1/path", 403),
        ("http://evil.localhost", 403),  # only localhost itself is a loopback name
    ],
)
async def test_origin_allow_list_by_default(origin: str | None, status: int) -> None:
    async with serving() as server:
        headers = {"Origin": origin} if origin is not None else {}
        got, _, _, writer = await raw_upgrade(server, "/api/v1/ws/chat/r", headers)
        writer.close()
        assert got == status


async def test_the_request_own_host_is_an_allowed_origin() -> None:
    async with serving(host="127.0.0.1") as server:
        host = server.http.split("://")[1]
        got, _, _, writer = await raw_upgrade(server, "/api/v1/ws/chat/r", {"Origin": f"https://{host}"})
        writer.close()
        assert got == 101


async def test_a_configured_allow_list_replaces_the_default() -> None:
    async with serving(allowed_origins=("https://game.example",)) as server:
        for origin, status in (("https://game.example", 101), ("http://localhost", 403)):
            got, _, _, writer = await raw_upgrade(server, "/api/v1/ws/chat/r", {"Origin": origin})
            writer.close()
            assert got == status
    async with serving(allowed_origins=("*",)) as server:
        got, _, _, writer = await raw_upgrade(server, "/api/v1/ws/chat/r", {"Origin": "https://any.example"})
        writer.close()
        assert got == 101


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/ws/chat/has%20space",
        "/api/v1/ws/chat/" + "x" * 65,
        "/api/v1/ws/chat/a/b",
        "/api/v1/ws/chat/%ED%95%9C",
        "/api/v1/ws/chat/",
        "/api/v1/ws/chat/r?nickname=",
        "/api/v1/ws/chat/r?nickname=%20pad",
        "/api/v1/ws/chat/r?nickname=" + "n" * 33,
        "/api/v1/ws/chat/r?lang=fr",
        "/api/v1/ws/chat/r?since=-1",
        "/api/v1/ws/chat/r?since=1.5",
        "/api/v1/ws/chat/r?nickname=%FF",
    ],
)
async def test_a_bad_room_or_query_is_refused_before_the_handshake(path: str) -> None:
    async with serving() as server:
        status, head, _, writer = await raw_upgrade(server, path)
        writer.close()
        assert 400 <= status < 500, head  # CONN-002


async def test_valid_query_parameters_and_unknown_ones_are_accepted() -> None:
    async with serving() as server:
        url = server.ws("A-z_0-9", "nickname=%EC%B2%A0%EC%88%98&lang=en&since=0&utm_source=x")
        async with Client.connect(url) as a:
            welcome = await a.welcome()  # CONN-001
            assert welcome["nickname"] == "철수" and welcome["room"] == "A-z_0-9"


async def test_plain_http_and_other_paths() -> None:
    async with serving() as server, httpx.AsyncClient(base_url=server.http) as http:
        assert (await http.get("/api/v1/ws/chat/r")).status_code == 426
        assert (await http.get("/nothing-here")).status_code == 404
        status, _, _, writer = await raw_upgrade(server, "/api/v1/ws/other")
        writer.close()
        assert status == 404
