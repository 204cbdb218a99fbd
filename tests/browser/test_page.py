"""The chat page (reference/static/) against a scripted server: SPEC §14, CLIENT-001..005, frame by frame.

Each test writes the server's frames itself, so it can show the page what a good server rarely does (a 1008
close, a duplicate replay, a half-finished answer) and assert the DOM after every single frame.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from playwright.async_api import Page, expect

from .conftest import OpenPage
from .scripted_server import ScriptedConnection, ScriptedServer, welcome

pytestmark = pytest.mark.browser

TIMEOUT_MS = 10_000


async def enter(
    open_page: OpenPage, server: ScriptedServer, *, seq: int = 0, nickname: str = "민수"
) -> tuple[Page, ScriptedConnection]:
    """Open the page on a room, answer its connection with a welcome and its own join."""
    page = await open_page(server.page_url(room="lobby", nickname=nickname))
    conn = await server.next_connection()
    await conn.send(welcome("lobby", nickname, seq, [nickname]))
    await conn.send(join_frame(nickname, seq + 1, count=1))
    await expect(page.locator("#status")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    return page, conn


def join_frame(nickname: str, seq: int, count: int) -> dict[str, object]:
    return {
        "type": "system",
        "event": "join",
        "nickname": nickname,
        "seq": seq,
        "ts": 1764000000000,
        "count": count,
        "content": f"{nickname}가 입장했습니다.",
    }


def user_msg(nickname: str, content: str, seq: int, **extra: object) -> dict[str, object]:
    return {"type": "user_msg", "nickname": nickname, "content": content, "seq": seq, "ts": 1764000000000, **extra}


async def ask(page: Page, question: str) -> None:
    await page.click("#tab-ai")
    await page.fill("#message-input", question)
    await page.press("#message-input", "Enter")


async def test_join_by_url_binds_nickname_in_query_and_shows_welcome(
    open_page: OpenPage, scripted: ScriptedServer
) -> None:
    page, conn = await enter(open_page, scripted)
    assert conn.room == "lobby"
    assert conn.query == {"nickname": "민수", "lang": "ko"}  # no `since` on a first entry
    await expect(page.locator("#chat-log .notice").first).to_have_text("lobby 방에 연결되었습니다.")
    await expect(page.locator("#chat-log .notice[data-event='join']")).to_have_text("민수가 입장했습니다.")
    await expect(page.locator("#members")).to_have_text("1명")  # the own join is not counted twice
    assert await page.evaluate("document.documentElement.lang") == "ko"


async def test_join_form_validates_the_room_id(open_page: OpenPage, scripted: ScriptedServer) -> None:
    page = await open_page(scripted.url)
    await page.fill("#room-input", "로비 1")  # not ^[A-Za-z0-9_-]{1,64}$
    await page.click("#join-button")
    await expect(page.locator("#join-error")).to_be_visible()
    assert scripted.pending_connections() == 0
    await page.fill("#room-input", "pinball_7")
    await page.fill("#nickname-input", "  ")  # blank: join without a nickname (the server's neutral name)
    await page.click("#join-button")
    conn = await scripted.next_connection()
    assert conn.room == "pinball_7"
    assert "nickname" not in conn.query


async def test_chat_message_is_sent_with_id_and_shown_from_the_broadcast(
    open_page: OpenPage, scripted: ScriptedServer
) -> None:
    page, conn = await enter(open_page, scripted)
    await page.fill("#message-input", "안녕하세요\n두 줄")
    await page.click("#send-button")
    sent = await conn.recv()
    assert sent["type"] == "user_msg" and sent["content"] == "안녕하세요\n두 줄"
    assert "nickname" not in sent  # bound by the query (IDENT-001)
    await expect(page.locator("#message-input")).to_have_value("")
    await conn.send(user_msg("민수", sent["content"], 2, id=sent["id"]))
    await conn.send(user_msg("지수", "반가워요", 3, id=sent["id"] + "x"))
    messages = page.locator("#chat-log li.msg.user")
    await expect(messages).to_have_count(2)
    await expect(messages.nth(0)).to_have_class("msg user mine")
    await expect(messages.nth(0).locator(".text")).to_have_text("안녕하세요\n두 줄")
    await expect(messages.nth(1)).to_have_class("msg user")
    await expect(messages.nth(1).locator(".nick")).to_have_text("지수")


async def test_ai_answer_streams_into_one_bubble_and_the_spinner_stops_on_done(
    open_page: OpenPage, scripted: ScriptedServer
) -> None:
    """CLIENT-001: each chunk is visible as it arrives; ai_done stops the spinner."""
    page, conn = await enter(open_page, scripted)
    await ask(page, "핀볼 잘하는 법?")
    request = await conn.recv()
    assert request["type"] == "ai_msg" and request["content"] == "핀볼 잘하는 법?" and request["history"] == []
    bubble = page.locator(f"#ai-log li.msg.ai[data-id='{request['id']}']")
    await expect(page.locator("#ai-spinner")).to_be_visible()
    await expect(bubble).to_have_attribute("data-status", "pending")
    typed = ""
    for chunk in ["플리퍼를 ", "너무 일찍 ", "누르지 ", "마세요!"]:
        await conn.send({"type": "ai_chunk", "content": chunk, "id": request["id"]})
        typed += chunk
        await expect(bubble.locator(".text")).to_have_text(typed)  # every intermediate state is seen
        await expect(page.locator("#ai-spinner")).to_be_visible()
    await conn.send({"type": "ai_done", "status": "ok", "id": request["id"]})
    await expect(page.locator("#ai-spinner")).to_be_hidden()
    await expect(bubble).to_have_attribute("data-status", "ok")
    await expect(bubble.locator(".text")).to_have_text("플리퍼를 너무 일찍 누르지 마세요!")


async def test_a_new_question_gets_a_new_bubble_and_carries_the_history(
    open_page: OpenPage, scripted: ScriptedServer
) -> None:
    """CLIENT-005, and the seed's `history: aiHistory.slice(-10)`."""
    page, conn = await enter(open_page, scripted)
    answers = []
    for number in range(1, 8):
        await ask(page, f"질문 {number}")
        request = await conn.recv()
        expected_history = [
            item
            for n in range(1, number)
            for item in ({"role": "user", "content": f"질문 {n}"}, {"role": "model", "content": f"답 {n}"})
        ][-10:]
        assert request["history"] == expected_history
        await conn.send({"type": "ai_chunk", "content": f"답 {number}", "id": request["id"]})
        await conn.send({"type": "ai_done", "status": "ok", "id": request["id"]})
        answers.append(request["id"])
        await expect(page.locator("#ai-spinner")).to_be_hidden()
    bubbles = page.locator("#ai-log li.msg.ai")
    await expect(bubbles).to_have_count(7)
    for index, answer_id in enumerate(answers):
        await expect(bubbles.nth(index)).to_have_attribute("data-id", answer_id)
        await expect(bubbles.nth(index).locator(".text")).to_have_text(f"답 {index + 1}")


