"""The seed's design with its defects fixed and its protocol unchanged: what `roomwire check --profile seed` must pass.

The same FastAPI route, ConnectionManager idea, google-genai streaming call, settings and frames as
roomwire.targets.seed_fastapi (the seed's five types: `user_msg`, `ai_msg` in; `user_msg`, `ai_chunk`, `ai_done`,
`system` out; no welcome, no `seq`, no `event` or `code`), with each defect of the seed's copy fixed:

1. an upstream failure (a 429, any SDK error, a stream that stops for `AI_SILENCE_S`) gives the asker a `system`
   notice with a fixed text, then `ai_done`; the handler lives on and the room is unharmed;
2. a member that never spoke is announced on leave (as `누군가`, the seed's own neutral name), by the last nickname
   it sent otherwise;
3. members leaving at once: a broadcast never raises, whatever state a member's socket is in;
4. a frame that is not JSON, has no `type`, or misses a field gets a `system` notice and changes nothing else;
5. the log names an error's type, never its text (which can echo the key); answers are scrubbed of the key;
6. each member has a bounded send queue drained by its own writer: one that stops reading is closed when its queue
   fills and announced as left, and never stalls its room;
7. the seed's page (served at `/`, seed_page.html: its own `ws.onmessage`) inserts wire text as text, never HTML,
   starts a new AI bubble per question, keeps the answers in its history and reconnects after a drop.

The AI answer is still awaited in the read loop, as the seed does (roomwire/1's AI-005 is not part of the seed
protocol). `--defect NAME` serves it with one defect put back (`DEFECTS`): the broken targets that prove the seed
profile's checks can fail (roomwire.targets.broken lists them as `seed-fixed:NAME`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from fastapi import APIRouter, FastAPI, WebSocket
from fastapi.responses import HTMLResponse
from google import genai
from google.genai import errors, types

from roomwire.reference.redaction import AnswerScrubber, register_secret
from roomwire.targets.seed_fastapi import Settings, serve

LISTENING_PREFIX = "seed_fixed listening on "
NEUTRAL_NAME = "누군가"
#: Frames one member may have waiting; past it the member does not read and is closed (the seed's 6th defect).
SEND_QUEUE_FRAMES = 512
#: An answer whose upstream sends nothing for this long is ended with a notice (no client spins forever);
#: `--ai-silence-s` (the bundled target: the reference's bundled ai_timeout_s, so the suite's stall waits are short).
AI_SILENCE_S = 30.0
BAD_FRAME_TEXT = "잘못된 메시지 형식입니다."
AI_ERROR_TEXT = "AI 응답 중 오류가 발생했습니다. 잠시 후 다시 시도해 주세요."
AI_RATE_LIMITED_TEXT = "AI 사용량이 많습니다. 잠시 후 다시 시도해 주세요."
#: The page's headers: not judged under the seed profile (SEC-009 is roomwire/1's), sent because they cost nothing.
PAGE_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
log = logging.getLogger("roomwire.targets.seed_fixed")

#: Defects to put back: name -> (what is wrong, the seed-profile requirements it must fail and no other).
DEFECTS: dict[str, tuple[str, str]] = {
    "no_leave_for_silent": ("announces no leave for a member that never sent a frame", "PRES-006"),
    "crashes_on_bad_json": ("the handler dies on a frame that is not JSON", "INPUT-001"),
    "crashes_on_missing_type": ("the handler dies on a JSON object without a string `type`", "INPUT-002"),
    # and INPUT-001: Python's json reads INPUT-001's `{"type":"user_msg","content":NaN}`, a user_msg with a bad field
    "crashes_on_bad_fields": ("the handler dies on a user_msg or ai_msg that misses a field", "INPUT-001 INPUT-003"),
    "no_notice_on_upstream_error": (
        "ends a failed answer with ai_done but shows no error notice",
        "UP-001 UP-002 UP-003",
    ),
    "leave_names_nobody": (
        "announces every leave as 누군가, never by the member's nickname",
        "PRES-002 PRES-003 PRES-004",
    ),
    "empty_notice_content": ("sends its bad-frame notice with an empty content", "FRAME-004"),
    "extra_frame_type": ("sends an `ai_start` frame, a type the seed protocol lacks, before each answer", "FRAME-001"),
    "escapes_content": ("HTML-escapes the content it broadcasts", "CHAT-002"),
    "broadcasts_twice": ("sends every user_msg to each member twice", "CHAT-004"),
    # judged in the browser only (`--browser`): tests/browser/test_seed_page.py
    "page_inserts_html": (
        "its page inserts a chat message's content as HTML, as the seed's addMessage may",
        "CLIENT-004",
    ),
}
#: The page defect's edit of seed_page.html (one line of its addMessage).
PAGE_DEFECT_EDIT = ("text.textContent = msg.content;", "text.innerHTML = msg.content;")
#: The bundled name of the fixed seed; `seed-fixed:NAME` serves it with defect NAME put back.
BUNDLED_NAME = "seed-fixed"


def bundled_names() -> list[str]:
    return [BUNDLED_NAME, *(f"{BUNDLED_NAME}:{name}" for name in DEFECTS)]


def judged_in_browser(defect: str) -> bool:
    """A defect of the page: only a run with `--browser` can fail it."""
    return all(rid.startswith("CLIENT-") for rid in DEFECTS[defect][1].split())


def page_html(defect: str | None = None) -> str:
    """The chat page served at `/` (with `page_inserts_html`, its defect put back)."""
    html = resources.files("roomwire.targets").joinpath("seed_page.html").read_text(encoding="utf-8")
    if defect == "page_inserts_html":
        old, new = PAGE_DEFECT_EDIT
        assert html.count(old) == 1, "seed_page.html's addMessage changed: update PAGE_DEFECT_EDIT"
        html = html.replace(old, new)
    return html


@dataclass
class Member:
    """One connection: its socket, its last nickname, and the queue its writer drains."""

    ws: WebSocket
    nickname: str | None = None
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(SEND_QUEUE_FRAMES))
    writer: asyncio.Task[None] | None = None

    def offer(self, text: str) -> bool:
        """Queue a frame; False when the queue is full (the member stopped reading)."""
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True

    async def write(self) -> None:
        with contextlib.suppress(Exception):  # a closed socket ends the writer; the read loop sees the close
            while True:
                await self.ws.send_text(await self.queue.get())


class ConnectionManager:
    """room_id -> members, as the seed's, with a broadcast that never raises and never waits on a member."""

    def __init__(self, defect: str | None) -> None:
        self.rooms: dict[str, list[Member]] = {}
        self.defect = defect

    async def connect(self, room_id: str, ws: WebSocket) -> Member:
        await ws.accept()
        member = Member(ws)
        member.writer = asyncio.create_task(member.write())
        self.rooms.setdefault(room_id, []).append(member)
        return member

    def disconnect(self, room_id: str, member: Member) -> bool:
        """Remove `member`; False when it was already gone (announced once only)."""
        members = self.rooms.get(room_id, [])
        if member not in members:
            return False
        members.remove(member)
        if not members:
            self.rooms.pop(room_id, None)
        if member.writer is not None:
            member.writer.cancel()
        return True

    def send(self, room_id: str, member: Member, message: dict[str, Any]) -> None:
        if not member.offer(json.dumps(message, ensure_ascii=False)):
            self.drop(room_id, member)

    def broadcast(self, room_id: str, message: dict[str, Any]) -> None:
        text = json.dumps(message, ensure_ascii=False)
        for member in list(self.rooms.get(room_id, [])):
            if not member.offer(text):
                self.drop(room_id, member)

    def drop(self, room_id: str, member: Member) -> None:
        """A member that stopped reading: closed, and announced as left."""
        if self.disconnect(room_id, member):
            asyncio.create_task(_close(member.ws))
            self.announce_leave(room_id, member)

    def announce_leave(self, room_id: str, member: Member) -> None:
        if self.defect == "no_leave_for_silent" and member.nickname is None:
            return
        name = NEUTRAL_NAME if self.defect == "leave_names_nobody" else member.nickname or NEUTRAL_NAME
        self.broadcast(room_id, {"type": "system", "content": f"{name}가 퇴장했습니다."})


