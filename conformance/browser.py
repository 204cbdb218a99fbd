"""Browser key-leak scan: load a chat page in headless chromium, use it, and look for the key (SEC-003, SEC-005).

Theory of operation. Checklist item 9 says the API key is visible nowhere in the browser's developer tools. The
scan therefore sees what DevTools sees, with the server configured to use a canary key:

1. It opens the page in Debian's chromium (Playwright with `executable_path`, never a downloaded browser) and
   records, from the first request on, every request (URL, headers, body), every response (headers and body),
   every WebSocket (URL, handshake headers, each frame in both directions) and every console line.
2. It uses the page as a person would: join a room, chat, ask the AI. A page with the reference page's element
   ids (`#join-form`, `#message-input`, ...) is driven through its own UI; any other page gets a WebSocket opened
   inside it to `chat_url`, so the server's frames still cross the browser (`page_drivers` does the using;
   this module records and searches).
3. With `double_url`, it makes the upstream fail through the Gemini double: a `key_echo` fault (a 403 body that
   contains the caller's key, as Google's CONSUMER_SUSPENDED does) and a `rate_limit` 429, then asks again each
   time, so the error path's frames are scanned too.
4. It snapshots the DOM of every frame (open shadow roots and form values included), page-defined globals,
   cookies (HttpOnly too), localStorage and sessionStorage, then searches everything with
   `browser_evidence.search` (plain, percent-encoded and base64 forms).

What the scan could not do is reported in `notes` (no double given, the page never connected, ...), so an
empty `findings` list is never mistaken for a complete pass. A page that cannot be loaded at all raises
`TargetUnreachable`; chromium missing raises `HarnessError`.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Awaitable, Iterable
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    WebSocket,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from roomwire.spec.errors import TargetUnreachable, UsageError

from .browser_evidence import BrowserScanResult, Finding, Needle, Place, needles_for, search
from .chromium import CHROMIUM_ENV as CHROMIUM_ENV
from .chromium import chromium_executable as chromium_executable
from .chromium import resolve_chromium
from .page_behaviour import MISSING_IDS_JS, PAGE_IDS, PageObservations
from .page_drivers import ScanOptions, SocketDriver, UiDriver

#: Flags for chromium on a machine with no network but loopback: without the background-networking ones,
#: chromium's own connections (updates, sync, safe browsing) are refused many at a time at every start.
CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


_MAX_GLOBALS_CHARS = 2_000_000


async def launch_chromium(playwright: Playwright, *, executable: str | None = None) -> Browser:
    """Headless chromium from the system, with a fresh empty profile (Playwright makes one per launch).

    Raises:
        HarnessError: no chromium executable (install Debian's `chromium`; never download a browser).
    """
    path = resolve_chromium(executable)
    return await playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS), headless=True)


async def scan_page_for_secret(
    page_url: str,
    secret: str,
    *,
    chat_url: str | None = None,
    double_url: str | None = None,
    room: str | None = None,
    nickname: str = "leak-scan",
    timeout_s: float = 20.0,
    executable: str | None = None,
    welcome: bool = True,
) -> BrowserScanResult:
    """Load `page_url`, use it, provoke upstream errors, and report every place `secret` shows up in the browser.

    Args:
        page_url: the chat page (http or https).
        secret: the canary key the target's server was configured with.
        chat_url: the chat WebSocket (`ws://host/api/v1/ws/chat/{room_id}`; `{room_id}` is filled in); needed only
            for pages that are not driven through the reference page's UI.
        double_url: the Gemini double the target uses; without it no upstream error is provoked (a note says so).
        room: the room to join (default: a fresh random one).
        nickname: the nickname to join with.
        timeout_s: the longest wait for any one step.
        executable: chromium to use (default: `chromium` on PATH).
        welcome: the target's protocol has a welcome; without one (`--profile seed`) the in-page socket of a page
            that is not driven through its UI sends once it is open, and its chat messages carry the nickname.

    Raises:
        UsageError: the secret is too short to search for, or a URL is not http(s)/ws(s).
        HarnessError: chromium is missing; TargetUnreachable: the page did not load.
    """
    needles = needles_for(secret)
    if urlsplit(page_url).scheme not in ("http", "https"):
        raise UsageError(f"the page URL must be http(s): {page_url}")
    if chat_url is not None and urlsplit(chat_url).scheme not in ("ws", "wss"):
        raise UsageError(f"the chat URL must be ws(s): {chat_url}")
    options = ScanOptions(
        chat_url=chat_url,
        double_url=double_url,
        room=room or f"scan-{secrets.token_hex(4)}",
        nickname=nickname,
        timeout_s=timeout_s,
        executable=executable,
        welcome=welcome,
    )
    resolve_chromium(executable)  # before Playwright starts: a missing browser is a clear HarnessError
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright, executable=executable)
        try:
            return await _scan(browser, page_url, needles, options)
        finally:
            await browser.close()


class _Collector:
    """Everything the browser saw, searched as it arrives; network bodies are read in background tasks."""

    def __init__(self, needles: tuple[Needle, ...]) -> None:
        self.needles = needles
        self.findings: list[Finding] = []
        self.searched: Counter[str] = Counter()
        self.tasks: list[asyncio.Task[None]] = []
        self.websockets = 0
        self.errors: list[str] = []

    def scan(self, text: str, place: Place, where: str, resource_type: str | None = None) -> None:
        """Search `text` for the key where the browser showed it, and count the place as searched."""
        self.searched[place] += 1
        self.findings += search(text, self.needles, place=place, where=where, resource_type=resource_type)

    def later(self, work: Awaitable[None]) -> None:
        self.tasks.append(asyncio.ensure_future(work))

    async def settle(self) -> None:
        """Wait for every pending read (bodies, headers) to finish; a body chromium dropped is noted, not fatal."""
        while self.tasks:
            pending, self.tasks = self.tasks, []
            for outcome in await asyncio.gather(*pending, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    self.errors.append(f"could not read a network item: {type(outcome).__name__}")

    def watch(self, context: BrowserContext, page: Page) -> None:
        context.on("request", lambda request: self.later(self._request(request)))
        context.on("response", lambda response: self.later(self._response(response)))
        context.on("page", self._page)
        self._page(page)

    def _page(self, page: Page) -> None:
        page.on("websocket", self._websocket)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.scan(str(error), "console", f"uncaught error on {page.url}"))

    async def _request(self, request: Request) -> None:
        headers = await request.all_headers()
        text = "\n".join([request.url, *(f"{k}: {v}" for k, v in headers.items()), request.post_data or ""])
        self.scan(text, "request", f"{request.method} {request.url}")

    async def _response(self, response: Response) -> None:
        where = f"{response.status} {response.url}"
        headers = await response.all_headers()
        self.scan("\n".join(f"{k}: {v}" for k, v in headers.items()), "response_header", where)
        if response.request.resource_type == "websocket" or 300 <= response.status < 400:
            return  # no body: an upgrade or a redirect
        body = (await response.body()).decode("utf-8", errors="replace")
        kind = response.request.resource_type
        self.scan(body, "script" if kind == "script" else "response_body", where, kind)

    def _websocket(self, ws: WebSocket) -> None:
        self.websockets += 1
        number = self.websockets
        self.scan(ws.url, "ws_url", ws.url)
        ws.on("framesent", lambda payload: self._frame(payload, "ws_frame_sent", number, ws.url))
        ws.on("framereceived", lambda payload: self._frame(payload, "ws_frame_received", number, ws.url))

    def _frame(self, payload: str | bytes, place: Place, number: int, url: str) -> None:
        text = payload if isinstance(payload, str) else payload.decode("utf-8", errors="replace")
        self.scan(text, place, f"socket #{number} {url}, frame {self.searched[place] + 1}")

    def _console(self, message: ConsoleMessage) -> None:
        self.scan(message.text, "console", f"console.{message.type} on {message.page.url if message.page else '?'}")


async def _scan(
    browser: Browser, page_url: str, needles: tuple[Needle, ...], options: ScanOptions
) -> BrowserScanResult:
    context = await browser.new_context()
    page = await context.new_page()
    collector = _Collector(needles)
    collector.watch(context, page)
    await _watch_handshakes(context, page, collector)
    steps: list[str] = []
    notes: list[str] = []
    try:
        await page.goto(page_url, wait_until="load", timeout=options.timeout_s * 1000)
    except PlaywrightError as exc:
        raise TargetUnreachable(f"the page {page_url} did not load: {exc.message.splitlines()[0]}") from exc
    steps.append(f"loaded {page_url}")
    missing = tuple(await page.evaluate(MISSING_IDS_JS, list(PAGE_IDS)))
    observed: PageObservations | None = None
    if await _is_reference_page(page):
        ui = UiDriver(page, options, missing)
        await ui.run(steps, notes)
        observed = await ui.observations()
    else:
        await SocketDriver(page, options).run(steps, notes)
        observed = PageObservations(missing=missing) if missing else None
    await _settle_network(page)
    await collector.settle()
    await _snapshot(context, page, collector)
    notes += collector.errors
    return BrowserScanResult(
        page_url=page_url,
        findings=tuple(collector.findings),
        steps=tuple(steps),
        notes=tuple(notes),
        searched=dict(collector.searched),
        page=observed,
    )


async def _watch_handshakes(context: BrowserContext, page: Page, collector: _Collector) -> None:
    """WebSocket handshake response headers: Playwright reports no response for an upgrade, DevTools does."""
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")

    urls: dict[str, str] = {}

    def created(event: dict[str, Any]) -> None:
        urls[str(event.get("requestId"))] = str(event.get("url", "?"))

    def handshake(event: dict[str, Any]) -> None:
        headers = event.get("response", {}).get("headers", {})
        text = "\n".join(f"{k}: {v}" for k, v in headers.items())
        url = urls.get(str(event.get("requestId")), "?")
        collector.scan(text, "response_header", f"WebSocket handshake {url}")

    cdp.on("Network.webSocketCreated", created)
    cdp.on("Network.webSocketHandshakeResponseReceived", handshake)


async def _is_reference_page(page: Page) -> bool:
    return await page.locator("#join-form #room-input").count() > 0 and await page.locator("#message-input").count() > 0


async def _settle_network(page: Page) -> None:
    """Give late responses (and frames) a moment; a page that polls forever never idles, which is fine."""
    try:
        await page.wait_for_load_state("networkidle", timeout=3000)
    except PlaywrightTimeout:
        pass
    await asyncio.sleep(0.3)


#: Values of the page's own globals (names a blank page lacks), JSON-encoded with a size cap; functions skipped.
_GLOBALS = """
([baseline, cap]) => {
  const skip = new Set(baseline);
  const out = [];
  let total = 0;
  for (const name of Object.getOwnPropertyNames(window)) {
    if (skip.has(name) || total > cap) continue;
    let text;
    try {
      const value = window[name];
      if (typeof value === 'function') continue;
      text = typeof value === 'string' ? value : JSON.stringify(value);
    } catch (error) { continue; }
    if (typeof text === 'string') { out.push([name, text.slice(0, cap)]); total += text.length; }
  }
  return out;
}
"""

#: Form values (not in the serialized DOM) and open shadow roots (not in page.content()).
_HIDDEN_DOM = """
() => {
  const out = [];
  const name = (el) => el.tagName + (el.id ? '#' + el.id : '');
  const walk = (root) => root.querySelectorAll('*').forEach((el) => {
    if (typeof el.value === 'string' && el.value) out.push(['form_value', name(el), el.value]);
    if (el.shadowRoot) {
      out.push(['dom', 'shadow root of ' + name(el), el.shadowRoot.innerHTML]);
      walk(el.shadowRoot);
    }
  });
  walk(document);
  return out;
}
"""

_STORAGE = """
() => {
  const dump = (name) => {
    try {
      const store = window[name];
      const out = [];
      for (let i = 0; i < store.length; i++) out.push([store.key(i), store.getItem(store.key(i))]);
      return out;
    } catch (error) { return []; }
  };
  return {origin: location.origin, local: dump('localStorage'), session: dump('sessionStorage')};
}
"""


async def _snapshot(context: BrowserContext, page: Page, collector: _Collector) -> None:
    """What stays in the browser after use: DOM, form values, globals, storage, cookies."""
    baseline = await _blank_globals(context)
    for frame in page.frames:
        where = frame.url or "about:blank"
        try:
            collector.scan(await frame.content(), "dom", where)
            for place, name, value in await frame.evaluate(_HIDDEN_DOM):
                collector.scan(value, place, f"{where} {name}")
            for name, value in await frame.evaluate(_GLOBALS, [baseline, _MAX_GLOBALS_CHARS]):
                collector.scan(value, "global", f"{where} window.{name}")
            storage = await frame.evaluate(_STORAGE)
        except PlaywrightError as exc:
            collector.errors.append(f"could not read frame {where}: {exc.message.splitlines()[0]}")
            continue
        stores: tuple[tuple[Place, str], ...] = (("local_storage", "local"), ("session_storage", "session"))
        for place, key in stores:
            collector.scan(_pairs(storage[key]), place, f"{storage['origin']} ({len(storage[key])} items)")
    for cookie in await context.cookies():
        text = f"{cookie.get('name', '')}={cookie.get('value', '')}"
        collector.scan(text, "cookie", f"{cookie.get('domain', '?')}{cookie.get('path', '')} {cookie.get('name', '')}")


async def _blank_globals(context: BrowserContext) -> list[str]:
    blank = await context.new_page()
    try:
        names: list[str] = await blank.evaluate("Object.getOwnPropertyNames(window)")
        return names
    finally:
        await blank.close()


def _pairs(items: Iterable[list[str]]) -> str:
    return "\n".join(f"{key}={value}" for key, value in items)