async def test_chunks_without_id_go_to_the_current_bubble(open_page: OpenPage, scripted: ScriptedServer) -> None:
    """A seed server echoes no id: chunks belong to the question in flight, and the next question starts anew."""
    page, conn = await enter(open_page, scripted)
    for question, answer in (("하나", "첫 답"), ("둘", "둘째 답")):
        await ask(page, question)
        await conn.recv()
        for part in answer.split(" "):
            await conn.send({"type": "ai_chunk", "content": part + " "})
        await conn.send({"type": "ai_done"})
        await expect(page.locator("#ai-spinner")).to_be_hidden()
    bubbles = page.locator("#ai-log li.msg.ai .text")
    await expect(bubbles).to_have_text(["첫 답", "둘째 답"])


async def test_upstream_429_shows_the_wait_and_stops_the_spinner(open_page: OpenPage, scripted: ScriptedServer) -> None:
    """CLIENT-002: the notice's content and its retry_after, counted down; ai_done stops the spinner."""
    page, conn = await enter(open_page, scripted)
    await ask(page, "안녕?")
    request = await conn.recv()
    await conn.send(
        {
            "type": "system",
            "event": "error",
            "code": "upstream_rate_limited",
            "retry_after": 3,
            "id": request["id"],
            "content": "AI 사용 한도를 초과했습니다. 3초 후에 다시 시도해 주세요.",
        }
    )
    notice = page.locator("#ai-log .notice[data-code='upstream_rate_limited']")
    await expect(notice.locator(".text")).to_have_text("AI 사용 한도를 초과했습니다. 3초 후에 다시 시도해 주세요.")
    await expect(notice.locator(".countdown")).to_have_attribute("data-remaining", "3")
    await expect(page.locator("#ai-spinner")).to_be_visible()
    await conn.send({"type": "ai_done", "status": "error", "id": request["id"]})
    await expect(page.locator("#ai-spinner")).to_be_hidden()
    await expect(page.locator(f"li.msg.ai[data-id='{request['id']}']")).to_have_attribute("data-status", "error")
    await page.fill("#message-input", "다시")
    await expect(page.locator("#send-button")).to_be_disabled()  # asking again only after the wait
    await expect(notice.locator(".countdown")).to_have_attribute("data-remaining", "1", timeout=TIMEOUT_MS)
    await expect(notice.locator(".countdown")).to_have_attribute("data-remaining", "0", timeout=TIMEOUT_MS)
    await expect(page.locator("#send-button")).to_be_enabled()


