"""The CLIENT-* verdicts of `--browser`, from page observations written by hand (no browser): each judge passes
what it saw hold, fails what it saw broken, and skips what it could not see."""

from __future__ import annotations

import pytest

from roomwire.conformance.page_behaviour import AnswerSeen, MarkupSeen, NoticeSeen, PageObservations
from roomwire.conformance.page_verdicts import (
    judge_markup,
    judge_new_bubble,
    judge_notices,
    judge_spinner,
    judge_typing,
    judge_wait,
)

JUDGES = (judge_typing, judge_spinner, judge_new_bubble, judge_notices, judge_wait, judge_markup)
CHUNKS = ("Hello", ", wor", "ld.")


def answer(
    states: tuple[tuple[str | None, bool], ...] | None = None,
    *,
    chunks: tuple[str, ...] = CHUNKS,
    status: str | None = "ok",
    stopped: bool | None = True,
    new_bubble: bool = True,
    earlier_changed: int = 0,
) -> AnswerSeen:
    """An answer as a good page shows it: an empty bubble with the spinner, then each chunk, then done."""
    if states is None:
        typed = ["".join(chunks[: n + 1]) for n in range(len(chunks))]
        states = ((None, False), ("", True), *((text, True) for text in typed), (typed[-1] if typed else "", False))
    return AnswerSeen("a question", chunks, status, states, stopped, new_bubble, earlier_changed)


def good_page(**changes: object) -> PageObservations:
    notices = (
        NoticeSeen("welcome", "", "room joined", None, True, "room joined"),
        NoticeSeen("error", "upstream_rate_limited", "Try again in 2 s.", 2.0, True, "Try again in 2 s.2 s left"),
    )
    markup = (MarkupSeen("a message", "<b data-rw-probe>x</b>", True, True),)
    fields: dict[str, object] = {"answers": (answer(), answer()), "notices": notices, "markup": markup}
    fields.update(changes)
    return PageObservations(**fields)  # type: ignore[arg-type]


def test_a_good_page_passes_every_judge() -> None:
    for judge in JUDGES:
        assert judge(good_page()).status == "pass", judge.__name__


@pytest.mark.parametrize("page", [None, PageObservations(missing=("ai-spinner",))])
def test_a_page_that_was_not_watched_is_skipped_by_every_judge(page: PageObservations | None) -> None:
    for judge in JUDGES:
        verdict = judge(page)
        assert verdict.status == "skip", judge.__name__
    assert "#ai-spinner" in judge_typing(PageObservations(missing=("ai-spinner",))).detail


def test_typing_fails_an_answer_shown_at_once_and_skips_without_two_chunks() -> None:
    at_once = answer(((None, False), ("", True), ("Hello, world.", False)))
    verdict = judge_typing(good_page(answers=(answer(), at_once)))
    assert verdict.status == "fail" and "chunk(s) 1, 2" in verdict.actual
    skipped = judge_typing(good_page(answers=(answer(chunks=("Hi.",)), answer(status="error", chunks=()))))
    assert skipped.status == "skip" and "two or more chunks" in skipped.detail
    # an answer that got no bubble of its own is CLIENT-005's failure, not a missing typing effect
    assert judge_typing(good_page(answers=(answer(), answer(((None, True),), new_bubble=False)))).status == "pass"


def test_typing_needs_every_chunk_in_order() -> None:
    skipped_one = answer(((None, False), ("Hello", True), ("Hello, world.", True)))
    verdict = judge_typing(good_page(answers=(skipped_one,)))
    assert verdict.status == "fail" and "chunk(s) 2" in verdict.actual


def test_spinner_fails_when_it_keeps_spinning_never_shows_or_stops_early() -> None:
    assert judge_spinner(good_page(answers=(answer(stopped=False),))).status == "fail"
    never = answer(((None, False), ("", False), ("Hello", False), ("Hello, wor", False), ("Hello, world.", False)))
    assert "no spinner" in judge_spinner(good_page(answers=(never,))).actual
    early = answer(((None, False), ("", True), ("Hello", False), ("Hello, wor", True), ("Hello, world.", False)))
    assert "'Hello'" in judge_spinner(good_page(answers=(early,))).actual
    error = answer(((None, False), ("", True), ("no answer", False)), chunks=(), status="error")
    assert judge_spinner(good_page(answers=(error,))).status == "pass"
    assert judge_spinner(good_page(answers=(answer(status=None, stopped=None),))).status == "skip"


def test_a_new_bubble_per_question() -> None:
    assert judge_new_bubble(good_page(answers=(answer(), answer(new_bubble=False)))).status == "fail"
    assert "1 earlier" in judge_new_bubble(good_page(answers=(answer(), answer(earlier_changed=1)))).actual
    assert judge_new_bubble(good_page(answers=(answer(),))).status == "skip"


def test_notices_and_their_wait() -> None:
    hidden = NoticeSeen("leave", "", "Bob left.", None, False, None)
    verdict = judge_notices(good_page(notices=(*good_page().notices, hidden)))
    assert verdict.status == "fail" and "'Bob left.'" in verdict.actual
    assert judge_notices(good_page(notices=())).status == "skip"
    no_wait = NoticeSeen("error", "upstream_rate_limited", "Try again in 2 s.", 2.0, True, "Try again in 2 s.")
    assert judge_wait(good_page(notices=(no_wait,))).status == "fail"  # the number in the content is not the page's
    clock = NoticeSeen("error", "ai_quota", "Wait.", 30.0, True, "Wait. 12:01")
    assert judge_wait(good_page(notices=(clock,))).status == "fail"  # a time of day is not a wait
    counted = NoticeSeen("error", "ai_quota", "Wait.", 30.0, True, "Wait. 30 s")
    assert judge_wait(good_page(notices=(counted,))).status == "pass"
    assert judge_wait(good_page(notices=good_page().notices[:1])).status == "skip"


def test_markup_fails_when_it_became_elements_or_is_not_shown() -> None:
    made = judge_markup(good_page(probes=('<b data-rw-probe="">x</b>',)))
    assert made.status == "fail" and "data-rw-probe" in made.actual
    assert judge_markup(good_page(script_ran=True)).status == "fail"
    unseen = (MarkupSeen("a message", "<b>x</b>", True, False),)
    assert judge_markup(good_page(markup=unseen)).status == "fail"
    assert judge_markup(good_page(markup=(MarkupSeen("a message", "<b>x</b>", False, False),))).status == "skip"
