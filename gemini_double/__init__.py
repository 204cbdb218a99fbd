"""The Gemini double: an HTTP server that speaks Gemini's wire format, so the real `google-genai` SDK runs against it.

    from roomwire.gemini_double import DoubleConfig, serve_double, AsyncDoubleControl, FAKE_API_KEY

    async with serve_double(DoubleConfig(latency="fast")) as double:
        client = genai.Client(api_key=FAKE_API_KEY, http_options=HttpOptions(base_url=double.base_url))
        async with AsyncDoubleControl(double.base_url) as control:
            await control.queue_fault("rate_limit", match="tok-123")

Modules, one job each: `config` (settings), `keys` (key location and fingerprints), `request` (parsing requests),
`answers` (deterministic answers, pure), `wire` (success shapes and SSE framing), `error_bodies` (Google's
error bodies), `shapes` (the shape checker), `faults`, `quota`, `journal`, `state`, `canned` (fixture data),
`asgi` (ASGI helpers), `generate` (one generation call), `app` (routes), `admin` (control API), `server`
(`serve_double`, `DoubleThread`), `control` (control API clients), `cli` (`roomwire gemini-double`).
Documentation: docs/gemini-double.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roomwire.spec.exports import lazy_getattr

if TYPE_CHECKING:
    from .config import DEFAULT_MODELS, DEFAULT_QUOTA_RPM, LATENCY_PRESETS, ConfigError, DoubleConfig
    from .control import AsyncDoubleControl, DoubleControl, DoubleControlError
    from .faults import KINDS as FAULT_KINDS
    from .keys import FAKE_API_KEY, fingerprint
    from .server import DoubleThread, RunningDouble, serve_double
    from .shapes import ShapeError, check_response, check_stream_body

#: Public name -> module (roomwire.spec.exports). Loaded on first use, so that `roomwire --help` (which imports
#: `roomwire.gemini_double.cli`, and so this package) does not pay for Hypercorn and httpx.
_EXPORTS = {
    "DEFAULT_MODELS": "config",
    "DEFAULT_QUOTA_RPM": "config",
    "LATENCY_PRESETS": "config",
    "ConfigError": "config",
    "DoubleConfig": "config",
    "AsyncDoubleControl": "control",
    "DoubleControl": "control",
    "DoubleControlError": "control",
    "FAULT_KINDS": "faults:KINDS",
    "FAKE_API_KEY": "keys",
    "fingerprint": "keys",
    "DoubleThread": "server",
    "RunningDouble": "server",
    "serve_double": "server",
    "ShapeError": "shapes",
    "check_response": "shapes",
    "check_stream_body": "shapes",
}

__all__ = [
    "DEFAULT_MODELS",
    "DEFAULT_QUOTA_RPM",
    "FAKE_API_KEY",
    "FAULT_KINDS",
    "LATENCY_PRESETS",
    "AsyncDoubleControl",
    "ConfigError",
    "DoubleConfig",
    "DoubleControl",
    "DoubleControlError",
    "DoubleThread",
    "RunningDouble",
    "ShapeError",
    "check_response",
    "check_stream_body",
    "fingerprint",
    "serve_double",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())