async def test_a_truncated_answer_without_text_still_shows_a_line(
    open_page: OpenPage, scripted: ScriptedServer
) -> None:
    """AI-010: `ai_empty`, then `ai_done` truncated with no chunk: the notice and the bubble's own line, no
    "too long" note, nothing added to the history; a server that sends no notice still gets the bubble's line."""
    page, conn = await enter(open_page, scripted)
    await ask(page, "길게 생각해 봐")
    request = await conn.recv()
    notice_text = "AI가 답을 쓰기 전에 답변 길이 한도에 도달했습니다."
    await conn.send(
        {"type": "system", "event": "error", "code": "ai_empty", "id": request["id"], "content": notice_text}
    )
    await conn.send({"type": "ai_done", "status": "truncated", "id": request["id"]})
    bubble = page.locator(f"#ai-log li.msg.ai[data-id='{request['id']}']")
    await expect(bubble).to_have_attribute("data-status", "truncated")
    await expect(bubble.locator(".text")).to_have_text("답변 없음: 글을 쓰기 전에 길이 한도에 도달했습니다.")
    await expect(page.locator("#ai-log .notice[data-code='ai_empty'] .text")).to_have_text(notice_text)
    await expect(page.locator("#ai-spinner")).to_be_hidden()
    await expect(page.get_by_text("답변이 길어 중간에 잘렸습니다.")).to_have_count(0)
    await ask(page, "다시")
    second = await conn.recv()
    assert second["history"] == []  # an empty answer is not a turn to carry
    await conn.send({"type": "ai_done", "status": "truncated", "id": second["id"]})
    again = page.locator(f"#ai-log li.msg.ai[data-id='{second['id']}']")
    await expect(again.locator(".text")).to_have_text("답변 없음: 글을 쓰기 전에 길이 한도에 도달했습니다.")
    await expect(again).to_have_class("msg ai empty")


async def test_system_notices_show_their_content(open_page: OpenPage, scripted: ScriptedServer) -> None:
    page, conn = await enter(open_page, scripted)
    await conn.send(
        {
            "type": "system",
            "event": "leave",
            "nickname": "지수",
            "seq": 2,
            "count": 0,
            "reason": "close",
            "content": "지수가 퇴장했습니다.",
        }
    )
    await conn.send(
        {
            "type": "system",
            "event": "error",
            "code": "rate_limited",
            "retry_after": 1,
            "content": "메시지를 너무 빨리 보내고 있습니다. 1초 후에 다시 시도해 주세요.",
        }
    )
    await conn.send(
        {"type": "system", "event": "notice", "code": "degraded", "content": "일부 기능이 잠시 제한됩니다."}
    )
    await conn.send({"type": "system", "event": "future_event", "content": "미래의 알림"})
    texts = page.locator("#chat-log .notice .text")
    await expect(texts).to_have_text(
        [
            "lobby 방에 연결되었습니다.",
            "민수가 입장했습니다.",
            "지수가 퇴장했습니다.",
            "메시지를 너무 빨리 보내고 있습니다. 1초 후에 다시 시도해 주세요.",
            "일부 기능이 잠시 제한됩니다.",
            "미래의 알림",
        ]
    )
    await expect(page.locator("#chat-log .notice[data-code='rate_limited'] .countdown")).to_be_visible()


