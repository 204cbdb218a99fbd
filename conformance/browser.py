"""Browser key-leak scan: load a chat page in headless chromium, use it, and look for the key (SEC-003, SEC-005).

Theory of operation. Checklist item 9 says the API key is visible nowhere in the browser's developer tools. The
scan therefore sees what DevTools sees, with the server configured to use a canary key:

1. It opens the page in Debian's chromium (Playwright with `executable_path`, never a downloaded browser) and
   records, from the first request on, every request (URL, headers, body), every response (headers and body),
   every WebSocket (URL, handshake headers, each frame in both directions) and every console line.
2. It uses the page as a person would: join a room, chat, ask the AI. A page with the reference page's element
   ids (`#join-form`, `#message-input`, ...) is driven through its own UI; any other page gets a WebSocket opened
   inside it to `chat_url`, so the server's frames still cross the browser.
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
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx
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
from .page_behaviour import (
    MEMBER_JS,
    MISSING_IDS_JS,
    PAGE_IDS,
    RECORDER_JS,
    SPINNER_GRACE_S,
    AnswerSeen,
    Exchange,
    MarkupSeen,
    PageObservations,
    PageSockets,
    answer_seen,
    markup_texts,
    notices_seen,
)

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

#: Faults provoked through the double, in order: the one that echoes the key, then a 429 (the page may then
#: refuse AI questions until its retry_after wait is over, so it comes last).
UPSTREAM_FAULTS: tuple[str, ...] = ("key_echo", "rate_limit")

_MAX_GLOBALS_CHARS = 2_000_000


async def launch_chromium(playwright: Playwright, *, executable: str | None = None) -> Browser:
    """Headless chromium from the system, with a fresh empty profile (Playwright makes one per launch).

    Raises:
        HarnessError: no chromium executable (install Debian's `chromium`; never download a browser).
    """
    path = resolve_chromium(executable)
    return await playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS), headless=True)


@dataclass(frozen=True, kw_only=True)
class ScanOptions:
    """How to use the page. `room` and `nickname` default to fresh names, so scans never share a room."""

    chat_url: str | None = None
    double_url: str | None = None
    room: str | None = None
    nickname: str = "leak-scan"
    timeout_s: float = 20.0
    executable: str | None = None
    welcome: bool = True  # the protocol has a welcome (roomwire.conformance.profiles.Profile.welcome)


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

    def check(self, text: str, place: Place, where: str, resource_type: str | None = None) -> None:
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
        page.on("pageerror", lambda error: self.check(str(error), "console", f"uncaught error on {page.url}"))

    async def _request(self, request: Request) -> None:
        headers = await request.all_headers()
        text = "\n".join([request.url, *(f"{k}: {v}" for k, v in headers.items()), request.post_data or ""])
        self.check(text, "request", f"{request.method} {request.url}")

    async def _response(self, response: Response) -> None:
        where = f"{response.status} {response.url}"
        headers = await response.all_headers()
        self.check("\n".join(f"{k}: {v}" for k, v in headers.items()), "response_header", where)
        if response.request.resource_type == "websocket" or 300 <= response.status < 400:
            return  # no body: an upgrade or a redirect
        body = (await response.body()).decode("utf-8", errors="replace")
        kind = response.request.resource_type
        self.check(body, "script" if kind == "script" else "response_body", where, kind)

    def _websocket(self, ws: WebSocket) -> None:
        self.websockets += 1
        number = self.websockets
        self.check(ws.url, "ws_url", ws.url)
        ws.on("framesent", lambda payload: self._frame(payload, "ws_frame_sent", number, ws.url))
        ws.on("framereceived", lambda payload: self._frame(payload, "ws_frame_received", number, ws.url))

    def _frame(self, payload: str | bytes, place: Place, number: int, url: str) -> None:
        text = payload if isinstance(payload, str) else payload.decode("utf-8", errors="replace")
        self.check(text, place, f"socket #{number} {url}, frame {self.searched[place] + 1}")

    def _console(self, message: ConsoleMessage) -> None:
        self.check(message.text, "console", f"console.{message.type} on {message.page.url if message.page else '?'}")


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
        ui = _UiDriver(page, options, missing)
        await ui.run(steps, notes)
        observed = await ui.observations()
    else:
        await _SocketDriver(page, options).run(steps, notes)
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
        collector.check(text, "response_header", f"WebSocket handshake {url}")

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


class _Stalled(Exception):
    """The page or the server stopped answering while the page was used (noted in the result, not raised)."""


class _UiDriver:
    """Uses a page with the reference page's element ids the way a person does, and watches what it shows.

    With every id of `PAGE_IDS` present it also records the page's behaviour (roomwire.conformance.page_behaviour):
    its own chat message and a second member (a socket opened inside the page) carry markup, and a second question
    follows the first, so that the CLIENT-* checks have something to judge.
    """

    def __init__(self, page: Page, options: ScanOptions, missing: tuple[str, ...] = ()) -> None:
        self.page = page
        self.options = options
        self.timeout_ms = options.timeout_s * 1000
        self.missing = missing
        self.observing = False
        self.sockets = PageSockets()
        self.token = secrets.token_hex(3)
        self.markup = markup_texts(self.token)
        self.sockets.ignore.add(self.token)  # the second member's socket: its nickname holds the token
        self.answers: list[AnswerSeen] = []
        self.page_notes: list[str] = []
        self.grace_s = SPINNER_GRACE_S * max(1.0, options.timeout_s / 20.0)
        page.on("websocket", self.sockets.attach)

    async def run(self, steps: list[str], notes: list[str]) -> None:
        page, room = self.page, self.options.room or "lobby"
        if not self.missing:
            self.observing = bool(await page.evaluate(RECORDER_JS))
        try:
            await page.fill("#room-input", room)
            await page.fill("#nickname-input", self.options.nickname)
            await page.click("#join-button")
            await page.wait_for_selector('#status[data-state="open"]', timeout=self.timeout_ms)
            steps.append(f"joined room {room} as {self.options.nickname} through the page's form")
            await self._type("#tab-chat", self.markup["the page's own chat message"])
            await page.click("#send-button")
            await page.wait_for_selector("#chat-log li.msg.user.mine", timeout=self.timeout_ms)
            steps.append("sent a chat message and saw it broadcast")
            await self._ask("leak scan: say hello in one short sentence")
            steps.append("asked the AI and saw the answer end")
            await self._ask("leak scan: and now say goodbye in two short sentences")
            steps.append("asked again and saw the second answer end")
            await self._second_member(steps)
            await _provoke_faults(self.options, self._ask, steps, notes)
        except PlaywrightTimeout as exc:
            notes.append(f"the page stopped responding while it was used: {exc.message.splitlines()[0]}")
        except _Stalled as exc:
            notes.append(f"the page stopped responding while it was used: {exc}")

    async def _type(self, tab: str, text: str) -> None:
        await self.page.click(tab)
        await self.page.fill("#message-input", text)
        await self.page.wait_for_selector("#send-button:not([disabled])", timeout=self.timeout_ms)

    async def _ask(self, question: str) -> None:
        """Ask through the page; returns once the page's socket got the ai_done (and the spinner had its chance)."""
        await self._type("#tab-ai", question)
        mark, before = await self._mark()
        asked = len(self.sockets.exchanges)
        await self.page.click("#send-button")
        await self._wait(lambda: len(self.sockets.exchanges) > asked, f"the page never sent {question!r}")
        exchange = self.sockets.exchanges[asked]
        try:
            await asyncio.wait_for(exchange.done.wait(), self.options.timeout_s)
        except TimeoutError:
            await self._record(exchange, mark, before, None)
            raise _Stalled(f"no ai_done for {question!r} within {self.options.timeout_s:g} s") from None
        stopped = await self._spinner_stops() if self.observing else None
        await self._record(exchange, mark, before, stopped)

    async def _mark(self) -> tuple[int, list[str]]:
        if not self.observing:
            return 0, []
        data = await self.page.evaluate("() => window.__roomwirePage(Number.MAX_SAFE_INTEGER)")
        return int(data["total"]), list(data["bubbles"])

    async def _record(self, exchange: Exchange, mark: int, before: list[str], stopped: bool | None) -> None:
        if not self.observing:
            return
        data = await self.page.evaluate("(n) => window.__roomwirePage(n)", mark)
        states = [(list(texts), bool(spinner)) for texts, spinner in data["states"]]
        self.answers.append(answer_seen(exchange, states, before, list(data["bubbles"]), stopped))

    async def _spinner_stops(self) -> bool:
        try:
            await self.page.wait_for_function("() => !window.__roomwireSpinnerShown()", timeout=self.grace_s * 1000)
        except PlaywrightTimeout:
            return False
        return True

    async def _wait(self, condition: Callable[[], bool], what: str) -> None:
        deadline = asyncio.get_running_loop().time() + self.options.timeout_s
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise _Stalled(what)
            await asyncio.sleep(0.02)

    async def _second_member(self, steps: list[str]) -> None:
        """Another member joins the room from a socket opened inside the page, writes markup and leaves."""
        if not self.observing or not self.sockets.urls:
            return
        nickname = self.markup["another member's nickname"]
        url = _with_nickname(self.sockets.urls[0], nickname)
        message = self.markup["another member's message"]
        outcome = await self.page.evaluate(MEMBER_JS, [url, message, self.timeout_ms, nickname])
        if outcome != "ok":
            self.page_notes.append(f"the second member (a socket opened inside the page) did not finish: {outcome}")
            return
        if self.sockets.saw("system", "join", nickname):
            try:
                await self._wait(lambda: self.sockets.saw("system", "leave", nickname), "no leave notice")
            except _Stalled:
                self.page_notes.append("the page never received the second member's leave notice")
        steps.append("another member (a socket opened inside the page) joined, wrote markup and left")

    async def observations(self) -> PageObservations:
        """What the page showed (roomwire.conformance.page_behaviour), read after everything was done."""
        if not self.observing:
            return PageObservations(missing=self.missing or PAGE_IDS, notes=tuple(self.page_notes))
        frames = list(self.sockets.received)
        await asyncio.sleep(0.3)  # the page renders what arrived before this moment
        data = await self.page.evaluate("() => window.__roomwirePage(Number.MAX_SAFE_INTEGER)")
        lines = [str(line) for line in data["lines"]]
        added = [(str(log), str(text)) for log, text in data["added"]]
        markup = tuple(
            MarkupSeen(
                what=what,
                text=text,
                arrived=any(text in (frame.get("content"), frame.get("nickname")) for frame in frames),
                shown=any(text in line for line in lines),
            )
            for what, text in self.markup.items()
        )
        return PageObservations(
            answers=tuple(self.answers),
            notices=notices_seen(frames, lines, added),
            markup=markup,
            probes=tuple(str(p) for p in data["probes"]),
            script_ran=bool(data["ran"]),
            notes=tuple(self.page_notes),
            spinner_grace_s=self.grace_s,
        )


def _with_nickname(url: str, nickname: str) -> str:
    """The page's socket URL for another member: its own nickname, no `since`."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("nickname", "since")]
    query.append(("nickname", nickname))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


class _SocketDriver:
    """Drives any other page by opening the chat WebSocket from inside it, so the frames still cross the browser."""

    def __init__(self, page: Page, options: ScanOptions) -> None:
        self.page = page
        self.options = options
        self.url = _chat_url(options.chat_url, options.room or "lobby", options.nickname)

    async def run(self, steps: list[str], notes: list[str]) -> None:
        if self.url is None:
            notes.append("not the reference page and no chat_url: the page was loaded and scanned, not used")
            return
        steps.append("not the reference page: chatting over a WebSocket opened inside it")
        try:
            chat: dict[str, object] = {"type": "user_msg", "content": "leak scan: hello room"}
            chat["nickname"] = self.options.nickname  # the seed protocol's; roomwire/1 ignores it (IDENT-002)
            await self._exchange([chat])
            steps.append("sent a chat message")
            await self._ask("leak scan: say hello in one short sentence")
            steps.append("asked the AI and saw the answer end")
            await _provoke_faults(self.options, self._ask, steps, notes)
        except _ExchangeFailed as exc:
            notes.append(str(exc))

    async def _ask(self, question: str) -> None:
        await self._exchange([{"type": "ai_msg", "id": "leak-scan", "content": question, "history": []}])

    async def _exchange(self, frames: list[dict[str, object]]) -> None:
        args = [self.url, frames, self.options.timeout_s * 1000, self.options.welcome]
        outcome = await self.page.evaluate(_IN_PAGE_EXCHANGE, args)
        if outcome != "ok":
            raise _ExchangeFailed(f"the in-page WebSocket exchange did not finish: {outcome}")


class _ExchangeFailed(Exception):
    """The in-page socket could not complete an exchange (noted in the result, not raised to the caller)."""


#: Opens the chat socket inside the page, waits for the welcome (without one: for the open), sends the frames (an
#: ai_msg waits for its ai_done), closes. Resolves to "ok" or to why not; it never rejects.
_IN_PAGE_EXCHANGE = """
([url, frames, timeoutMs, welcome]) => new Promise((resolve) => {
  let ws;
  try { ws = new WebSocket(url); } catch (error) { resolve('could not open: ' + error); return; }
  const queue = frames.slice();
  let waitingForDone = false;
  const finish = (why) => { clearTimeout(timer); try { ws.close(1000); } catch (e) {} resolve(why); };
  const timer = setTimeout(() => finish('timed out'), timeoutMs);
  const next = () => {
    if (queue.length === 0) { finish('ok'); return; }
    const frame = queue.shift();
    ws.send(JSON.stringify(frame));
    if (frame.type === 'ai_msg') waitingForDone = true; else setTimeout(next, 200);
  };
  if (!welcome) ws.onopen = next;
  ws.onmessage = (event) => {
    let frame;
    try { frame = JSON.parse(event.data); } catch (e) { return; }
    if (frame && frame.type === 'system' && frame.event === 'welcome') next();
    else if (frame && frame.type === 'ai_done' && waitingForDone) { waitingForDone = false; next(); }
  };
  ws.onclose = (event) => finish(queue.length || waitingForDone ? 'closed early with ' + event.code : 'ok');
})
"""


Asker = Callable[[str], Awaitable[None]]


def _chat_url(template: str | None, room: str, nickname: str) -> str | None:
    if template is None:
        return None
    url = template.replace("{room_id}", room)
    return url + ("&" if "?" in url else "?") + f"nickname={nickname}"


async def _provoke_faults(options: ScanOptions, ask: Asker, steps: list[str], notes: list[str]) -> None:
    """Make upstream fail once per kind (matched by a marker in the question, so other clients are untouched)."""
    if options.double_url is None:
        notes.append("no double_url: no upstream error was provoked, so the error path was not scanned")
        return
    async with httpx.AsyncClient(base_url=options.double_url, timeout=options.timeout_s) as client:
        for kind in UPSTREAM_FAULTS:
            marker = f"leak-scan-{kind}-{secrets.token_hex(4)}"
            fault: dict[str, object] = {"kind": kind, "count": 1, "match": marker}
            if kind == "rate_limit":
                fault["retry_delay_s"] = 2
            response = await client.post("/_double/faults", json=fault)
            if response.status_code != 201:
                notes.append(f"the double refused the {kind} fault (HTTP {response.status_code})")
                continue
            await ask(f"{marker}: are you there?")
            taken = await client.get("/_double/faults")
            if any(f.get("match") == marker for f in taken.json().get("faults", [])):
                notes.append(f"the {kind} fault was never taken: the server did not call the double")
            else:
                steps.append(f"made upstream fail with {kind} and saw the answer end")


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
            collector.check(await frame.content(), "dom", where)
            for place, name, value in await frame.evaluate(_HIDDEN_DOM):
                collector.check(value, place, f"{where} {name}")
            for name, value in await frame.evaluate(_GLOBALS, [baseline, _MAX_GLOBALS_CHARS]):
                collector.check(value, "global", f"{where} window.{name}")
            storage = await frame.evaluate(_STORAGE)
        except PlaywrightError as exc:
            collector.errors.append(f"could not read frame {where}: {exc.message.splitlines()[0]}")
            continue
        stores: tuple[tuple[Place, str], ...] = (("local_storage", "local"), ("session_storage", "session"))
        for place, key in stores:
            collector.check(_pairs(storage[key]), place, f"{storage['origin']} ({len(storage[key])} items)")
    for cookie in await context.cookies():
        text = f"{cookie.get('name', '')}={cookie.get('value', '')}"
        collector.check(text, "cookie", f"{cookie.get('domain', '?')}{cookie.get('path', '')} {cookie.get('name', '')}")


async def _blank_globals(context: BrowserContext) -> list[str]:
    blank = await context.new_page()
    try:
        names: list[str] = await blank.evaluate("Object.getOwnPropertyNames(window)")
        return names
    finally:
        await blank.close()


def _pairs(items: Iterable[list[str]]) -> str:
    return "\n".join(f"{key}={value}" for key, value in items)
