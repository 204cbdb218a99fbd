"""`roomwire.conformance.browser` both ways: silent on a clean deployment, loud and precise on a leaky one."""

from __future__ import annotations

import socket

import pytest

from roomwire.conformance.browser import scan_page_for_secret
from roomwire.conformance.browser_evidence import BrowserScanResult
from roomwire.spec.errors import SpecViolation, TargetUnreachable

from .conftest import canary_key, require_chromium
from .leaky_site import LEAK_PLACES, LeakySite

pytestmark = pytest.mark.browser

NO_DOUBLE_NOTE = "no double_url: no upstream error was provoked, so the error path was not scanned"


async def scan_site(leaks: frozenset[str], *, path: str = "", chat_url: bool = False) -> BrowserScanResult:
    async with LeakySite(canary_key(), leaks).running() as site:
        result = await scan_page_for_secret(
            site.url + path,
            site.secret,
            chat_url=site.chat_url if chat_url else None,
            executable=require_chromium(),
            timeout_s=10,
        )
        for finding in result.findings:
            assert site.secret not in finding.describe()  # evidence masks the key
        assert site.secret not in result.describe()
        return result


async def test_clean_deployment_has_no_finding() -> None:
    result = await scan_site(frozenset())
    assert result.findings == ()
    assert result.notes == (NO_DOUBLE_NOTE,)
    assert result.steps[1:] == (
        "joined room " + result.steps[1].split()[2] + " as leak-scan through the page's form",
        "sent a chat message and saw it broadcast",
        "asked the AI and saw the answer end",
        "asked again and saw the second answer end",
        "another member (a socket opened inside the page) joined, wrote markup and left",
    )
    assert result.page is not None and result.page.missing == ()  # the page's behaviour was watched too
    assert [answer.status for answer in result.page.answers] == ["ok", "ok"]
    for place in ("dom", "response_body", "response_header", "ws_frame_received", "ws_frame_sent", "global"):
        assert result.searched.get(place, 0) >= 1, place
    assert result.searched["ws_frame_received"] >= 6  # welcome, join, broadcast, 3 chunks, done
    result.raise_for_findings()  # nothing to raise


async def test_every_planted_leak_is_found_and_named() -> None:
    result = await scan_site(frozenset(LEAK_PLACES))
    assert set(LEAK_PLACES.values()) <= result.places
    by_place = {finding.place: finding for finding in result.findings}
    assert by_place["ws_frame_received"].requirement == "SEC-003"
    assert by_place["response_header"].requirement == "SEC-003"
    assert by_place["local_storage"].requirement == "SEC-005"
    assert by_place["script"].requirement == "SEC-005"
    api = [f for f in result.findings if f.place == "response_body" and f.where.endswith("/api/config")]
    assert [f.requirement for f in api] == ["SEC-003"]
    assert "[SECRET]" in by_place["ws_frame_received"].evidence
    assert "has been suspended" in by_place["ws_frame_received"].evidence
    assert "base64" in {f.encoding for f in result.findings if f.place == "local_storage"}
    with pytest.raises(SpecViolation) as raised:
        result.raise_for_findings()
    assert raised.value.requirement_id == "SEC-003"


@pytest.mark.parametrize("leak", ["response_header", "ws_frame", "local_storage_base64", "cookie", "form_value"])
async def test_one_leak_is_reported_where_it_is(leak: str) -> None:
    result = await scan_site(frozenset({leak}))
    assert LEAK_PLACES[leak] in result.places
    assert "script" not in result.places  # leak.js carries the key reversed: the find is the planted one


async def test_a_key_in_the_websocket_handshake_response_is_found() -> None:
    """Playwright reports no response for an upgrade; the scan reads the handshake through DevTools' protocol."""
    result = await scan_site(frozenset({"ws_handshake_header"}))
    assert result.findings  # one per socket: the page's own, and the second member's opened inside it
    for finding in result.findings:
        assert finding.place == "response_header" and finding.where.startswith("WebSocket handshake ws://127.0.0.1:")
        assert finding.requirement == "SEC-003" and "X-Upstream-Key: [SECRET]" in finding.evidence


async def test_any_page_is_driven_through_a_socket_opened_inside_it() -> None:
    """A page without the reference page's elements: the server's frames still cross the browser."""
    result = await scan_site(frozenset({"ws_frame"}), path="plain", chat_url=True)
    assert "not the reference page: chatting over a WebSocket opened inside it" in result.steps
    assert result.places == {"ws_frame_received"}


async def test_a_page_that_cannot_be_used_is_scanned_and_says_so() -> None:
    result = await scan_site(frozenset({"ws_frame"}), path="plain")
    assert result.findings == ()
    assert "not the reference page and no chat_url: the page was loaded and scanned, not used" in result.notes


async def test_an_unreachable_page_is_a_harness_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TargetUnreachable):
        await scan_page_for_secret(f"http://127.0.0.1:{port}/", canary_key(), executable=require_chromium())