async def test_wire_text_is_shown_as_text_never_as_html(open_page: OpenPage, scripted: ScriptedServer) -> None:
    """CLIENT-004: markup in content and nickname is shown literally; nothing is created, nothing runs."""
    page, conn = await enter(open_page, scripted)
    attack = '<img src=x onerror="window.__xss = 1">'
    await conn.send(user_msg("<b>굵게</b>", attack, 2))
    await conn.send({"type": "system", "event": "notice", "content": "<script>window.__xss = 2</script>"})
    await ask(page, "<i>질문</i>")
    request = await conn.recv()
    await conn.send({"type": "ai_chunk", "content": "<svg onload=window.__xss=3>", "id": request["id"]})
    await conn.send({"type": "ai_done", "status": "ok", "id": request["id"]})
    await expect(page.locator("#ai-spinner")).to_be_hidden()
    await page.click("#tab-chat")
    message = page.locator("#chat-log li.msg.user")
    await expect(message.locator(".text")).to_have_text(attack)
    await expect(message.locator(".nick")).to_have_text("<b>굵게</b>")
    await expect(page.locator("#chat-log .notice").last).to_have_text("<script>window.__xss = 2</script>")
    await expect(page.locator("#ai-log li.msg.ai .text")).to_have_text("<svg onload=window.__xss=3>")
    await expect(page.locator("#ai-log li.question .text")).to_have_text("<i>질문</i>")
    assert await page.locator("#app img, #app b, #app i, #app svg, #app script").count() == 0
    await asyncio.sleep(0.2)  # an onerror would have fired by now
    assert await page.evaluate("window.__xss") is None


async def test_unknown_frames_and_fields_are_ignored(open_page: OpenPage, scripted: ScriptedServer) -> None:
    """FRAME-003: a newer server's frames do not break the page."""
    page, conn = await enter(open_page, scripted)
    for raw in ['{"type": "typing", "nickname": "지수"}', "not json", "[1, 2]", '"text"', "null", '{"no_type": 1}']:
        await conn.ws.send(raw)
    await conn.send(user_msg("지수", "새 필드", 2, **{"x-color": "red", "reactions": {"👍": 2}}))
    await conn.send({"type": "pong", "id": "p-1"})
    await conn.send(user_msg("지수", "그 다음", 3))
    await expect(page.locator("#chat-log li.msg.user .text")).to_have_text(["새 필드", "그 다음"])


async def send_chat(page: Page, conn: ScriptedConnection, text: str) -> str:
    """Type and send `text`; returns the id the page gave it."""
    await page.fill("#message-input", text)
    await page.press("#message-input", "Enter")
    sent = await conn.recv()
    assert sent["type"] == "user_msg" and sent["content"] == text
    return str(sent["id"])


async def test_only_the_first_echo_of_an_unguessable_id_is_the_users_own(
    open_page: OpenPage, scripted: ScriptedServer
) -> None:
    """CLIENT-006: a member who copies the page's id gets its message shown as its own, never as the user's."""
    page, conn = await enter(open_page, scripted)
    first, second = await send_chat(page, conn, "내 메시지"), await send_chat(page, conn, "또")
    assert first != second and all(re.fullmatch(r"m-[0-9a-f]{32}", i) for i in (first, second))  # 128 random bits
    await conn.send(user_msg("민수", "내 메시지", 3, id=first))
    await conn.send(user_msg("말로이", "민수인 척", 4, id=first))  # a copy of the broadcast id
    await conn.send({"type": "system", "event": "error", "code": "rate_limited", "content": "천천히", "id": second})
    await conn.send(user_msg("말로이", "이것도 민수인 척", 5, id=second))  # refused, never broadcast: not ours
    messages = page.locator("#chat-log li.msg.user")
    await expect(messages.locator(".text")).to_have_text(["내 메시지", "민수인 척", "이것도 민수인 척"])
    await expect(messages).to_have_class(["msg user mine", "msg user", "msg user"])


