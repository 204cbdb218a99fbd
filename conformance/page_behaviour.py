"""What the chat page did while the browser scan used it, and the verdicts on SPEC.md §14 drawn from it.

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

The judges (`judge_*`) are pure functions of the resulting `PageObservations`, each returning a `PageVerdict`:
pass (with what was observed), fail (expected and actual), or skip (why the page's behaviour could not be
observed: it lacks the ids, no answer came in two chunks, no notice had a `retry_after`, ...). A verdict is only
ever drawn from something seen; what was not seen is a skip, never a pass.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

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
            "question": _short(self.question),
            "chunks": len(self.chunks),
            "status": self.status,
            "dom_states": len(self.states),
            "spinner_stopped": self.spinner_stopped,
            "new_bubble": self.new_bubble,
            "earlier_bubbles_changed": self.earlier_changed,
            "final_text": _short(self.final_text or ""),
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
            "content": _short(self.content),
            "retry_after": self.retry_after,
            "shown": self.shown,
            "line": _short(self.line or ""),
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


# --- verdicts -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageVerdict:
    status: Literal["pass", "fail", "skip"]
    detail: str
    expected: str = ""
    actual: str = ""


def _unobservable(page: PageObservations | None) -> PageVerdict | None:
    if page is None:
        return PageVerdict("skip", "the page was not used through its UI, so its behaviour was not observed")
    if page.missing:
        ids = ", ".join(f"#{i}" for i in page.missing)
        return PageVerdict(
            "skip",
            f"the page lacks the reference page's element ids {ids}: its behaviour cannot be observed "
            "(the key-leak scan still ran); docs/page.md lists the ids --browser reads",
        )
    return None


def _with_notes(reason: str, page: PageObservations) -> str:
    return reason + (f" ({'; '.join(page.notes)})" if page.notes else "")


def judge_typing(page: PageObservations | None) -> PageVerdict:
    """CLIENT-001, first half: the bubble shows the answer as it stood after each chunk, in order."""
    if (unobservable := _unobservable(page)) is not None:
        return unobservable
    assert page is not None
    # an answer without a bubble of its own is CLIENT-005's failure, not a missing typing effect
    judged = [a for a in page.answers if a.status in ("ok", "truncated") and len(a.chunks) >= 2 and a.new_bubble]
    if not judged:
        reason = "no answer reached a new bubble in two or more chunks, so the typing effect could not be observed"
        return PageVerdict("skip", _with_notes(reason, page))
    for answer in judged:
        texts = [text for text, _ in answer.states if text is not None]
        prefixes = ["".join(answer.chunks[: n + 1]) for n in range(len(answer.chunks))]
        missing, position = [], 0
        for n, prefix in enumerate(prefixes):
            following = prefixes[n + 1] if n + 1 < len(prefixes) else None
            shows = [prefix in text and not (following and following in text) for text in texts]
            hit = next((j for j in range(position, len(texts)) if shows[j]), None)
            if hit is None:
                missing.append(n + 1)
            else:
                position = hit
        if missing:
            distinct = list(dict.fromkeys(texts))
            return PageVerdict(
                "fail",
                "",
                expected=f"the AI bubble shows the answer as it stands after each of its {len(prefixes)} ai_chunk "
                "frames, in order (the typing effect)",
                actual=f"for {_short(answer.question)!r} the bubble never showed it as it stood after chunk(s) "
                f"{', '.join(map(str, missing))}; its texts were: {' | '.join(_short(t) for t in distinct) or 'none'}",
            )
    counts = ", ".join(str(len(a.chunks)) for a in judged)
    return PageVerdict("pass", f"{len(judged)} answer(s) ({counts} chunks) grew in their bubble chunk by chunk")


def judge_spinner(page: PageObservations | None) -> PageVerdict:
    """CLIENT-001, second half: a spinner shows while an answer is pending and stops on `ai_done`."""
    if (unobservable := _unobservable(page)) is not None:
        return unobservable
    assert page is not None
    ended = [a for a in page.answers if a.status is not None]
    if not ended:
        return PageVerdict("skip", _with_notes("no AI answer ended (no ai_done reached the page)", page))
    expected = "a spinner while the answer is pending, hidden once ai_done arrives"
    shown_while_pending = 0
    for answer in ended:
        what = f"{_short(answer.question)!r} (ai_done {answer.status})"
        if answer.spinner_stopped is False:
            return PageVerdict(
                "fail", "", expected, f"{what}: the spinner still showed {page.spinner_grace_s:g} s after ai_done"
            )
        final = answer.final_text
        pending = [(text, spinner) for text, spinner in answer.states if text != final]
        early = [text for text, spinner in pending if text and not spinner]
        if len(answer.chunks) >= 2 and early:
            partial = _short(early[0])
            return PageVerdict("fail", "", expected, f"{what}: no spinner while the bubble showed {partial!r}")
        if any(spinner for _, spinner in pending):
            shown_while_pending += 1
        elif pending:
            return PageVerdict(
                "fail", "", expected, f"{what}: no spinner in any of {len(pending)} page states before the answer"
            )
    if not shown_while_pending:
        return PageVerdict("skip", "no page state between a question and its answer was observed")
    statuses = ", ".join(sorted({str(a.status) for a in ended}))
    return PageVerdict(
        "pass", f"the spinner showed while {len(ended)} answer(s) were pending and stopped on ai_done ({statuses})"
    )


def judge_new_bubble(page: PageObservations | None) -> PageVerdict:
    """CLIENT-005: each question gets a new AI bubble; earlier bubbles do not change."""
    if (unobservable := _unobservable(page)) is not None:
        return unobservable
    assert page is not None
    ended = [a for a in page.answers if a.status is not None]
    if len(ended) < 2:
        return PageVerdict("skip", _with_notes(f"{len(ended)} question(s) answered: two are needed", page))
    for answer in ended:
        if not answer.new_bubble or answer.earlier_changed:
            changed = f"{answer.earlier_changed} earlier bubble(s) changed"
            what = "no new AI bubble" if not answer.new_bubble else changed
            return PageVerdict(
                "fail",
                "",
                "every question starts a new AI bubble and leaves the earlier ones as they were",
                f"{_short(answer.question)!r}: {what}",
            )
    return PageVerdict("pass", f"{len(ended)} questions, each answered in a new AI bubble; earlier bubbles unchanged")


def judge_notices(page: PageObservations | None) -> PageVerdict:
    """CLIENT-002, first half: every `system` frame's `content` is on the page."""
    if (unobservable := _unobservable(page)) is not None:
        return unobservable
    assert page is not None
    if not page.notices:
        return PageVerdict("skip", _with_notes("no system frame with a content reached the page", page))
    missing = [n for n in page.notices if not n.shown]
    if missing:
        return PageVerdict(
            "fail",
            "",
            "every system frame's content shown in #chat-log or #ai-log",
            "not shown: " + "; ".join(f"{n.label()} {_short(n.content)!r}" for n in missing),
        )
    kinds = ", ".join(dict.fromkeys(n.label() for n in page.notices))
    return PageVerdict("pass", f"{len(page.notices)} system notices shown ({kinds})")


