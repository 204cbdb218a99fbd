"""The chat page served by the real reference server (`roomwire serve` subprocess) and its Gemini double.

The seed's checklist as a person would check it in a browser: two tabs chat, the AI answer types itself out,
a closed tab is announced, the page survives a server restart on its own, markup stays text, a 429 shows the
wait, and the key never reaches the browser even when upstream echoes it. And what issue 13 did to the page: a
copied message id, a foreign page that frames the chat.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from websockets.asyncio.client import connect

from roomwire.conformance.browser import scan_page_for_secret
from roomwire.gemini_double.keys import fingerprint
from roomwire.gemini_double.server import RunningDouble

from .conftest import OpenPage, canary_key, html_site, require_chromium
from .reference_server import ReferenceProcess

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000
#: After a restart the page may be sitting out a backoff of a few seconds: wait well beyond the 30 s cap's reach.
RECONNECT_TIMEOUT_MS = 45_000


async def enter(open_page: OpenPage, server: ReferenceProcess, nickname: str, room: str = "lobby") -> Page:
    page = await open_page(f"{server.url}?room={room}&nickname={nickname}")
    await expect(page.locator("#status")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    return page


async def say(page: Page, text: str) -> None:
    await page.click("#tab-chat")
    await page.fill("#message-input", text)
    await page.press("#message-input", "Enter")


async def ask(page: Page, question: str) -> None:
    await page.click("#tab-ai")
    await page.fill("#message-input", question)
    await expect(page.locator("#send-button")).to_be_enabled()
    await page.press("#message-input", "Enter")


async def control(double: RunningDouble, method: str, path: str, body: dict[str, object] | None = None) -> Any:
    async with httpx.AsyncClient(base_url=double.base_url, timeout=10) as client:
        response = await client.request(method, path, json=body)
        response.raise_for_status()
        return response.json()


async def test_two_pages_chat_in_one_room(open_page: OpenPage, reference: ReferenceProcess) -> None:
    minsu = await enter(open_page, reference, "민수")
    jisu = await enter(open_page, reference, "지수")
    await expect(minsu.locator("#chat-log .notice[data-event='join']").last).to_have_text("지수가 입장했습니다.")
    await expect(minsu.locator("#members")).to_have_text("2명")
    await say(minsu, "안녕 지수!")
    await expect(jisu.locator("#chat-log li.msg.user .text")).to_have_text(["안녕 지수!"])
    await expect(jisu.locator("#chat-log li.msg.user .nick")).to_have_text(["민수"])
    await say(jisu, "안녕 민수!")
    await expect(minsu.locator("#chat-log li.msg.user .text")).to_have_text(["안녕 지수!", "안녕 민수!"])
    await expect(minsu.locator("#chat-log li.msg.user")).to_have_class(["msg user mine", "msg user"])
    other = await enter(open_page, reference, "다른방", room="other")
    await say(other, "여긴 다른 방")
    await say(minsu, "마지막")
    await expect(jisu.locator("#chat-log li.msg.user .text")).to_have_text(["안녕 지수!", "안녕 민수!", "마지막"])


#: Records every text the newest AI bubble shows, with whether the spinner was showing then.
RECORD_STATES = """() => {
  window.__states = [];
  const log = document.getElementById('ai-log');
  new MutationObserver(() => {
    const bubbles = log.querySelectorAll('li.msg.ai');
    if (bubbles.length === 0) return;
    window.__states.push([bubbles[bubbles.length - 1].querySelector('.text').textContent,
                          document.getElementById('ai-spinner').hidden]);
  }).observe(log, {subtree: true, childList: true, characterData: true});
}"""


async def test_ai_answer_types_itself_out(
    open_page: OpenPage, reference: ReferenceProcess, double: RunningDouble
) -> None:
    """CLIENT-001 with a real server: the bubble grows chunk by chunk while the spinner shows, then stops."""
    await control(double, "POST", "/_double/config", {"chunk_interval_ms": 120})
    page = await enter(open_page, reference, "민수")
    chunks: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: _collect_chunk(payload, chunks)))
    await page.reload()  # re-open the socket with the listener in place
    await expect(page.locator("#status")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    await page.evaluate(RECORD_STATES)
    await ask(page, "핀볼에서 멀티볼은 어떻게 시작해? [[chunks=6]]")
    bubble = page.locator("#ai-log li.msg.ai")
    await expect(bubble).to_have_attribute("data-status", "ok", timeout=TIMEOUT_MS)
    await expect(page.locator("#ai-spinner")).to_be_hidden()
    states = cast(list[list[Any]], await page.evaluate("window.__states"))
    texts = [text for text, _ in states if text]
    distinct = [text for index, text in enumerate(texts) if index == 0 or text != texts[index - 1]]
    assert len(chunks) == 6
    assert distinct == ["".join(chunks[: n + 1]) for n in range(6)]  # every chunk was on screen, in order
    assert all(not spinner_hidden for text, spinner_hidden in states if text and text != distinct[-1])
    await expect(bubble.locator(".text")).to_have_text("".join(chunks))


def _collect_chunk(payload: str | bytes, chunks: list[str]) -> None:
    frame = json.loads(payload)
    if frame.get("type") == "ai_chunk":
        chunks.append(frame["content"])


async def test_closing_a_tab_shows_the_leave_notice_in_the_other(
    open_page: OpenPage, reference: ReferenceProcess
) -> None:
    minsu = await enter(open_page, reference, "민수")
    jisu = await enter(open_page, reference, "지수")
    await expect(minsu.locator("#members")).to_have_text("2명")
    await jisu.close()
    await expect(minsu.locator("#chat-log .notice[data-event='leave']")).to_have_text(
        "지수가 퇴장했습니다.", timeout=TIMEOUT_MS
    )
    await expect(minsu.locator("#members")).to_have_text("1명")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_page_reconnects_by_itself_after_the_server_restarts(
    open_page: OpenPage, reference: ReferenceProcess, signum: signal.Signals
) -> None:
    """CLIENT-003 / RECON-001: stop the server, start it again on the same port, chat again without a reload."""
    minsu = await enter(open_page, reference, "민수")
    jisu = await enter(open_page, reference, "지수")
    sockets: list[str] = []
    minsu.on("websocket", lambda ws: sockets.append(ws.url))
    await say(minsu, "재시작 전")
    await expect(jisu.locator("#chat-log li.msg.user")).to_have_count(1)
    await asyncio.to_thread(reference.stop, signum)
    if signum == signal.SIGTERM:  # RECON-002: a graceful restart says so before closing with 1012
        notice = minsu.locator("#chat-log .notice[data-code='server_restart']")
        await expect(notice).to_have_text("서버가 재시작합니다. 잠시 후 다시 연결됩니다.")
        await expect(minsu.locator("#status")).not_to_have_attribute("data-state", "open")
        assert await minsu.locator("#chat-log .notice.dropped").count() == 0  # the server already said why
    else:
        await expect(minsu.locator("#chat-log .notice.dropped")).to_have_count(1)
    await expect(minsu.locator("#status")).not_to_have_attribute("data-state", "open")
    await expect(minsu.locator("#message-input")).to_be_disabled()
    await asyncio.to_thread(reference.start)
    for page in (minsu, jisu):
        await expect(page.locator("#status")).to_have_attribute("data-state", "open", timeout=RECONNECT_TIMEOUT_MS)
    assert sockets and all("since=" in url for url in sockets)
    await say(minsu, "다시 왔어요")
    await expect(jisu.locator("#chat-log li.msg.user .text")).to_have_text(["재시작 전", "다시 왔어요"])
    await say(jisu, "반가워")
    await expect(minsu.locator("#chat-log li.msg.user .text")).to_have_text(["재시작 전", "다시 왔어요", "반가워"])


async def test_markup_in_a_message_is_shown_as_text(open_page: OpenPage, reference: ReferenceProcess) -> None:
    """CLIENT-004: the server relays content exactly (CHAT-002); the page must not turn it into elements."""
    sender = await enter(open_page, reference, "<b>해커</b>")
    reader = await enter(open_page, reference, "지수")
    attack = '<img src=x onerror="window.__xss = 1"><script>window.__xss = 2</script>'
    await say(sender, attack)
    for page in (sender, reader):
        message = page.locator("#chat-log li.msg.user")
        await expect(message.locator(".text")).to_have_text(attack)
        await expect(message.locator(".nick")).to_have_text("<b>해커</b>")
        assert await page.locator("#app img, #app b, #app script").count() == 0
    await asyncio.sleep(0.3)  # time for an onerror to fire, had an element been made
    for page in (sender, reader):
        assert await page.evaluate("window.__xss") is None


async def test_upstream_429_shows_the_wait_and_the_spinner_stops(
    open_page: OpenPage, reference: ReferenceProcess, double: RunningDouble
) -> None:
    """Checklist item 8 / CLIENT-002: Gemini's 429 becomes a notice with its wait; the spinner stops."""
    await control(
        double, "POST", "/_double/faults", {"kind": "rate_limit", "count": 1, "match": "quota-test", "retry_delay_s": 4}
    )
    page = await enter(open_page, reference, "민수")
    await ask(page, "quota-test: 안녕?")
    notice = page.locator("#ai-log .notice[data-code='upstream_rate_limited']")
    await expect(notice.locator(".text")).to_have_text(
        "AI 사용 한도를 초과했습니다. 4초 후에 다시 시도해 주세요.", timeout=TIMEOUT_MS
    )
    await expect(page.locator("#ai-spinner")).to_be_hidden()
    await expect(page.locator("#ai-log li.msg.ai")).to_have_attribute("data-status", "error")
    await expect(page.locator("#send-button")).to_be_disabled()
    await expect(notice.locator(".countdown")).to_have_attribute("data-remaining", "0", timeout=TIMEOUT_MS)
    await ask(page, "이제 괜찮아?")
    await expect(page.locator("#ai-log li.msg.ai").last).to_have_attribute("data-status", "ok", timeout=TIMEOUT_MS)


