from __future__ import annotations

import json

from roomwire.gemini_double import canned
from roomwire.gemini_double.answers import (
    Directives,
    cut_styles,
    cut_to_tokens,
    estimate_tokens,
    forced_language,
    is_mostly_hangul,
    parse_directives,
    plan_answer,
    split_chunks,
)
from roomwire.gemini_double.request import GenerateRequest, parse_generate

BANK = canned.sentence_bank()


def _request(*turns: tuple[str, str], system: str | None = None, **config: object) -> GenerateRequest:
    body: dict[str, object] = {"contents": [{"role": r, "parts": [{"text": t}]} for r, t in turns]}
    if system is not None:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    if config:
        body["generationConfig"] = config
    return parse_generate(json.dumps(body).encode())


def test_deterministic_for_prompt_contents_and_seed() -> None:
    request = _request(("user", "What is a tide pool?"))
    first = plan_answer(request, seed=0, bank=BANK)
    assert plan_answer(request, seed=0, bank=BANK) == first
    assert plan_answer(request, seed=1, bank=BANK).text != first.text
    assert plan_answer(_request(("user", "What is a tide pool?"), system="x"), seed=0, bank=BANK).text != first.text
    history = _request(("user", "hi"), ("model", "hello"), ("user", "What is a tide pool?"))
    assert plan_answer(history, seed=0, bank=BANK).text != first.text


def test_chunks_join_to_the_text_and_mostly_cut_inside_words() -> None:
    answer = plan_answer(_request(("user", "Explain. [[sentences=4]]")), seed=3, bank=BANK)
    assert "".join(answer.chunks) == answer.text and len(answer.chunks) >= 2
    pairs = list(zip(answer.chunks, answer.chunks[1:], strict=False))
    inside = [not a[-1:].isspace() and not b[:1].isspace() for a, b in pairs]
    assert sum(inside) >= len(inside) // 2
    assert answer.running_tokens()[-1] == estimate_tokens(answer.text)
    assert list(answer.running_tokens()) == sorted(answer.running_tokens())


def test_korean_in_korean_out() -> None:
    answer = plan_answer(_request(("user", "오늘 날씨 어때요?")), seed=0, bank=BANK)
    assert answer.language == "ko" and is_mostly_hangul(answer.text)
    assert plan_answer(_request(("user", "Weather? 날씨")), seed=0, bank=BANK).language == "en"


def test_system_instruction_can_force_the_language() -> None:
    assert forced_language("Always answer in English.") == "en"
    assert forced_language("항상 한국어로 답하세요.") == "ko"
    assert forced_language("Answer in English or in Korean.") is None and forced_language("") is None
    answer = plan_answer(_request(("user", "오늘 날씨 어때요?"), system="Reply in English only."), seed=0, bank=BANK)
    assert answer.language == "en" and answer.text.isascii()
    assert plan_answer(_request(("user", "hi"), system="[[lang=ko]]"), seed=0, bank=BANK).language == "ko"
    assert plan_answer(_request(("user", "hi [[lang=en]]"), system="[[lang=ko]]"), seed=0, bank=BANK).language == "en"


def test_directives() -> None:
    directives, clean = parse_directives("Hello [[chunks=6]] there [[ sentences = 3 ]] [[lang=ko]] [[bogus=1]]")
    assert directives == Directives(chunks=6, sentences=3, lang="ko") and clean == "Hello  there"
    assert parse_directives("[[chunks=0]] [[chunks=x]] [[lang=fr]]")[0] == Directives()
    assert parse_directives("[[chunks=9999]] [[sentences=9999]]")[0] == Directives(chunks=64, sentences=200)
    assert parse_directives("[[echo]]")[0].echo == "prompt" and parse_directives("[[echo=config]]")[0].echo == "config"
    assert parse_directives("[[interval=150]]")[0].interval_ms == 150
    assert parse_directives("[[interval=99999]] [[interval=-5]]")[0].interval_ms == 2000
    answer = plan_answer(_request(("user", "x [[chunks=6]] [[sentences=3]]")), seed=0, bank=BANK)
    assert len(answer.chunks) == 6 and answer.text.count(". ") >= 2


def test_echo_modes() -> None:
    def echo(*turns: tuple[str, str], system: str | None = None, **config: object) -> str:
        return plan_answer(_request(*turns, system=system, **config), seed=0, bank=BANK).text

    assert echo(("user", "say exactly this [[echo]]")) == "say exactly this"
    assert echo(("user", "[[echo=system]]"), system="Be a pirate.") == "Be a pirate."
    assert echo(("user", "a"), ("model", "b"), ("user", "[[echo=history]]")) == "turns=3 roles=user,model,user"
    assert echo(("user", "[[echo=config]]"), temperature=0.5) == '{"temperature":0.5}'
    empty = plan_answer(_request(("user", "[[echo=prompt]]")), seed=0, bank=BANK)
    assert empty.text == "" and empty.chunks == ("",)


