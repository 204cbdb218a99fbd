"""The seed's FastAPI WebSocket backend, copied as written, to test the harness with and to benchmark against.

The seed (`ai-chat-connection-spec.ko.md`, "백엔드 구현") gives `backend/app/api/v1/chat_ws.py`. The part between
the `--- seed ---` markers below is that file, keeping its ConnectionManager, handler, comments and bugs, which
issue 4 lists and `tests/targets/test_seed_fastapi.py` proves:

1. an SDK exception (an upstream 429, ...) kills the asker's handler and leaves its dead socket in the room, so
   every later broadcast to that room fails and disconnects whoever speaks next;
2. a client that leaves before sending anything raises UnboundLocalError (`data`): no leave notice;
3. two clients leaving at once crash the broadcast loop;
4. a non-JSON frame or one without `type` (KeyError) kills the handler as in 1;
5. uvicorn logs the unhandled SDK error at ERROR, and `str(APIError)` holds the whole upstream body (which can
   echo the key);
6. `await ws.send_json` per member: one client that stops reading stalls its room once ~4 MB is queued.

Also: no `ai_done` after an error, no limits, no keepalive of its own (uvicorn's ping, 20 s), the client's
`history` trusted as sent (only `[-10:]`).

Differences from the seed's text, each the least needed to run it here:

- `from backend.app.core.config import settings` becomes the `Settings`/`settings` defined below, read once from
  the process environment (no `backend/.env` loading) under the seed's own variable names (`GEMINI_API_KEY`,
  `AI_CHAT_MODEL`, `AI_CHAT_MAX_TOKENS`, `AI_CHAT_SYSTEM_PROMPT`) with the seed's `backend/.env` example values
  as defaults, except the key: the seed's example `AIza...` is replaced by a fake key of the right shape, so the
  copy starts without configuration and the Gemini double accepts it.
- Type annotations where the seed has none (`-> None`, `dict[str, Any]`), for `mypy --strict`; the seed's
  imports moved to the top of this module (plus `FastAPI`); ruff's formatting. No behaviour changes.
- The seed never shows its app: `app = FastAPI()` with `app.include_router(router, prefix="/api/v1")` is what
  its file path and URL (`GET /api/v1/ws/chat/{room_id}`) imply.
- `main()` runs uvicorn programmatically (`python -m roomwire.targets.seed_fastapi --host H --port N`), on a
  socket it binds itself so that `--port 0` works and the chosen port is printed (`LISTENING_PREFIX`).

The module-level `gemini` client, `manager` and `router` are kept as the seed has them, so one process serves
one copy: tests and benchmarks run it as a subprocess. The real `google-genai` SDK talks to Gemini; point it at
the Gemini double with the SDK's own `GOOGLE_GEMINI_BASE_URL` environment variable (no code change).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect
from google import genai
from google.genai import types

#: The seed's `backend/.env` example key is `AIza...`; this one has the shape and is no one's.
FAKE_SEED_API_KEY = "AIzaFAKE-roomwire-seed-fastapi-test-000"  # FAKE test key, never a real one

#: `main()` prints this, then `host:port`, on one stdout line once the socket is bound.
LISTENING_PREFIX = "seed_fastapi listening on "


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The four settings the seed reads from `backend.app.core.config.settings`, under the seed's names."""

    GEMINI_API_KEY: str = field(default=FAKE_SEED_API_KEY, repr=False)
    AI_CHAT_MODEL: str = "gemini-2.5-flash"
    AI_CHAT_MAX_TOKENS: int = 300
    AI_CHAT_SYSTEM_PROMPT: str = "너는 핀볼 게임 채팅창의 AI 친구야. 짧고 유쾌하게 대화해줘."

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Settings from the seed's environment variable names; unset ones keep the seed's example values."""
        default = cls()
        return cls(
            GEMINI_API_KEY=environ.get("GEMINI_API_KEY") or default.GEMINI_API_KEY,
            AI_CHAT_MODEL=environ.get("AI_CHAT_MODEL") or default.AI_CHAT_MODEL,
            AI_CHAT_MAX_TOKENS=int(environ.get("AI_CHAT_MAX_TOKENS") or default.AI_CHAT_MAX_TOKENS),
            AI_CHAT_SYSTEM_PROMPT=environ.get("AI_CHAT_SYSTEM_PROMPT") or default.AI_CHAT_SYSTEM_PROMPT,
        )


settings = Settings.from_env(os.environ)

# --- seed: backend/app/api/v1/chat_ws.py, as written (annotations added; its imports are at the top) ---
router = APIRouter()
gemini = genai.Client(api_key=settings.GEMINI_API_KEY)


# room_id → [WebSocket, ...] 형태로 연결 관리
class ConnectionManager:
    def __init__(self) -> None:
        self.rooms: dict[str, list[WebSocket]] = {}

    async def connect(self, room_id: str, ws: WebSocket) -> None:
        await ws.accept()
        self.rooms.setdefault(room_id, []).append(ws)

    def disconnect(self, room_id: str, ws: WebSocket) -> None:
        self.rooms.get(room_id, []).remove(ws)

    async def broadcast(self, room_id: str, message: dict[str, Any]) -> None:
        for ws in self.rooms.get(room_id, []):
            await ws.send_json(message)


manager = ConnectionManager()


@router.websocket("/ws/chat/{room_id}")
async def chat_ws(ws: WebSocket, room_id: str) -> None:
    await manager.connect(room_id, ws)
    try:
        while True:
            data = await ws.receive_json()

            if data["type"] == "user_msg":
                # 사용자 간 채팅: 같은 방 전체에 브로드캐스트
                await manager.broadcast(
                    room_id,
                    {
                        "type": "user_msg",
                        "nickname": data["nickname"],
                        "content": data["content"],
                    },
                )

            elif data["type"] == "ai_msg":
                # AI 채팅: Gemini 스트리밍 호출 후 토큰 단위로 전송
                history = data.get("history", [])[-10:]
                contents = [types.Content(role=h["role"], parts=[types.Part(text=h["content"])]) for h in history]
                contents.append(types.Content(role="user", parts=[types.Part(text=data["content"])]))
                async for chunk in await gemini.aio.models.generate_content_stream(
                    model=settings.AI_CHAT_MODEL,
                    contents=contents,
                    config=types.GenerateContentConfig(
                        system_instruction=settings.AI_CHAT_SYSTEM_PROMPT,
                        max_output_tokens=settings.AI_CHAT_MAX_TOKENS,
                        temperature=0.8,
                    ),
                ):
                    if chunk.text:
                        await ws.send_json({"type": "ai_chunk", "content": chunk.text})
                await ws.send_json({"type": "ai_done"})

    except WebSocketDisconnect:
        manager.disconnect(room_id, ws)
        await manager.broadcast(
            room_id,
            {
                "type": "system",
                "content": f"{data.get('nickname', '누군가')}가 퇴장했습니다.",
            },
        )


# --- end of seed ---

app = FastAPI()
app.include_router(router, prefix="/api/v1")


def serve(
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
    prefix: str,
    build: Callable[[argparse.Namespace], FastAPI],
    arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None,
) -> int:
    """Serve the app `build` makes from the arguments with uvicorn's defaults on `--host`/`--port`."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed on stdout)")
    parser.add_argument("--log-level", default="info")
    arguments(parser)
    args = parser.parse_args(argv)
    served = build(args)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)  # connections wait in the backlog until uvicorn serves, so the printed port is usable at once
    host, port = sock.getsockname()[:2]
    print(f"{prefix}{host}:{port}", flush=True)  # noqa: T201 - the parent process reads the port here
    server = uvicorn.Server(uvicorn.Config(served, log_level=args.log_level))
    server.run(sockets=[sock])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Serve `app` with uvicorn's defaults (as `uvicorn backend.main:app` would) on `--host`/`--port`."""
    return serve(
        argv,
        prog="python -m roomwire.targets.seed_fastapi",
        description=__doc__.split("\n")[0],
        prefix=LISTENING_PREFIX,
        build=lambda args: app,
    )


if __name__ == "__main__":
    sys.exit(main())
