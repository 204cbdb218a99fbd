"""A deliberately leaky deployment of the chat page: the reference page plus leaks chosen per test.

The key-leak scan (`roomwire.conformance.browser`) must be shown to fail where it should: "a check that cannot
fail is not a check" (STYLE). This site serves the real page and a tiny chat server that answers it (welcome,
broadcasts, a streamed answer), and puts the secret wherever a test asks. Leaks that live in the browser
(storage, cookies, globals, console, form values) get the key through `leak.js` *reversed*, so the only place
the scan can see the key in plain form is the one the test chose. With `defects`, the page itself is one of
`broken_page.DEFECTS` (a CLIENT requirement broken), for the behaviour checks of `roomwire check --browser`.
`in_thread()` serves it from a thread of its own, for tests that call the synchronous CLI.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from . import broken_page
from .scripted_server import page_response, welcome

#: Every leak this site can plant, and the place the scan must report it in.
LEAK_PLACES: dict[str, str] = {
    "dom": "dom",
    "script": "script",
    "response_header": "response_header",
    "ws_handshake_header": "response_header",
    "api_response": "response_body",
    "ws_frame": "ws_frame_received",
    "cookie": "cookie",
    "local_storage": "local_storage",
    "local_storage_base64": "local_storage",
    "session_storage": "session_storage",
    "global": "global",
    "console": "console",
    "form_value": "form_value",
}

#: leak.js lines; `KEY` is the secret rebuilt from its reversal at run time, so leak.js never holds it.
_SCRIPT_LEAKS = {
    "local_storage": "localStorage.setItem('roomwire.config', KEY);",
    "local_storage_base64": "localStorage.setItem('roomwire.blob', btoa('{\"key\":\"' + KEY + '\"}'));",
    "session_storage": "sessionStorage.setItem('gemini', KEY);",
    "cookie": "document.cookie = 'gemini=' + KEY + '; path=/; SameSite=Strict';",
    "global": "window.__chatConfig = { model: 'gemini-2.5-flash', apiKey: KEY };",
    "console": "console.log('chat config loaded', KEY);",
    "form_value": (
        "document.addEventListener('DOMContentLoaded', function () {"
        " var input = document.createElement('input'); input.hidden = true; input.id = 'debug-key';"
        " document.body.appendChild(input); input.value = KEY; });"
    ),
    "api_response": "fetch('/api/config').then(function (r) { return r.text(); });",
}


class LeakySite:
    """Serves the page with the chosen leaks and answers it like a chat server would."""

    def __init__(self, secret: str, leaks: frozenset[str] = frozenset(), defects: frozenset[str] = frozenset()) -> None:
        unknown = (leaks - set(LEAK_PLACES)) | (defects - set(broken_page.DEFECTS))
        if unknown:
            raise ValueError(f"unknown leaks or page defects: {sorted(unknown)}")
        self.secret = secret
        self.leaks = leaks
        self.defects = defects  # tests/browser/broken_page.py: the page itself breaks a CLIENT requirement
        self.port = 0
        self._seq = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def chat_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws/chat/{{room_id}}"

    def _leak_js(self) -> str:
        lines = ["(function () {", f"var KEY = {json.dumps(self.secret[::-1])}.split('').reverse().join('');"]
        lines += [line for leak, line in _SCRIPT_LEAKS.items() if leak in self.leaks]
        if "script" in self.leaks:
            lines.append(f"var unused = {json.dumps(self.secret)};")
        return "\n".join([*lines, "})();"]) + "\n"

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path.startswith("/api/v1/ws/chat/"):
            return None
        if path == "/static/leak.js":
            body = self._leak_js().encode()
            return Response(200, "OK", Headers([("Content-Type", "text/javascript; charset=utf-8")]), body)
        if path == "/plain":  # a page that is not the chat page: the scan must chat through its own socket
            body = b"<!doctype html><title>pinball</title><canvas id=game></canvas>"
            return Response(200, "OK", Headers([("Content-Type", "text/html; charset=utf-8")]), body)
        if path == "/api/config":
            body = json.dumps({"model": "gemini-2.5-flash", "key": self.secret}).encode()
            return Response(200, "OK", Headers([("Content-Type", "application/json")]), body)
        response = page_response(path)
        if path == "/":
            response = self._leaky_page(response)
        return response

    def _process_response(self, connection: ServerConnection, request: Request, response: Response) -> Response:
        if "ws_handshake_header" in self.leaks and response.status_code == 101:  # only DevTools' WS tab shows it
            response.headers["X-Upstream-Key"] = self.secret
        return response

    def _leaky_page(self, response: Response) -> Response:
        html = broken_page.apply(bytes(response.body).decode(), self.defects)
        if self.leaks:  # a leaky deployment also loosens the page's policy to run its own script
            html = html.replace("script-src ", "script-src 'self' ", 1)
            html = html.replace("</head>", '<script src="static/leak.js"></script>\n</head>')
        if "dom" in self.leaks:
            html = html.replace("</body>", f'<div hidden data-debug="{self.secret}"></div>\n</body>')
        headers = Headers(response.headers)
        if "response_header" in self.leaks:
            headers["X-Debug-Gemini-Key"] = self.secret
        return Response(200, "OK", headers, html.encode())

    async def _handler(self, ws: ServerConnection) -> None:
        parts = urlsplit(ws.request.path if ws.request else "/")
        room = parts.path.rsplit("/", 1)[-1]
        nickname = parse_qs(parts.query).get("nickname", ["누군가"])[0]
        await self._send(ws, welcome(room, nickname, self._seq, [nickname]))
        await self._send(ws, self._event({"type": "system", "event": "join", "nickname": nickname, "count": 1}))
        try:
            async for raw in ws:
                await self._answer(ws, json.loads(raw), nickname)
        except ConnectionClosed:
            pass

    async def _answer(self, ws: ServerConnection, frame: dict[str, object], nickname: str) -> None:
        kind, frame_id = frame.get("type"), frame.get("id")
        if kind == "user_msg":
            await self._send(ws, self._event({"type": "user_msg", "nickname": nickname, **_pick(frame)}))
        elif kind == "ai_msg" and "ws_frame" in self.leaks:
            text = f"Permission denied: Consumer 'api_key:{self.secret}' has been suspended."
            await self._send(ws, {"type": "system", "event": "error", "code": "upstream_error", "content": text})
            await self._send(ws, {"type": "ai_done", "status": "error", "id": frame_id})
        elif kind == "ai_msg":
            for part in ("안녕하세요, ", "무엇을 ", "도와드릴까요?"):
                await self._send(ws, {"type": "ai_chunk", "content": part, "id": frame_id})
            await self._send(ws, {"type": "ai_done", "status": "ok", "id": frame_id})
        elif kind == "ping":
            await self._send(ws, {"type": "pong", "id": frame_id})

    def _event(self, frame: dict[str, object]) -> dict[str, object]:
        self._seq += 1
        content = frame.get("content") or f"{frame.get('nickname')}가 입장했습니다."
        return {**frame, "seq": self._seq, "ts": 1764000000000, "content": content}

    @staticmethod
    async def _send(ws: ServerConnection, frame: dict[str, object]) -> None:
        await ws.send(json.dumps(frame, ensure_ascii=False))

    @asynccontextmanager
    async def running(self) -> AsyncIterator[LeakySite]:
        async with serve(
            self._handler,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            process_response=self._process_response,
        ) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            yield self

    @contextmanager
    def in_thread(self) -> Iterator[LeakySite]:
        """Serve from a thread with its own event loop until the block ends."""
        loop = asyncio.new_event_loop()
        ready, stop = threading.Event(), asyncio.Event()

        async def serve_until_stopped() -> None:
            async with self.running():
                ready.set()
                await stop.wait()

        thread = threading.Thread(target=loop.run_until_complete, args=(serve_until_stopped(),), daemon=True)
        thread.start()
        try:
            if not ready.wait(10):
                raise RuntimeError("the leaky site did not start")
            yield self
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(10)
            loop.close()


def _pick(frame: dict[str, object]) -> dict[str, object]:
    return {key: frame[key] for key in ("content", "id") if key in frame}