@pytest.mark.parametrize("complete", [True, False])
async def test_after_a_reconnect_only_a_complete_replay_returns_an_unconfirmed_message(
    open_page: OpenPage, scripted: ScriptedServer, complete: bool
) -> None:
    """CLIENT-006: the echo lost to a drop counts in a complete replay; nothing of the old connection counts after."""
    page, conn = await enter(open_page, scripted, seq=4)
    lost = await send_chat(page, conn, "끊기기 직전")
    await conn.close(1012)
    again = await scripted.next_connection(within=15)
    resume = {"since": 5, "replayed": 1, "complete": complete}
    await again.send(welcome("lobby", "민수", 6, ["민수"], resume=resume))
    await again.send(user_msg("민수", "끊기기 직전", 6, id=lost))  # replayed
    await again.send(join_frame("민수", 7, count=1))
    await again.send(user_msg("말로이", "복사", 8, id=lost))
    messages = page.locator("#chat-log li.msg.user")
    await expect(messages.locator(".text")).to_have_text(["끊기기 직전", "복사"])
    await expect(messages).to_have_class(["msg user mine" if complete else "msg user", "msg user"])


@pytest.mark.parametrize("code", [1011, 1012, 1013, 1006])
async def test_abnormal_close_reconnects_with_since_the_last_seq(
    open_page: OpenPage, scripted: ScriptedServer, code: int
) -> None:
    """CLIENT-003: 1006 (no close frame), 1011, 1012, 1013 are followed by a reconnect to the same room."""
    page, conn = await enter(open_page, scripted, seq=4)
    await conn.send(user_msg("지수", "끊기기 전", 6))
    await expect(page.locator("#chat-log li.msg.user")).to_have_count(1)
    if code == 1006:
        conn.ws.transport.abort()  # TCP reset, no close frame: what a killed server looks like
    else:
        await conn.close(code)
    again = await scripted.next_connection(within=15)
    assert again.room == "lobby"
    assert again.query == {"nickname": "민수", "lang": "ko", "since": "6"}
    await expect(page.locator("#chat-log .notice.dropped")).to_have_count(1)
    await again.send(welcome("lobby", "민수", 6, ["민수"], resume={"since": 6, "replayed": 0, "complete": True}))
    await expect(page.locator("#status")).to_have_attribute("data-state", "open")
    await page.fill("#message-input", "다시 왔어요")
    await page.press("#message-input", "Enter")
    assert (await again.recv())["content"] == "다시 왔어요"


@pytest.mark.parametrize("code", [1003, 1008, 1009])
async def test_no_reconnect_after_the_server_refused_what_the_page_sent(
    open_page: OpenPage, scripted: ScriptedServer, code: int
) -> None:
    """CLIENT-003: 1003, 1008 and 1009 stop the page; only the person can reconnect."""
    page, conn = await enter(open_page, scripted)
    await conn.close(code)
    await expect(page.locator("#status")).to_have_attribute("data-state", "stopped")
    await expect(page.locator(f"#chat-log .notice[data-code='{code}']")).to_contain_text(str(code))
    await expect(page.locator("#message-input")).to_be_disabled()
    with pytest.raises(TimeoutError):
        await scripted.next_connection(within=3)  # the first retry would have come within 0.5 s
    await page.click("#reconnect-button")
    again = await scripted.next_connection()
    assert again.query["since"] == "1"


async def test_failed_attempts_back_off_exponentially_with_full_jitter(
    open_page: OpenPage, scripted: ScriptedServer
) -> None:
    """Each refused attempt raises the ceiling of the next wait: min(30 s, 0.5 s * 2^n), drawn in [0, ceiling)."""
    page, conn = await enter(open_page, scripted)
    await conn.close(1012)
    for attempt in range(1, 4):
        status = page.locator(f"#status[data-attempt='{attempt}']")  # waiting, or already connecting again
        await expect(status).to_have_count(1, timeout=TIMEOUT_MS)
        delay = int(await status.get_attribute("data-retry-ms") or "-1")
        assert 0 <= delay < 500 * 2 ** (attempt - 1)
        refused = await scripted.next_connection(within=15)
        await refused.close(1013)  # "try again later", before any welcome: the count keeps rising


