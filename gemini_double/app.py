"""The double's ASGI app: Gemini's REST routes under `/v1/` and `/v1beta/`, the control API under `/_double/`.

Routes (model names without the `models/` prefix, which the SDK adds):

    POST /{v1,v1beta}/models/{model}:streamGenerateContent?alt=sse   chunks as server-sent events
    POST /{v1,v1beta}/models/{model}:generateContent                 one JSON answer
    POST /{v1,v1beta}/models/{model}:countTokens                     {"totalTokens": N, ...}
    GET  /{v1,v1beta}/models[?pageSize=N&pageToken=T]                 the served models
    GET  /{v1,v1beta}/models/{model}                                  one Model resource

Checks happen in Google's order: the route (404 "Method not found."), the key (403 without one, 400
API_KEY_INVALID for a bad one), the model (404 NOT_FOUND), the body (400 INVALID_ARGUMENT). Every request is
journaled, including the rejected ones; `/_double/` requests are not.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from . import admin, error_bodies, generate, wire
from .answers import prompt_tokens
from .asgi import BodyTooLarge, ClientGone, HttpRequest, Receive, Scope, Send, read_body, send_whole
from .error_bodies import ErrorReply
from .journal import JournalEntry
from .keys import KeyInfo, key_accepted, locate_key
from .request import GenerateRequest, RequestError, parse_count_tokens, parse_generate
from .state import DoubleState

ROUTE = re.compile(r"^/(?P<version>v1|v1beta)/models(?:/(?P<model>[^/:]+)(?::(?P<rpc>[A-Za-z]+))?)?/?$")
GENERATION_RPCS = ("generateContent", "streamGenerateContent")
#: Request headers worth keeping in the journal (never x-goog-api-key).
JOURNAL_HEADERS = ("user-agent", "x-goog-api-client", "x-server-timeout", "content-type")
DEFAULT_PAGE_SIZE = 50


class DoubleApp:
    """The ASGI callable. One per running double; all state lives in `state`."""

    def __init__(self, state: DoubleState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "http":
            request = HttpRequest.from_scope(scope)
            if request.path == "/_double" or request.path.startswith("/_double/"):
                await admin.handle(self.state, request, receive, send)
            else:
                await self._gemini(request, receive, send)

    async def _gemini(self, request: HttpRequest, receive: Receive, send: Send) -> None:
        state = self.state
        key = locate_key(request.headers, request.query)
        entry = state.journal.open(
            time=datetime.now(UTC).isoformat(timespec="milliseconds"),
            received_ms=state.now_ms(),
            http_method=request.method,
            path=request.path,
            query={name: value for name, value in request.query.items() if name != "key"},
            key=key.to_json(),
            headers={name: request.headers[name] for name in JOURNAL_HEADERS if name in request.headers},
        )
        route = ROUTE.match(request.path)
        if route is None:
            await generate.reply_error(send, entry, error_bodies.method_not_found(), key, "not_found")
            return
        version, model, rpc = route.group("version"), route.group("model"), route.group("rpc")
        entry.api_version, entry.model = version, model
        entry.method = rpc or ("getModel" if model else "listModels")
        rejection = self._check(request, key, version, model, rpc)
        if rejection is not None:
            await generate.reply_error(send, entry, rejection[0], key, rejection[1])
        elif rpc is None:
            await self._models(request, send, entry, model, version)
        else:
            assert model is not None
            await self._post(request, receive, send, entry, key, model, rpc)

    def _check(
        self, request: HttpRequest, key: KeyInfo, version: str, model: str | None, rpc: str | None
    ) -> tuple[ErrorReply, str] | None:
        """The first reason to refuse the request before reading its body, with the journal's outcome."""
        if key.location == "none":
            return error_bodies.missing_key(), "missing_key"
        if not key_accepted(key, self.state.config.valid_keys):
            return error_bodies.invalid_key(), "invalid_key"
        expected_method = "GET" if rpc is None else "POST"
        if request.method != expected_method or (rpc is not None and rpc not in (*GENERATION_RPCS, "countTokens")):
            return error_bodies.method_not_found(), "not_found"
        if model is not None and model not in self.state.config.models:
            return error_bodies.model_not_found(model, version, rpc or "getModel"), "not_found"
        return None

    async def _models(
        self, request: HttpRequest, send: Send, entry: JournalEntry, model: str | None, version: str
    ) -> None:
        if model is not None:
            body: dict[str, object] = wire.model_resource(model)
        else:
            body = _model_page(self.state.config.models, request.query)
        await send_whole(send, 200, wire.pretty_json(body), wire.JSON_HEADERS)
        entry.status, entry.outcome = 200, "ok"

    async def _post(
        self,
        request: HttpRequest,
        receive: Receive,
        send: Send,
        entry: JournalEntry,
        key: KeyInfo,
        model: str,
        rpc: str,
    ) -> None:
        try:
            body = await read_body(receive, self.state.config.max_body_bytes)
            parse = parse_count_tokens if rpc == "countTokens" else parse_generate
            parsed = parse(body, entry.api_version or "v1beta", strict=self.state.config.strict_fields)
        except ClientGone:
            entry.outcome, entry.disconnected = "client_disconnected", True
            return
        except BodyTooLarge:
            reply = error_bodies.body_too_large(self.state.config.max_body_bytes)
            await generate.reply_error(send, entry, reply, key, "bad_request")
            return
        except RequestError as exc:
            await generate.reply_error(send, entry, exc.reply, key, "bad_request")
            return
        _journal_request(entry, parsed)
        if rpc == "countTokens":
            body = wire.pretty_json(wire.count_tokens_response(prompt_tokens(parsed)))
            await send_whole(send, 200, body, wire.JSON_HEADERS)
            entry.status, entry.outcome = 200, "ok"
            return
        stream = rpc == "streamGenerateContent"
        call = generate.Call(
            state=self.state,
            receive=receive,
            send=send,
            entry=entry,
            model=model,
            request=parsed,
            key=key,
            sse=request.query.get("alt") == "sse",
            stream=stream,
        )
        await generate.run(call)


def _journal_request(entry: JournalEntry, parsed: GenerateRequest) -> None:
    entry.system_instruction = parsed.system_instruction
    entry.contents = parsed.contents
    entry.generation_config = parsed.generation_config
    entry.last_user_text = parsed.last_user_text


def _model_page(models: tuple[str, ...], query: dict[str, str]) -> dict[str, object]:
    """ListModels with Google's paging: `pageSize` (default 50), an opaque `pageToken` (here: the offset)."""
    size = int(query["pageSize"]) if query.get("pageSize", "").isdigit() and int(query["pageSize"]) > 0 else 0
    size = size or DEFAULT_PAGE_SIZE
    start = int(query["pageToken"]) if query.get("pageToken", "").isdigit() else 0
    page: dict[str, object] = {"models": [wire.model_resource(name) for name in models[start : start + size]]}
    if start + size < len(models):
        page["nextPageToken"] = str(start + size)
    return page


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
