"""The `roomwire gemini-double` sub-command: run the double in the foreground until SIGINT or SIGTERM.

`register` imports only argparse; `run` imports the server when it runs (CONTRIBUTING: `roomwire --help` stays fast).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import DoubleConfig

EXIT_OK = 0
EXIT_HARNESS = 3

EPILOG = """\
Point the google-genai SDK at it:
  genai.Client(api_key=KEY, http_options=HttpOptions(base_url="http://HOST:PORT/"))
  or GOOGLE_GEMINI_BASE_URL=http://HOST:PORT/ (unset GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_GENAI_API_VERSION).
Served under /v1/ and /v1beta/: models/{m}:streamGenerateContent?alt=sse, :generateContent, :countTokens,
GET models, GET models/{m}. Keys: x-goog-api-key header or ?key=; by default any AIza + 35 characters.

Control API (JSON in and out; never under /v1*):
  GET    /_double/health              liveness
  GET    /_double/config              current settings
  POST   /_double/config              change settings, e.g. {"latency": "zero", "quota_rpm": null,
                                      "chunk_interval_ms": 5, "seed": 7, "valid_keys": [...]}
  POST   /_double/faults              queue faults: {"kind": K, "count": N, "model": M, "match": TEXT, ...}
  GET    /_double/faults              pending faults
  DELETE /_double/faults              drop pending faults
  GET    /_double/journal?match=TEXT  requests received (key only as location + fingerprint)
  DELETE /_double/journal             clear the journal
  POST   /_double/reset               clear faults, journal and quota counters (not the settings)
  POST   /_double/release             {"match": TEXT}: go on with the streams a hold fault holds for TEXT

Fault kinds: rate_limit (429, "retry_delay_s"), rate_limit_help_only (429, no RetryInfo), rate_limit_per_day,
  rate_limit_several (three violations), server_error (500), server_error_encountered (500, 2026 wording),
  unavailable (503), unavailable_high_demand (503, 2026 wording), invalid_key (400), invalid_key_debug (400 with
  the key in a DebugInfo detail), key_echo (403 echoing the key in message and details), key_echo_2024 (in
  message only), abort (drop the connection after "after_chunks", default 1), stall (200 headers, then nothing),
  hold (after "after_chunks", default 1, wait for POST /_double/release or "hold_s" seconds, then the rest),
  no_finish (no finishReason), safety (finishReason SAFETY), prompt_blocked (promptFeedback.blockReason, no
  candidates; "block_reason"), thinking_exhausted (MAX_TOKENS, no text, only thoughts; "thoughts"), stream_error
  (data: {"error": ...} with "code" after "after_chunks"), stream_error_raw (the same as raw JSON lines), replay
  ("body" or recorded "fixture"). "match": only requests whose last user turn contains TEXT. "model": only that
  model.

Directives in the last user turn shape one answer: [[chunks=N]] [[sentences=N]] [[lang=ko|en]] [[thoughts=N]]
  [[echo=prompt|system|history|config]] [[interval=MS]]. Details: docs/gemini-double.md.
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "gemini-double",
        help="run the Gemini double (an HTTP server speaking Gemini's wire format)",
        description="Serve Gemini's REST API with deterministic answers, quotas and faults on demand.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8766, help="port to bind, 0 for a free one (default: 8766)")
    parser.add_argument("--latency", choices=("seed", "fast", "zero"), default="fast", help="timing preset")
    parser.add_argument("--chunk-interval-ms", type=float, default=None, help="time between chunks (ms)")
    parser.add_argument(
        "--quota", default=None, metavar="off|N", help="requests per minute per model and key (default: free tier)"
    )
    parser.add_argument("--seed", type=int, default=0, help="mixed into every answer (default: 0)")
    parser.add_argument("--key", action="append", default=None, metavar="K", help="accept only this key (repeatable)")
    parser.add_argument("--retry-after-header", action="store_true", help="send Retry-After on quota 429s")
    parser.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> DoubleConfig:
    """The settings the arguments describe.

    Raises:
        ConfigError: an invalid value (the CLI exits 2).
    """
    from .config import DEFAULT_QUOTA_RPM, ConfigError, DoubleConfig

    quota: dict[str, int] | None = dict(DEFAULT_QUOTA_RPM)
    if args.quota is not None:
        if args.quota == "off":
            quota = None
        elif args.quota.isdigit() and int(args.quota) > 0:
            quota = {model: int(args.quota) for model in DoubleConfig().models}
        else:
            raise ConfigError(f"--quota takes 'off' or a positive integer, not {args.quota!r}")
    return DoubleConfig(
        latency=args.latency,
        chunk_interval_ms=args.chunk_interval_ms,
        quota_rpm=quota,
        seed=args.seed,
        valid_keys=frozenset(args.key) if args.key else None,
        retry_after_header=args.retry_after_header,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; exit 0, 2 on bad arguments, 3 when the address cannot be bound."""
    config = config_from_args(args)
    try:
        asyncio.run(serve_until_signal(config, args.host, args.port))
    except OSError as exc:
        print(f"roomwire gemini-double: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_HARNESS
    return EXIT_OK


async def serve_until_signal(config: DoubleConfig, host: str, port: int) -> None:
    """Serve, print where, and return on SIGINT or SIGTERM."""
    from .server import serve_double

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with serve_double(config, host=host, port=port) as double:
        print(  # noqa: T201 - this is the command's output
            f"roomwire gemini-double: serving Gemini on {double.base_url} "
            f"(control API: {double.base_url}_double/; latency {config.latency}); Ctrl+C stops",
            flush=True,
        )
        await stop.wait()
    print("roomwire gemini-double: stopped", flush=True)  # noqa: T201
