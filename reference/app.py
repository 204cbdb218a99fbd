"""`create_app(settings)`: the reference server as a Quart app, with every part replaceable for tests.

Routes are thin: `/healthz`, `/metrics`, the chat page at `/` (when `static/index.html` exists, with the headers of
`page.py`), and the chat WebSocket, which `endpoint.ChatRouter` serves in front of Quart. Every other response
gets `page.BASE_HEADERS` (SEC-009). Resources (broker, AI client, the in-process
Gemini double in fake mode) live in a `while_serving` generator: they exist exactly while the app serves.

Seams (for tests and the conformance suite's deliberately broken variants):
    connection_class   a `Connection` subclass (per-connection behaviour, one small method per rule)
    broker / broker_factory    the room registry (`broker.Broker`)
    ai_client_factory  `(settings, base_url, api_key) -> AiClient`, the upstream
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any, cast

from prometheus_client import CONTENT_TYPE_LATEST
from quart import Quart, Response, abort, jsonify

from roomwire.reference import page, redaction
from roomwire.reference.ai import AiClient
from roomwire.reference.ai_worker import WorkerAiClient
from roomwire.reference.connection import Connection
from roomwire.reference.endpoint import AsgiApp, ChatEndpoint, ChatRouter
from roomwire.reference.handshake import CHAT_PREFIX
from roomwire.reference.hub import Hub
from roomwire.reference.rooms.broker import Broker
from roomwire.reference.rooms.factory import BrokerFactory, create_broker
from roomwire.reference.settings import Settings

log = logging.getLogger(__name__)

HUB_KEY = "roomwire"

AiClientFactory = Callable[[Settings, "str | None", str], AiClient]


def genai_client(settings: Settings, base_url: str | None, api_key: str) -> AiClient:
    """The default upstream: the real google-genai SDK, pointed at `base_url` (None: Google itself), in the AI
    worker that `settings.ai_worker` names (`ai_worker.py`), or on the server's own loop ("inline")."""
    from roomwire.reference.ai import GenaiClient

    options: dict[str, Any] = {
        "api_key": api_key, "model": settings.ai_model, "system_prompt": settings.ai_system_prompt,
        "max_tokens": settings.ai_max_tokens, "temperature": settings.ai_temperature, "base_url": base_url,
    }  # fmt: skip
    if settings.ai_worker == "inline":
        return GenaiClient(**options)
    return WorkerAiClient(options, host=settings.ai_worker, log_level=settings.log_level)


def hub_of(app: Quart) -> Hub:
    hub: Hub = app.extensions[HUB_KEY]
    return hub


def create_app(
    settings: Settings,
    *,
    broker: Broker | None = None,
    broker_factory: BrokerFactory = create_broker,
    connection_class: type[Connection] = Connection,
    ai_client_factory: AiClientFactory = genai_client,
) -> Quart:
    """The app for `settings` (see the module docstring for the seams).

    Raises:
        ConfigError: the broker URL names a broker that is not available.
    """
    hub = Hub(settings, broker if broker is not None else broker_factory(settings), connection_class)
    app = Quart(__name__, static_folder=None)
    app.extensions[HUB_KEY] = hub
    router: Any = ChatRouter(cast(AsgiApp, app.asgi_app), ChatEndpoint(hub))
    app.asgi_app = router  # type: ignore[method-assign]

    @app.while_serving
    async def resources() -> AsyncGenerator[None, None]:
        async for _ in _serving(hub, ai_client_factory):
            yield

    _routes(app, hub)
    if settings.no_limits:
        log.warning(
            "--no-limits: frame size (now %d bytes), message rate and per-address limits are NOT limited; "
            "for benchmarks only",
            settings.limits.max_frame_bytes,
        )
    return app


async def _serving(hub: Hub, ai_client_factory: AiClientFactory) -> AsyncGenerator[None, None]:
    settings = hub.settings
    key = settings.gemini_api_key.reveal() if settings.gemini_api_key is not None else ""
    redaction.install([key] if key else [])
    async with contextlib.AsyncExitStack() as stack:
        if key:
            stack.callback(redaction.unregister_secret, key)
        await hub.broker.start()
        stack.push_async_callback(hub.broker.close)
        base_url, api_key = await _upstream(settings, key, stack)
        hub.ai = ai_client_factory(settings, base_url, api_key)
        stack.push_async_callback(hub.ai.aclose)
        if isinstance(hub.ai, WorkerAiClient):
            await hub.ai.start()
        hub.page = page.load_page(settings.page_frame_ancestors)  # after the AI client: a variant may swap the page
        hub.serving.set()
        log.info("upstream: %s (%s)", "Gemini double" if settings.gemini == "fake" else "Gemini", base_url or "Google")
        yield
        if hub.shutting_down:
            await hub.begin_shutdown()


async def _upstream(settings: Settings, key: str, stack: contextlib.AsyncExitStack) -> tuple[str | None, str]:
    """Where the SDK goes and with which key: fake mode never sends a real key, even to a double."""
    if settings.gemini == "real":
        return settings.gemini_base_url, key
    from roomwire.gemini_double import FAKE_API_KEY, DoubleConfig, serve_double

    if settings.gemini_base_url is not None:
        return settings.gemini_base_url, FAKE_API_KEY
    double = await stack.enter_async_context(serve_double(DoubleConfig(latency="fast")))
    return double.base_url, FAKE_API_KEY


def _routes(app: Quart, hub: Hub) -> None:
    @app.get("/healthz")
    async def healthz() -> tuple[Response, int]:
        health = hub.health()
        return jsonify(health), 200 if health["status"] == "ok" else 503

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(hub.metrics.render(), content_type=CONTENT_TYPE_LATEST)

    others = dict(page.BASE_HEADERS)

    @app.get("/")
    async def index() -> Response:
        chat_page = hub.page
        if chat_page is None:
            abort(404)
        return Response(chat_page.body, content_type="text/html; charset=utf-8", headers=chat_page.headers)

    @app.after_request
    async def base_headers(response: Response) -> Response:
        for name, value in others.items():
            response.headers.setdefault(name, value)
        return response

    @app.get(CHAT_PREFIX + "<path:room>")
    async def not_upgraded(room: str) -> Response:
        return Response("this is a WebSocket endpoint\n", status=426, headers={"Upgrade": "websocket"})
