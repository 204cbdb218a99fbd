"""Fixtures for the real-browser tests: Debian's chromium through Playwright, and servers on 127.0.0.1.

The tests need `chromium` on PATH (never a downloaded browser). Without it they skip, with the reason, on a
developer's machine, and fail in CI (`CI` set), where `.ci/run` installs it: a browser suite that silently skips
in CI proves nothing.
"""

from __future__ import annotations

import asyncio
import http.server
import os
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from roomwire.conformance.browser import chromium_executable, launch_chromium
from roomwire.gemini_double.config import DoubleConfig
from roomwire.gemini_double.server import DoubleThread, RunningDouble

from .reference_server import ReferenceProcess
from .scripted_server import ScriptedServer

#: Room-sized viewport: the chat sits beside a game, so tests look at it in a narrow column.
VIEWPORT = {"width": 420, "height": 720}


def canary_key() -> str:
    """A fresh key-shaped canary, FAKE and for tests only: `AIza` and 35 URL-safe characters, as Google's."""
    return "AIza" + "FAKEcanary" + secrets.token_urlsafe(32)[:25]


@contextmanager
def html_site(html: str) -> Iterator[str]:
    """`html` served at every path by a server on 127.0.0.1 (an origin of its own); yields its URL, stops after.

    A page that frames the chat must come from a real loopback server: a made-up public name (`page.route`) or
    `set_content` would be refused by Chromium's local network checks or by the chat's frame-ancestors, whatever
    the test means to show.
    """
    body = html.encode("utf-8")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def require_chromium() -> str:
    path = chromium_executable()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not on PATH; CI must run the browser tests (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not on PATH (apt-get install chromium); CI runs these tests")
    return path


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    path = require_chromium()
    async with async_playwright() as playwright:
        launched = await launch_chromium(playwright, executable=path)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class PageProblems:
    """Uncaught script errors and CSP refusals seen on any page of a test: each one fails the test."""

    seen: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.seen.append(f"uncaught: {error}"))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.seen.append(f"CSP: {message.text}")


OpenPage = Callable[[str], Awaitable[Page]]


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[OpenPage]:
    """Open a URL in a new browser context (its own cookies and storage: one person per call)."""
    problems = PageProblems()
    contexts = []

    async def opener(url: str) -> Page:
        context = await browser.new_context(viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]})
        contexts.append(context)
        page = await context.new_page()
        problems.watch(page)
        await page.goto(url)
        return page

    try:
        yield opener
    finally:
        for context in contexts:
            await context.close()
    assert problems.seen == [], problems.seen


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedServer]:
    async with ScriptedServer().running() as server:
        yield server


@pytest.fixture
def double() -> Iterator[RunningDouble]:
    """The Gemini double, in a thread of this process: tests queue faults and read its journal over HTTP."""
    with DoubleThread(DoubleConfig()) as running:
        yield running


@pytest.fixture
async def reference(double: RunningDouble, tmp_path: Path) -> AsyncIterator[ReferenceProcess]:
    """`roomwire serve` in a subprocess, using the double and a fresh canary key; stopped even on failure."""
    server = ReferenceProcess(double_url=double.base_url, api_key=canary_key(), workdir=tmp_path)
    try:
        await asyncio.to_thread(server.start)
        yield server
    finally:
        await asyncio.to_thread(server.stop)