async def _close(ws: WebSocket) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(code=1013), 5.0)


def create_app(settings: Settings, defect: str | None = None, silence_s: float = AI_SILENCE_S) -> FastAPI:
    """The app: the seed's route at /api/v1/ws/chat/{room_id}, fixed (see the module docstring)."""
    register_secret(settings.GEMINI_API_KEY)  # masked in answers (and in any log record of this process)
    gemini = genai.Client(api_key=settings.GEMINI_API_KEY)
    manager = ConnectionManager(defect)
    router = APIRouter()
    chat = Chat(settings, gemini, manager, silence_s)

    @router.websocket("/ws/chat/{room_id}")
    async def chat_ws(ws: WebSocket, room_id: str) -> None:
        member = await manager.connect(room_id, ws)
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if isinstance(text, str):
                    await chat.handle(room_id, member, text)
        finally:
            if manager.disconnect(room_id, member):
                manager.announce_leave(room_id, member)

    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    page = page_html(defect)

    @app.get("/", response_class=HTMLResponse)
    async def chat_page() -> HTMLResponse:
        return HTMLResponse(page, headers=PAGE_HEADERS)

    return app


@dataclass
class Chat:
    """What the seed's handler does with one frame, with bad frames and upstream failures handled."""

    settings: Settings
    gemini: genai.Client
    manager: ConnectionManager
    silence_s: float = AI_SILENCE_S

    async def handle(self, room_id: str, member: Member, text: str) -> None:
        defect = self.manager.defect
        try:
            data = json.loads(text)
        except ValueError:
            if defect == "crashes_on_bad_json":
                raise
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            if defect == "crashes_on_missing_type" and isinstance(data, dict):
                raise KeyError("type")
            return self.notice(room_id, member, BAD_FRAME_TEXT)
        if isinstance(data.get("nickname"), str) and data["nickname"]:
            member.nickname = data["nickname"]
        content = data.get("content")
        if data["type"] == "user_msg" and isinstance(content, str) and isinstance(data.get("nickname"), str):
            if defect == "escapes_content":
                content = content.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            frame = {"type": "user_msg", "nickname": data["nickname"], "content": content}
            for _ in range(2 if defect == "broadcasts_twice" else 1):
                self.manager.broadcast(room_id, frame)
        elif data["type"] == "ai_msg" and isinstance(content, str):
            await self.answer(room_id, member, content, data.get("history"))
        elif data["type"] in ("user_msg", "ai_msg"):
            if defect == "crashes_on_bad_fields":
                raise KeyError("content")
            self.notice(room_id, member, BAD_FRAME_TEXT)
            if data["type"] == "ai_msg":
                self.manager.send(room_id, member, {"type": "ai_done"})
        else:
            self.notice(room_id, member, BAD_FRAME_TEXT)

    def notice(self, room_id: str, member: Member, text: str) -> None:
        content = "" if self.manager.defect == "empty_notice_content" and text == BAD_FRAME_TEXT else text
        self.manager.send(room_id, member, {"type": "system", "content": content})

    async def answer(self, room_id: str, member: Member, question: str, history: object) -> None:
        """The seed's streaming call; every outcome ends with one ai_done, a failure after a notice."""
        send = self.manager.send
        if self.manager.defect == "extra_frame_type":
            send(room_id, member, {"type": "ai_start"})
        scrubber = AnswerScrubber()
        try:
            async for piece in self._stream(question, history):
                if safe := scrubber.feed(piece):
                    send(room_id, member, {"type": "ai_chunk", "content": safe})
            if tail := scrubber.flush():
                send(room_id, member, {"type": "ai_chunk", "content": tail})
        except Exception as exc:  # every upstream failure: a fixed text, never the error's own (it may echo the key)
            log.warning("AI answer failed: %s", type(exc).__name__)
            limited = isinstance(exc, errors.APIError) and exc.code == 429
            if self.manager.defect != "no_notice_on_upstream_error":
                self.notice(room_id, member, AI_RATE_LIMITED_TEXT if limited else AI_ERROR_TEXT)
        send(room_id, member, {"type": "ai_done"})

    async def _stream(self, question: str, history: object) -> AsyncIterator[str]:
        items = history[-10:] if isinstance(history, list) else []
        contents = [
            types.Content(role=h["role"], parts=[types.Part(text=h["content"])])
            for h in items
            if isinstance(h, dict) and h.get("role") in ("user", "model") and isinstance(h.get("content"), str)
        ]
        contents.append(types.Content(role="user", parts=[types.Part(text=question)]))
        stream = await asyncio.wait_for(
            self.gemini.aio.models.generate_content_stream(
                model=self.settings.AI_CHAT_MODEL,
                contents=contents,
                config=types.GenerateContentConfig(
                    system_instruction=self.settings.AI_CHAT_SYSTEM_PROMPT,
                    max_output_tokens=self.settings.AI_CHAT_MAX_TOKENS,
                    temperature=0.8,
                ),
            ),
            self.silence_s,
        )
        chunks = aiter(stream)
        while True:
            try:
                chunk = await asyncio.wait_for(anext(chunks), self.silence_s)
            except StopAsyncIteration:
                return
            if chunk.text:
                yield chunk.text


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the fixed seed (or, with `--defect`, one defect put back) on `--host`/`--port`."""
    import os

    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--defect", choices=sorted(DEFECTS), help="put one defect back (a broken target)")
        parser.add_argument(
            "--ai-silence-s", type=float, default=AI_SILENCE_S, help="end an answer whose upstream is silent this long"
        )

    return serve(
        argv,
        prog="python -m roomwire.targets.seed_fixed",
        description=__doc__.split("\n")[0],
        prefix=LISTENING_PREFIX,
        build=lambda args: create_app(Settings.from_env(os.environ), args.defect, args.ai_silence_s),
        arguments=arguments,
    )


if __name__ == "__main__":
    sys.exit(main())