def test_max_output_tokens_cuts_with_max_tokens() -> None:
    answer = plan_answer(_request(("user", "Explain [[sentences=5]]"), maxOutputTokens=7), seed=0, bank=BANK)
    assert answer.finish_reason == "MAX_TOKENS" and estimate_tokens(answer.text) <= 7
    assert answer.full_text.startswith(answer.text) and len(answer.full_text) > len(answer.text)
    assert plan_answer(_request(("user", "x"), maxOutputTokens=0), seed=0, bank=BANK).finish_reason == "STOP"
    assert plan_answer(_request(("user", "x"), maxOutputTokens=5000), seed=0, bank=BANK).finish_reason == "STOP"


def test_thinking_models_think_within_the_budget() -> None:
    def plan(text: str, **config: object) -> tuple[int, str, str]:
        body = {"contents": [{"role": "user", "parts": [{"text": text}]}], "generationConfig": config}
        answer = plan_answer(parse_generate(json.dumps(body).encode()), seed=0, bank=BANK, thinking=True)
        return answer.thoughts_tokens, answer.finish_reason, answer.text

    thoughts, finish, text = plan("Explain")
    assert 8 <= thoughts <= 48 and finish == "STOP" and text
    assert plan("Explain", thinkingConfig={"thinkingBudget": 0})[0] == 0
    assert plan("Explain [[thoughts=40]]", thinkingConfig={"thinking_budget": 10})[0] == 10
    assert plan("Explain [[thoughts=40]]", thinkingConfig={"thinkingBudget": -1})[0] == 40  # dynamic
    assert plan("Explain [[thoughts=40]]", maxOutputTokens=30) == (30, "MAX_TOKENS", "")  # all spent thinking
    thoughts, finish, text = plan("Explain [[thoughts=20]] [[sentences=5]]", maxOutputTokens=30)
    assert (thoughts, finish) == (20, "MAX_TOKENS") and 0 < estimate_tokens(text) <= 10
    assert plan_answer(_request(("user", "[[thoughts=40]]")), seed=0, bank=BANK).thoughts_tokens == 0  # not thinking
    assert parse_directives("[[thoughts=999999]]")[0].thoughts == 65536


def test_token_estimate_and_cut() -> None:
    assert estimate_tokens("") == 0 and estimate_tokens("abcd") == 1 and estimate_tokens("abcde") == 2
    assert estimate_tokens("안녕") == 2 and estimate_tokens("hi 안녕") == 3
    assert cut_to_tokens("abcdefgh", 1) == "abcd" and cut_to_tokens("안녕하세요", 2) == "안녕"
    assert cut_to_tokens("abc", 0) == ""


def test_split_chunks_edge_cases() -> None:
    assert split_chunks("abc", 1) == ("abc",) and split_chunks("ab", 5) == ("a", "b")
    assert "".join(split_chunks("   ", 2)) == "   " and all(split_chunks("   ", 2))
    pieces = split_chunks("hello world and more words here", 4)
    assert "".join(pieces) == "hello world and more words here" and all(pieces)


def test_min_chunks_for_faults() -> None:
    answer = plan_answer(_request(("user", "hi [[chunks=1]]")), seed=0, bank=BANK, min_chunks=3)
    assert len(answer.chunks) == 3


def test_sentences_do_not_repeat_until_the_bank_runs_out() -> None:
    answer = plan_answer(_request(("user", f"x [[sentences={len(BANK.en) + 2}]]")), seed=0, bank=BANK)
    sentences = answer.text.split(". ")
    assert len(set(sentences[: len(BANK.en) - 1])) == len(BANK.en) - 1


def test_some_cuts_land_next_to_spaces_and_newlines_deterministically() -> None:
    """Google cuts next to whitespace too; a client that trims chunks must lose text against the double (AI-004).
    Whatever the question, an answer of 12 chunks and 6 sentences has a cut before and after a space and one
    right before its paragraph break, and the same request is cut the same way every time."""
    for n in range(40):
        request = _request(("user", f"Explain pinball {n}. [[chunks=12]] [[sentences=6]]"))
        answer = plan_answer(request, seed=n % 3, bank=BANK)
        pairs = list(zip(answer.chunks, answer.chunks[1:], strict=False))
        assert "".join(answer.chunks) == answer.text and "\n\n" in answer.text
        assert any(b[:1] == " " for _, b in pairs) and any(a[-1:] == " " for a, _ in pairs)
        assert any(b[:1] == "\n" for _, b in pairs)
        assert plan_answer(request, seed=n % 3, bank=BANK).chunks == answer.chunks


def test_cut_styles_keep_most_cuts_inside_words() -> None:
    assert cut_styles(12, b"") == ["inside"] * 11
    for key in (b"\x00", b"\xff\x10", bytes(range(32))):
        styles = cut_styles(12, key)
        assert {"after", "before"} <= set(styles) and styles.count("inside") >= 7
    assert cut_styles(2, b"\x01").count("inside") == 0 and cut_styles(2, b"\x02") == ["inside"]
    assert cut_styles(12, b"\x07", newline_cut=5)[4] == "before"
