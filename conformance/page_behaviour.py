"""What the chat page did while the browser scan used it: the observations SPEC.md §14's verdicts are drawn from.

Theory of operation. `roomwire.conformance.browser` drives a page that has the reference page's element ids
(`PAGE_IDS`) through its own UI. While it does, this module's pieces watch the page, with no help from it:

* `PageSockets` reads the frames of the page's own WebSockets (Playwright's view, as DevTools shows them): every
  `system` frame, and per `ai_msg` the page sent, the `ai_chunk` contents and the `ai_done` status that answered it.
* `RECORDER_JS`, installed in the page after it loads, keeps a DOM state after every task that changed the page
  (a MutationObserver fires once per task, and every WebSocket message is its own task): the text of each AI
  bubble (`#ai-log li.msg.ai`, its `.text` child if it has one) and whether `#ai-spinner` is visible; and the text
  of every line added to `#chat-log` or `#ai-log`, as it was when it appeared.
* The scan sends text with markup (its own chat message, and another member's nickname and message, sent from a
  second socket opened inside the page) whose elements, had they been made, carry a `data-rw-probe` attribute.

The result is a `PageObservations`; `roomwire.conformance.page_verdicts` judges it. This module watches and
records only: nothing here decides pass or fail.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.async_api import WebSocket

#: The reference page's element ids the behaviour checks read (docs/page.md, "What --browser checks").
PAGE_IDS: tuple[str, ...] = (
    "join-form",
    "room-input",
    "nickname-input",
    "join-button",
    "status",
    "tab-chat",
    "tab-ai",
    "chat-log",
    "ai-log",
    "ai-spinner",
    "message-input",
    "send-button",
)

#: How long the spinner may keep showing after the ai_done frame reached the page.
SPINNER_GRACE_S = 2.0

#: The attribute every element made from the scan's markup would carry.
PROBE_ATTRIBUTE = "data-rw-probe"

_TEXT_CHARS = 160

#: Installs the recorder once; `window.__roomwirePage(from)` returns what it kept (a function: the key scan's
#: snapshot of page globals skips functions, so the recorder never shows up as a place of the page).
RECORDER_JS = """
() => {
  if (typeof window.__roomwirePage === 'function') return true;
  const spinner = document.getElementById('ai-spinner');
  const shown = (el) => {
    if (!el || el.hidden) return false;
    if (typeof el.checkVisibility === 'function') {
      return el.checkVisibility({ visibilityProperty: true, checkVisibilityCSS: true });
    }
    const style = getComputedStyle(el);
    return style.display !== 'none' && style.visibility !== 'hidden';
  };
  const bubbleText = (li) => { const t = li.querySelector('.text'); return (t || li).textContent || ''; };
  const states = [];
  const added = [];
  const bubbles = () => Array.from(document.querySelectorAll('#ai-log li.msg.ai'), bubbleText);
  const snap = () => states.push([bubbles(), shown(spinner)]);
  new MutationObserver((records) => {
    for (const record of records) {
      const parent = record.target;
      if (record.type === 'childList' && parent && (parent.id === 'chat-log' || parent.id === 'ai-log')) {
        record.addedNodes.forEach((n) => { if (n.nodeType === 1) added.push([parent.id, n.textContent || '']); });
      }
    }
    snap();
  }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  snap();
  window.__roomwireSpinnerShown = () => shown(spinner);
  window.__roomwirePage = (from) => ({
    states: states.slice(from),
    total: states.length,
    added: added.slice(),
    bubbles: bubbles(),
    lines: ['chat-log', 'ai-log'].flatMap((id) => {
      const log = document.getElementById(id);
      return log ? Array.from(log.children, (li) => li.textContent || '') : [];
    }),
    probes: Array.from(document.querySelectorAll('[data-rw-probe]'), (el) => el.outerHTML.slice(0, 200)),
    ran: window.__rwXss === true,
  });
  return true;
}
"""

MISSING_IDS_JS = "(ids) => ids.filter((id) => document.getElementById(id) === null)"

#: Another member, from a socket opened inside the page: joins with `url` (its nickname in the query), sends one
#: chat message (its nickname in the frame too: the seed protocol's, roomwire/1 ignores it), waits for its
#: broadcast, leaves; without a welcome it sends 1.5 s after the open. Resolves to "ok" or why not; never rejects.
MEMBER_JS = """
([url, content, timeoutMs, nickname]) => new Promise((resolve) => {
  let ws;
  try { ws = new WebSocket(url); } catch (error) { resolve('could not open: ' + error); return; }
  let sent = false;
  let fallback = null;
  const finish = (why) => {
    clearTimeout(timer); clearTimeout(fallback);
    try { ws.close(1000); } catch (e) {}
    resolve(why);
  };
  const timer = setTimeout(() => finish(sent ? 'its message was never broadcast' : 'timed out'), timeoutMs);
  const send = () => {
    if (sent) return;
    sent = true;
    ws.send(JSON.stringify({ type: 'user_msg', nickname: nickname, content: content, id: 'rw-probe' }));
  };
  ws.onopen = () => { fallback = setTimeout(send, 1500); };
  ws.onmessage = (event) => {
    let frame;
    try { frame = JSON.parse(event.data); } catch (e) { return; }
    if (!frame || typeof frame !== 'object') return;
    if (frame.type === 'system' && frame.event === 'welcome') send();
    else if (frame.type === 'user_msg' && frame.content === content) setTimeout(() => finish('ok'), 200);
  };
  ws.onclose = (event) => finish(sent ? 'ok' : 'closed early with ' + event.code);
})
"""


def markup_texts(token: str) -> dict[str, str]:
    """The texts with markup the scan sends, by what they are (a nickname fits the spec's 32 characters)."""
    return {
        "the page's own chat message": f'leak scan: hello room <b {PROBE_ATTRIBUTE}="{token}">bold?</b>',
        "another member's nickname": f"<i {PROBE_ATTRIBUTE}>{token}</i>",
        "another member's message": f'<img src="x" {PROBE_ATTRIBUTE} onerror="window.__rwXss=true"> markup {token}',
    }


# --- what the page's sockets carried ----------------------------------------------------------------------------


@dataclass
class Exchange:
    """One `ai_msg` the page sent, and what answered it on the page's socket."""

    id: str | None
    question: str
    chunks: list[str] = field(default_factory=list)
    status: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class PageSockets:
    """The frames of the page's own WebSockets (a socket whose URL holds `ignore` is the scan's, not the page's)."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.received: list[dict[str, object]] = []
        self.exchanges: list[Exchange] = []
        self.ignore: set[str] = set()

    def attach(self, ws: WebSocket) -> None:
        if any(marker in ws.url for marker in self.ignore):
            return
        self.urls.append(ws.url)
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, payload: str | bytes) -> None:
        frame = _parse(payload)
        if frame is not None and frame.get("type") == "ai_msg":
            frame_id = frame.get("id")
            self.exchanges.append(Exchange(frame_id if isinstance(frame_id, str) else None, str(frame.get("content"))))

    def _received(self, payload: str | bytes) -> None:
        frame = _parse(payload)
        if frame is None:
            return
        self.received.append(frame)
        kind = frame.get("type")
        if kind not in ("ai_chunk", "ai_done"):
            return
        exchange = self._exchange_for(frame.get("id"))
        if exchange is None:
            return
        if kind == "ai_chunk":
            content = frame.get("content")
            if isinstance(content, str) and content:
                exchange.chunks.append(content)
        else:
            status = frame.get("status")
            exchange.status = status if isinstance(status, str) else "ok"
            exchange.done.set()

    def _exchange_for(self, frame_id: object) -> Exchange | None:
        if isinstance(frame_id, str):
            return next((e for e in self.exchanges if e.id == frame_id and e.status is None), None)
        return next((e for e in self.exchanges if e.status is None), None)

    def saw(self, kind: str, event: str, nickname: str) -> bool:
        return any(
            f.get("type") == kind and f.get("event") == event and f.get("nickname") == nickname for f in self.received
        )


def _parse(payload: str | bytes) -> dict[str, object] | None:
    try:
        frame = json.loads(payload)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None


# --- what the page showed ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerSeen:
    """One question asked through the page and how its answer appeared.

    Attributes:
        question: what was asked.
        chunks: the non-empty `ai_chunk` contents the page's socket received for it, in order.
        status: the `ai_done` status, or None when no `ai_done` came.
        states: per DOM state from the click on send on: the new bubble's text (None while there is no new
            bubble) and whether the spinner was visible.
        spinner_stopped: the spinner was hidden within SPINNER_GRACE_S of `ai_done` (None: no ai_done).
        new_bubble: the page had more AI bubbles after the answer than before the question.
        earlier_changed: how many earlier bubbles changed text while this question was answered.
    """

    question: str
    chunks: tuple[str, ...]
    status: str | None
    states: tuple[tuple[str | None, bool], ...]
    spinner_stopped: bool | None
    new_bubble: bool
    earlier_changed: int

    @property
    def final_text(self) -> str | None:
        texts = [text for text, _ in self.states if text is not None]
        return texts[-1] if texts else None

    def to_json(self) -> dict[str, object]:
        return {
            "question": shortened(self.question),
            "chunks": len(self.chunks),
            "status": self.status,
            "dom_states": len(self.states),
            "spinner_stopped": self.spinner_stopped,
            "new_bubble": self.new_bubble,
            "earlier_bubbles_changed": self.earlier_changed,
            "final_text": shortened(self.final_text or ""),
        }


@dataclass(frozen=True)
class NoticeSeen:
    """One `system` frame the page received and whether its `content` is on the page."""

    event: str
    code: str
    content: str
    retry_after: float | None
    shown: bool
    line: str | None  # the log line that showed it, as it was when it appeared

    def label(self) -> str:
        return f"{self.event or 'system'}{'/' + self.code if self.code else ''}"  # the seed's have no event

    def to_json(self) -> dict[str, object]:
        return {
            "event": self.event,
            "code": self.code,
            "content": shortened(self.content),
            "retry_after": self.retry_after,
            "shown": self.shown,
            "line": shortened(self.line or ""),
        }


@dataclass(frozen=True)
class MarkupSeen:
    """Text with markup that the scan sent: did it reach the page, and is it shown literally."""

    what: str
    text: str
    arrived: bool
    shown: bool

    def to_json(self) -> dict[str, object]:
        return {"what": self.what, "text": self.text, "arrived": self.arrived, "shown_as_text": self.shown}


@dataclass(frozen=True)
class PageObservations:
    """Everything the behaviour checks judge. `missing`: ids of `PAGE_IDS` the page lacks (then nothing else)."""

    missing: tuple[str, ...] = ()
    answers: tuple[AnswerSeen, ...] = ()
    notices: tuple[NoticeSeen, ...] = ()
    markup: tuple[MarkupSeen, ...] = ()
    probes: tuple[str, ...] = ()  # outerHTML of elements made from the markup
    script_ran: bool = False  # the markup's onerror handler ran
    notes: tuple[str, ...] = ()
    spinner_grace_s: float = SPINNER_GRACE_S

    def to_json(self) -> dict[str, object]:
        return {
            "missing_ids": list(self.missing),
            "answers": [a.to_json() for a in self.answers],
            "notices": [n.to_json() for n in self.notices],
            "markup": [m.to_json() for m in self.markup],
            "elements_made_from_markup": list(self.probes),
            "markup_script_ran": self.script_ran,
            "notes": list(self.notes),
        }


def answer_seen(
    exchange: Exchange,
    states: Iterable[tuple[list[str], bool]],
    before: list[str],
    after: list[str],
    spinner_stopped: bool | None,
) -> AnswerSeen:
    """An `AnswerSeen` from the recorder's states since the click (`before`/`after`: bubble texts around it)."""
    index = len(before)
    seen = tuple((texts[index] if len(texts) > index else None, bool(spinner)) for texts, spinner in states)
    changed = sum(1 for old, new in zip(before, after, strict=False) if old != new)
    return AnswerSeen(
        question=exchange.question,
        chunks=tuple(exchange.chunks),
        status=exchange.status,
        states=seen,
        spinner_stopped=spinner_stopped,
        new_bubble=len(after) > len(before),
        earlier_changed=changed,
    )


def notices_seen(
    frames: Iterable[dict[str, object]], lines: list[str], added: list[tuple[str, str]]
) -> tuple[NoticeSeen, ...]:
    """Every `system` frame with a `content`, and whether a line of `#chat-log`/`#ai-log` shows it."""
    found = []
    for frame in frames:
        content = frame.get("content")
        if frame.get("type") != "system" or not isinstance(content, str) or not content.strip():
            continue
        wait = frame.get("retry_after")
        found.append(
            NoticeSeen(
                event=str(frame.get("event") or ""),
                code=str(frame.get("code") or ""),
                content=content,
                retry_after=float(wait) if isinstance(wait, int | float) and not isinstance(wait, bool) else None,
                shown=any(_contains(line, content) for line in lines),
                line=next((text for _, text in added if _contains(text, content)), None),
            )
        )
    return tuple(found)


def _contains(line: str, text: str) -> bool:
    return text in line or " ".join(text.split()) in " ".join(line.split())


def shortened(text: str) -> str:
    """One line of at most `_TEXT_CHARS` characters, for a verdict's detail."""
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_CHARS else text[: _TEXT_CHARS - 1] + "…"
