"""The control API under `/_double/`: JSON in, JSON out, never reachable under `/v1*`.

    GET    /_double/health             {"status": "ok"}
    GET    /_double/config             the current settings
    POST   /_double/config             change settings (PUT and PATCH too): {"latency": "zero", "quota_rpm": null}
    GET    /_double/faults             {"faults": [pending faults]}
    POST   /_double/faults             queue: {"kind": K, "count": N, "model"?, "match"?, ...} -> 201 {"fault": ...}
    DELETE /_double/faults             drop every pending fault
    GET    /_double/journal[?match=T]  {"entries": [...]}, oldest first; `match` filters on the last user turn
    DELETE /_double/journal            clear the journal
    POST   /_double/reset              clear faults, journal and quota counters (not the config)
    POST   /_double/release            {"match": T}: go on with every stream a `hold` fault holds whose last user
                                       turn contains T -> {"released": N}; a release before the hold begins counts

Errors use Google's envelope, `{"error": {"code", "message", "status"}}`, so one client parser serves both.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from . import canned, wire
from .asgi import BodyTooLarge, ClientGone, HttpRequest, Receive, Send, read_body, send_whole
from .config import ConfigError
from .faults import FaultError, fault_from_json
from .state import DoubleState

MAX_CONTROL_BODY = 8 * 1024 * 1024
CONTROL_HEADERS = (("content-type", "application/json"), ("cache-control", "no-store"))


async def handle(state: DoubleState, request: HttpRequest, receive: Receive, send: Send) -> None:
    """Serve one control request."""
    route = request.path.removeprefix("/_double").strip("/")
    method = request.method
    try:
        body = await read_body(receive, MAX_CONTROL_BODY) if method in ("POST", "PUT", "PATCH") else b""
        status, payload = _dispatch(state, route, method, body, request.query)
    except ClientGone:
        return
    except BodyTooLarge:
        status, payload = _error(400, "INVALID_ARGUMENT", "control request body too large")
    await send_whole(send, status, wire.pretty_json(payload), CONTROL_HEADERS)


def _dispatch(
    state: DoubleState, route: str, method: str, body: bytes, query: dict[str, str]
) -> tuple[int, dict[str, object]]:
    handlers: dict[tuple[str, str], Callable[[], tuple[int, dict[str, object]]]] = {
        ("health", "GET"): lambda: (200, {"status": "ok"}),
        ("config", "GET"): lambda: (200, {"config": state.config.to_json()}),
        ("faults", "GET"): lambda: (200, {"faults": [fault.to_json() for fault in state.faults.pending()]}),
        ("faults", "DELETE"): lambda: _clear_faults(state),
        ("journal", "GET"): lambda: (200, {"entries": state.journal.entries(query.get("match"))}),
        ("journal", "DELETE"): lambda: _clear_journal(state),
        ("reset", "POST"): lambda: _reset(state),
        ("release", "POST"): lambda: _release(state, body),
    }
    handler = handlers.get((route, method))
    if handler is not None:
        return handler()
    if route == "config" and method in ("POST", "PUT", "PATCH"):
        return _configure(state, body)
    if route == "faults" and method == "POST":
        return _queue_fault(state, body)
    if route in {name for name, _ in handlers}:
        return _error(405, "INVALID_ARGUMENT", f"{method} is not allowed on /_double/{route}")
    return _error(404, "NOT_FOUND", f"no control route /_double/{route}; see `roomwire gemini-double --help`")


def _error(code: int, status: str, message: str) -> tuple[int, dict[str, object]]:
    return code, {"error": {"code": code, "message": message, "status": status}}


def _json_object(body: bytes) -> dict[str, object]:
    try:
        data = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def _configure(state: DoubleState, body: bytes) -> tuple[int, dict[str, object]]:
    try:
        config = state.configure(_json_object(body))
    except (ValueError, ConfigError) as exc:
        return _error(400, "INVALID_ARGUMENT", str(exc))
    return 200, {"config": config.to_json()}


def _queue_fault(state: DoubleState, body: bytes) -> tuple[int, dict[str, object]]:
    try:
        fault = fault_from_json(_json_object(body), canned.recorded_body)
    except (ValueError, FaultError) as exc:
        return _error(400, "INVALID_ARGUMENT", str(exc))
    return 201, {"fault": state.faults.add(fault).to_json()}


def _clear_faults(state: DoubleState) -> tuple[int, dict[str, object]]:
    dropped = len(state.faults.pending())
    state.faults.clear()
    return 200, {"dropped": dropped}


def _clear_journal(state: DoubleState) -> tuple[int, dict[str, object]]:
    state.journal.clear()
    return 200, {"cleared": True}


def _release(state: DoubleState, body: bytes) -> tuple[int, dict[str, object]]:
    try:
        match = _json_object(body).get("match")
    except ValueError as exc:
        return _error(400, "INVALID_ARGUMENT", str(exc))
    if not isinstance(match, str) or not match:
        return _error(400, "INVALID_ARGUMENT", "match must be a non-empty string")
    return 200, {"released": state.release_held(match)}


def _reset(state: DoubleState) -> tuple[int, dict[str, object]]:
    state.reset()
    return 200, {"reset": True}
