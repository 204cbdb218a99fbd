"""Reason phrases in the double's HTTP/1.1 status lines, as Google's front end sends them ("429 Too Many Requests").

Hypercorn writes `HTTP/1.1 429 \\r\\n`: ASGI has no way to give a reason phrase, and h11 leaves it empty. Clients
read it, though: the google-genai SDK puts it in `APIError.status` when an error body is not JSON (an HTML 502
from a proxy, a plain-text 429), and JavaScript clients report it (`"status": "Too Many Requests"` in the
captures cited in fixtures/gemini/recorded/status_lines.json). So the double's Hypercorn gets an H11 protocol
that fills in the standard phrase (`http.HTTPStatus`) when the response has none.

`install()` puts `ReasonPhraseH11Protocol` in place of Hypercorn's `H11Protocol`, the way the reference server's
`hypercorn_ext` installs its WebSocket stream: it behaves exactly as Hypercorn's own unless the server's config is
a `DoubleHypercornConfig`, so other servers in the same process (the reference, in tests) are untouched.
"""

from __future__ import annotations

import http
from typing import Any

import h11
from hypercorn import protocol as hypercorn_protocol
from hypercorn.config import Config
from hypercorn.protocol.h11 import H11Protocol

_installed = False


class DoubleHypercornConfig(Config):
    """Hypercorn's config for a double: marks the servers whose status lines get reason phrases."""


def reason_phrase(status: int) -> bytes:
    """The standard phrase for `status` ("Too Many Requests"); empty for a code `http.HTTPStatus` lacks."""
    try:
        return http.HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""


class ReasonPhraseH11Protocol(H11Protocol):
    """Hypercorn's HTTP/1.1 protocol, with the reason phrase filled in for a double's responses."""

    async def _send_h11_event(self, event: Any) -> None:
        if isinstance(event, h11.Response) and not event.reason and isinstance(self.config, DoubleHypercornConfig):
            event = h11.Response(
                status_code=event.status_code, headers=event.headers, reason=reason_phrase(event.status_code)
            )
        await super()._send_h11_event(event)


def install() -> None:
    """Make Hypercorn create `ReasonPhraseH11Protocol`s (idempotent)."""
    global _installed
    if not _installed:
        setattr(hypercorn_protocol, "H11Protocol", ReasonPhraseH11Protocol)  # noqa: B010 - replacing an import
        _installed = True