_NUMBER = re.compile(r"(?<![\d:.])(\d+)(?![\d:])")


def judge_wait(page: PageObservations | None) -> PageVerdict:
    """CLIENT-002, second half: a notice with `retry_after` shows the wait, in whole seconds, beside its content."""
    if (unobservable := _unobservable(page)) is not None:
        return unobservable
    assert page is not None
    waits = [n for n in page.notices if n.retry_after is not None and n.retry_after > 0]
    if not waits:
        reason = "no notice with retry_after reached the page (with --double the scan provokes Gemini's 429)"
        return PageVerdict("skip", _with_notes(reason, page))
    for notice in waits:
        assert notice.retry_after is not None
        limit = math.ceil(notice.retry_after)
        extra = (notice.line or "").replace(notice.content, "", 1)
        if notice.line is None or not any(1 <= int(n) <= limit for n in _NUMBER.findall(extra)):
            return PageVerdict(
                "fail",
                "",
                f"the {notice.label()} notice shows its wait (retry_after {notice.retry_after:g}): a number of "
                f"seconds from 1 to {limit} beside the content",
                f"its line read {_short(notice.line or '(no line)')!r}",
            )
    return PageVerdict("pass", "the wait shown beside " + ", ".join(f"{n.label()}" for n in waits))


def judge_markup(page: PageObservations | None) -> PageVerdict:
    """CLIENT-004: text with markup from the wire is shown literally and makes no element."""
    if (unobservable := _unobservable(page)) is not None:
        return unobservable
    assert page is not None
    expected = "text from the wire shown as text: the markup literally, no element made from it"
    if page.probes or page.script_ran:
        made = "; ".join(page.probes) or "its onerror handler ran"
        return PageVerdict("fail", "", expected, f"the page made elements from wire text: {made}")
    arrived = [m for m in page.markup if m.arrived]
    if not arrived:
        return PageVerdict("skip", _with_notes("no text with markup reached the page", page))
    hidden = [m for m in arrived if not m.shown]
    if hidden:
        return PageVerdict(
            "fail", "", expected, "; ".join(f"{m.what} {m.text!r} is not on the page as written" for m in hidden)
        )
    return PageVerdict("pass", "markup shown as text in " + ", ".join(m.what for m in arrived))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_CHARS else text[: _TEXT_CHARS - 1] + "…"