async def test_a_thinking_answer_without_text_shows_a_line(
    open_page: OpenPage, reference: ReferenceProcess, double: RunningDouble
) -> None:
    """AI-010 end to end: the double's thinking model spends the whole limit on thoughts; the page says so."""
    await control(double, "POST", "/_double/faults", {"kind": "thinking_exhausted", "count": 1, "match": "think-test"})
    page = await enter(open_page, reference, "민수")
    await ask(page, "think-test: 플리퍼가 뭐야?")
    bubble = page.locator("#ai-log li.msg.ai")
    await expect(bubble).to_have_attribute("data-status", "truncated", timeout=TIMEOUT_MS)
    await expect(bubble.locator(".text")).to_have_text("답변 없음: 글을 쓰기 전에 길이 한도에 도달했습니다.")
    notice = page.locator("#ai-log .notice[data-code='ai_empty'] .text")
    await expect(notice).to_have_text("AI가 답을 쓰기 전에 답변 길이 한도에 도달했습니다.")
    await expect(page.locator("#ai-spinner")).to_be_hidden()


async def test_the_key_never_reaches_the_browser_even_when_upstream_echoes_it(
    reference: ReferenceProcess, double: RunningDouble
) -> None:
    """SEC-003, SEC-005 and checklist item 9, on the reference: the scan finds nothing, and did everything."""
    result = await scan_page_for_secret(
        reference.url, reference.api_key, double_url=double.base_url, executable=require_chromium()
    )
    assert result.findings == (), result.describe()
    assert result.notes == (), result.describe()
    assert "made upstream fail with key_echo and saw the answer end" in result.steps
    assert "made upstream fail with rate_limit and saw the answer end" in result.steps
    journal = await control(double, "GET", "/_double/journal")
    echoed = [entry for entry in journal["entries"] if entry["outcome"] == "key_echo"]
    assert len(echoed) == 1
    assert echoed[0]["key"]["fingerprint"] == fingerprint(reference.api_key)  # the canary did go upstream


