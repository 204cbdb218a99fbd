"""How the browser scan uses a chat page: through its own UI, or through a WebSocket opened inside it.

Theory of operation. `roomwire.conformance.browser` loads the page and records everything chromium sees; this
module only acts on the page, as a person would. `UiDriver` uses a page with the reference page's element ids
(join, chat, two questions, a second member who writes markup) and meanwhile records the page's behaviour with
`roomwire.conformance.page_behaviour`; `SocketDriver` chats over a socket opened inside any other page, so the
server's frames still cross the browser. Both make upstream fail through the Gemini double when one is given
(`provoke_faults`). What a driver could not do goes into the scan's notes; nothing here raises to the caller.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from .page_behaviour import (
    MEMBER_JS,
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

#: Faults provoked through the double, in order: the one that echoes the key, then a 429 (the page may then
#: refuse AI questions until its retry_after wait is over, so it comes last).
UPSTREAM_FAULTS: tuple[str, ...] = ("key_echo", "rate_limit")


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


class Stalled(Exception):
    """The page or the server stopped answering while the page was used (noted in the result, not raised)."""


class UiDriver:
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
            await provoke_faults(self.options, self._ask, steps, notes)
        except PlaywrightTimeout as exc:
            notes.append(f"the page stopped responding while it was used: {exc.message.splitlines()[0]}")
        except Stalled as exc:
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
            raise Stalled(f"no ai_done for {question!r} within {self.options.timeout_s:g} s") from None
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
                raise Stalled(what)
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
            except Stalled:
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


class SocketDriver:
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
            await provoke_faults(self.options, self._ask, steps, notes)
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


async def provoke_faults(options: ScanOptions, ask: Asker, steps: list[str], notes: list[str]) -> None:
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
