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

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import DEFAULT_MODELS, DEFAULT_QUOTA_RPM, LATENCY_PRESETS, ConfigError, DoubleConfig
    from .control import AsyncDoubleControl, DoubleControl, DoubleControlError
    from .faults import KINDS as FAULT_KINDS
    from .keys import FAKE_API_KEY, fingerprint
    from .server import DoubleThread, RunningDouble, serve_double
    from .shapes import ShapeError, check_response, check_stream_body

#: Public name -> (module, attribute). Loaded on first use, so that `roomwire --help` (which imports
#: `roomwire.gemini_double.cli`, and so this package) does not pay for Hypercorn and httpx.
_EXPORTS = {
    "DEFAULT_MODELS": ("config", "DEFAULT_MODELS"),
    "DEFAULT_QUOTA_RPM": ("config", "DEFAULT_QUOTA_RPM"),
    "LATENCY_PRESETS": ("config", "LATENCY_PRESETS"),
    "ConfigError": ("config", "ConfigError"),
    "DoubleConfig": ("config", "DoubleConfig"),
    "AsyncDoubleControl": ("control", "AsyncDoubleControl"),
    "DoubleControl": ("control", "DoubleControl"),
    "DoubleControlError": ("control", "DoubleControlError"),
    "FAULT_KINDS": ("faults", "KINDS"),
    "FAKE_API_KEY": ("keys", "FAKE_API_KEY"),
    "fingerprint": ("keys", "fingerprint"),
    "DoubleThread": ("server", "DoubleThread"),
    "RunningDouble": ("server", "RunningDouble"),
    "serve_double": ("server", "serve_double"),
    "ShapeError": ("shapes", "ShapeError"),
    "check_response": ("shapes", "check_response"),
    "check_stream_body": ("shapes", "check_stream_body"),
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


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value
    return value