async def test_a_copied_message_id_does_not_make_the_copy_look_like_the_victims_own(
    open_page: OpenPage, reference: ReferenceProcess
) -> None:
    """CLIENT-006, issue 13 finding 8: another member re-sends the victim's broadcast id with its own text."""
    victim = await enter(open_page, reference, "민수")
    url = f"ws://127.0.0.1:{reference.port}/api/v1/ws/chat/lobby?nickname=mallory"
    async with connect(url) as attacker:
        await say(victim, "내가 쓴 글")
        while True:
            frame = json.loads(await asyncio.wait_for(attacker.recv(), TIMEOUT_MS / 1000))
            if frame["type"] == "user_msg" and frame["content"] == "내가 쓴 글":
                break
        await attacker.send(json.dumps({"type": "user_msg", "id": frame["id"], "content": "민수인 척하는 글"}))
        messages = victim.locator("#chat-log li.msg.user")
        await expect(messages.locator(".text")).to_have_text(["내가 쓴 글", "민수인 척하는 글"], timeout=TIMEOUT_MS)
        await expect(messages).to_have_class(["msg user mine", "msg user"])
        await expect(messages.nth(1).locator(".nick")).to_have_text("mallory")


async def framed(browser: Browser, foreign: str) -> tuple[list[str], list[str]]:
    """The URLs of the frames of `foreign` once it has loaded its frame, and what the console said."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        await page.goto(foreign)
        frame = page.frame_locator("iframe")
        try:
            await expect(frame.locator("#app")).to_have_count(1, timeout=3000)
        except AssertionError:
            pass  # refused: the frame holds Chromium's error page
        return [f.url for f in page.frames], console
    finally:
        await context.close()


async def test_a_foreign_page_cannot_frame_the_chat_unless_it_is_named(
    browser: Browser, double: RunningDouble, tmp_path: Path
) -> None:
    """SEC-009: frame-ancestors as a header ('self' by default), and a game's origin once it is configured."""
    chat = ReferenceProcess(double_url=double.base_url, api_key=canary_key(), workdir=tmp_path)
    page_url = f"{chat.url}?room=lobby&nickname=x"
    framing = f'<!doctype html><title>foreign</title><iframe src="{page_url}" width="400" height="600"></iframe>'
    with html_site(framing) as foreign:
        try:
            await asyncio.to_thread(chat.start)
            urls, console = await framed(browser, foreign)
            assert urls == [foreign, "chrome-error://chromewebdata/"], urls
            assert any("frame-ancestors 'self'" in line for line in console), console  # refused by the policy
            await asyncio.to_thread(chat.stop)
            chat.env["ROOMWIRE_PAGE_FRAME_ANCESTORS"] = foreign.rstrip("/")
            await asyncio.to_thread(chat.start)
            urls, console = await framed(browser, foreign)
            assert urls == [foreign, page_url], (urls, console)  # the game that embeds the chat
        finally:
            await asyncio.to_thread(chat.stop)