async def test_backoff_policy_function(open_page: OpenPage, scripted: ScriptedServer) -> None:
    page = await open_page(scripted.url)
    policy = await page.evaluate(
        """() => ({
            high: [...Array(10).keys()].map((n) => RoomwireChat.backoffDelay(n, 0.999999)),
            low: [...Array(10).keys()].map((n) => RoomwireChat.backoffDelay(n, 0)),
            reconnect: [1000, 1001, 1003, 1006, 1008, 1009, 1011, 1012, 1013].map(RoomwireChat.shouldReconnect),
        })"""
    )
    assert policy["high"] == [499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999, 29999]
    assert policy["low"] == [0] * 10
    assert policy["reconnect"] == [True, True, False, True, False, False, True, True, True]


async def test_resume_replays_are_shown_once(open_page: OpenPage, scripted: ScriptedServer) -> None:
    """RECON-004: events replayed after a reconnect appear once, even if a server repeats one."""
    page, conn = await enter(open_page, scripted, seq=4)
    await conn.send(user_msg("지수", "하나", 6))
    await conn.close(1012)
    again = await scripted.next_connection(within=15)
    assert again.query["since"] == "6"
    await again.send(
        welcome("lobby", "민수", 8, ["민수", "지수"], resume={"since": 6, "replayed": 2, "complete": True})
    )
    await again.send(user_msg("지수", "하나", 6))  # a duplicate: at or below `since`
    await again.send(user_msg("지수", "둘", 7))
    await again.send(user_msg("지수", "셋", 8))
    await again.send(user_msg("지수", "둘", 7))  # repeated
    await again.send(join_frame("민수", 9, count=2))
    await expect(page.locator("#chat-log li.msg.user .text")).to_have_text(["하나", "둘", "셋"])
    await expect(page.locator("#members")).to_have_text("2명")


async def test_a_restarted_room_counter_is_followed(open_page: OpenPage, scripted: ScriptedServer) -> None:
    """After a server restart the room's seq starts again from 0: new events must not be taken for duplicates."""
    page, conn = await enter(open_page, scripted, seq=40)
    await conn.close(1012)
    again = await scripted.next_connection(within=15)
    assert again.query["since"] == "41"
    await again.send(welcome("lobby", "민수", 0, ["민수"], resume={"since": 41, "replayed": 0, "complete": True}))
    await again.send(join_frame("민수", 1, count=1))
    await again.send(user_msg("지수", "재시작 후", 2))
    await expect(page.locator("#chat-log li.msg.user .text")).to_have_text(["재시작 후"])


async def test_drop_during_an_answer_stops_the_spinner(open_page: OpenPage, scripted: ScriptedServer) -> None:
    page, conn = await enter(open_page, scripted)
    await ask(page, "길게 말해줘")
    request = await conn.recv()
    await conn.send({"type": "ai_chunk", "content": "옛날 옛적에", "id": request["id"]})
    await expect(page.locator("#ai-spinner")).to_be_visible()
    await conn.close(1012)
    bubble = page.locator(f"li.msg.ai[data-id='{request['id']}']")
    await expect(bubble).to_have_attribute("data-status", "interrupted")
    await expect(page.locator("#ai-spinner")).to_be_hidden()
    await expect(bubble.locator(".text")).to_have_text("옛날 옛적에")
    await expect(bubble.locator(".note")).to_have_text("연결이 끊겨 답변이 중단되었습니다.")


async def test_english_ui_and_lang_parameter(open_page: OpenPage, scripted: ScriptedServer) -> None:
    page = await open_page(scripted.page_url(room="lobby", nickname="Mina", lang="en"))
    conn = await scripted.next_connection()
    assert conn.query["lang"] == "en"
    await expect(page.locator("#send-button")).to_have_text("Send")
    assert await page.evaluate("document.documentElement.lang") == "en"


async def test_page_sends_nothing_the_spec_does_not_define(open_page: OpenPage, scripted: ScriptedServer) -> None:
    """Every frame the page sends is a client frame of SPEC §2.1 with only its fields."""
    page, conn = await enter(open_page, scripted)
    await page.fill("#message-input", "hi")
    await page.press("#message-input", "Enter")
    await ask(page, "q")
    frames = [await conn.recv(), await conn.recv()]
    assert {tuple(sorted(frame)) for frame in frames} == {
        ("content", "id", "type"),
        ("content", "history", "id", "type"),
    }
    assert json.dumps(frames, ensure_ascii=False).isprintable()
