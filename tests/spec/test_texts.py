"""roomwire.spec.texts: every event and code has its Korean and English text, with the seed's own words."""

from __future__ import annotations

import pytest

from roomwire.spec.codes import RETRY_AFTER_CODES, ErrorCode, NoticeCode, SystemEvent
from roomwire.spec.texts import DEFAULT_LANG, Lang, code_text, event_text, neutral_name


def test_korean_is_the_default_and_keeps_the_seeds_words() -> None:
    assert DEFAULT_LANG is Lang.KO
    assert neutral_name() == "누군가" and neutral_name(Lang.EN) == "Someone"
    assert event_text(SystemEvent.LEAVE, nickname="철수") == "철수가 퇴장했습니다."  # the seed's f-string
    assert event_text(SystemEvent.JOIN, Lang.EN, nickname="Kim") == "Kim joined."
    assert event_text(SystemEvent.WELCOME, room="lobby") == "lobby 방에 연결되었습니다."


@pytest.mark.parametrize("lang", list(Lang))
@pytest.mark.parametrize("code", [*ErrorCode, *NoticeCode])
def test_every_code_has_a_complete_sentence_in_every_language(lang: Lang, code: ErrorCode | NoticeCode) -> None:
    text = code_text(code, lang, retry_after=7, max_chars=2000)
    assert text and "{" not in text and text[-1] in ".)"
    if code in RETRY_AFTER_CODES:
        assert "7" in text


@pytest.mark.parametrize("event", [SystemEvent.WELCOME, SystemEvent.JOIN, SystemEvent.LEAVE])
def test_every_presence_event_has_a_text_in_every_language(event: SystemEvent) -> None:
    for lang in Lang:
        assert "{" not in event_text(event, lang, nickname="n", room="r")
