"""Class 8: framing judged from the page's headers (a server sending frame-ancestors holds, one without is
caught), and "my message" in chromium against the reference page."""

from __future__ import annotations

from typing import Any

import pytest

from roomwire.attacks import page
from roomwire.attacks.report import AttackReport, Verdict
from roomwire.conformance.browser import chromium_executable
from roomwire.reference.server import RunningServer
from tests.attacks.conftest import target_of
from tests.reference.helpers import serving

FRAMING_HEADERS = (b"content-security-policy", b"x-frame-options")


def with_headers(server: RunningServer, headers: list[tuple[bytes, bytes]]) -> None:
    """Replace the framing headers of every HTTP response by `headers` (an ASGI wrapper around the app)."""
    inner: Any = server.app.asgi_app

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        async def send_with(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in FRAMING_HEADERS]
                message = {**message, "headers": kept + headers}
            await send(message)

        await inner(scope, receive, send_with)

    setattr(server.app, "asgi_app", wrapped)  # noqa: B010 - replaced on a running app, as ChatRouter is


def framing(report: AttackReport) -> Verdict:
    return next(f.verdict for f in report.findings if "frame" in f.what)


@pytest.mark.parametrize(
    ("headers", "verdict"),
    [
        ([(b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'")], Verdict.HELD),
        ([(b"x-frame-options", b"DENY")], Verdict.HELD),
        ([(b"content-security-policy", b"default-src 'self'")], Verdict.HURT),  # a policy without frame-ancestors
        ([], Verdict.HURT),
    ],
)
async def test_framing_is_judged_from_the_headers(
    headers: list[tuple[bytes, bytes]], verdict: Verdict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page, "chromium_available", lambda: False)  # the browser part has its own test
    async with serving() as server:
        with_headers(server, headers)
        report = await page.run(target_of(server))
    assert framing(report) is verdict, report.render()


@pytest.mark.skipif(chromium_executable() is None, reason="needs Debian's chromium on PATH")
async def test_my_message_is_judged_in_a_real_browser() -> None:
    """The reference page, used by a victim in chromium: the probe runs to a verdict (held once the page decides
    "mine" by something an attacker cannot copy; hurt while it goes by the echoed `id`)."""
    async with serving() as server:
        report = await page.run(target_of(server))
    mine = [f for f in report.findings if "own" in f.what]
    assert mine and mine[0].verdict in (Verdict.HELD, Verdict.HURT), report.render()
    assert (mine[0].verdict is Verdict.HURT) == (report.figures["spoofed_as_mine"] > 0)
