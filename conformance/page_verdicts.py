"""The verdicts on SPEC.md §14 (CLIENT-*), drawn from what the browser scan saw the chat page do.

Theory of operation. `roomwire.conformance.page_behaviour` records a `PageObservations` while the scan uses the
page; the judges (`judge_*`) here are pure functions of it, each returning a `PageVerdict`: pass (with what was
observed), fail (expected and actual), or skip (why the page's behaviour could not be observed: it lacks the ids,
no answer came in two chunks, no notice had a `retry_after`, ...). A verdict is only ever drawn from something
seen; what was not seen is a skip, never a pass.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from .page_behaviour import PageObservations, shortened


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
            shown = " | ".join(shortened(t) for t in dict.fromkeys(texts)) or "none"
            return PageVerdict(
                "fail",
                "",
                expected=f"the AI bubble shows the answer as it stands after each of its {len(prefixes)} ai_chunk "
                "frames, in order (the typing effect)",
                actual=f"for {shortened(answer.question)!r} the bubble never showed it as it stood after chunk(s) "
                f"{', '.join(map(str, missing))}; its texts were: {shown}",
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
        what = f"{shortened(answer.question)!r} (ai_done {answer.status})"
        if answer.spinner_stopped is False:
            return PageVerdict(
                "fail", "", expected, f"{what}: the spinner still showed {page.spinner_grace_s:g} s after ai_done"
            )
        final = answer.final_text
        pending = [(text, spinner) for text, spinner in answer.states if text != final]
        early = [text for text, spinner in pending if text and not spinner]
        if len(answer.chunks) >= 2 and early:
            partial = shortened(early[0])
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
                f"{shortened(answer.question)!r}: {what}",
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
            "not shown: " + "; ".join(f"{n.label()} {shortened(n.content)!r}" for n in missing),
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
                f"its line read {shortened(notice.line or '(no line)')!r}",
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
