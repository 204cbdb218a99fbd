"""The `roomwire serve` sub-command: the reference server under Hypercorn.

    roomwire serve [--host 127.0.0.1] [--port 8000] [--gemini fake|real] [--gemini-base-url URL]
                   [--certfile F --keyfile F] [--no-limits] [--broker URL]
                   [--ai-worker process|thread|inline]

Flags override the environment (`ROOMWIRE_*`, `GEMINI_API_KEY`, `.env`; see `settings.py`). A setting that is
missing or wrong is one line on stderr and exit code 2, never a traceback. SIGTERM or SIGINT stops gracefully
(close code 1012 to every client) and exits 0.
"""

from __future__ import annotations

import argparse
import gc
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the reference chat server",
        description="Run the reference chat server (Quart + Hypercorn). Flags override ROOMWIRE_* variables.",
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port (default 8000; 0 picks a free one)")
    parser.add_argument(
        "--gemini", choices=("fake", "real"), help="fake: an in-process Gemini double (default); real: Google"
    )
    parser.add_argument("--gemini-base-url", metavar="URL", help="send Gemini requests here (an external double)")
    parser.add_argument("--certfile", metavar="F", help="TLS certificate chain (serves wss://)")
    parser.add_argument("--keyfile", metavar="F", help="TLS private key")
    parser.add_argument(
        "--no-limits", action="store_true", default=None, help="lift frame-size and rate limits (benchmarks only)"
    )
    parser.add_argument("--broker", metavar="URL", help="room broker (default memory://)")
    parser.add_argument(
        "--ai-worker",
        choices=("process", "thread", "inline"),
        help="where google-genai runs: inline on the loop that serves the sockets (default), a thread with its own "
        "event loop, or a worker process (for a server with a core to spare) (ROOMWIRE_AI_WORKER)",
    )
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="default INFO")
    parser.set_defaults(handler=run)


_FLAGS = {
    "host": "host",
    "port": "port",
    "gemini": "gemini",
    "gemini_base_url": "gemini_base_url",
    "certfile": "certfile",
    "keyfile": "keyfile",
    "no_limits": "no_limits",
    "broker": "broker_url",
    "ai_worker": "ai_worker",
    "log_level": "log_level",
}


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT. Raises ConfigError (exit 2 in `roomwire.cli.main`) for bad settings."""
    import asyncio
    import signal

    from roomwire.reference.app import create_app
    from roomwire.reference.quiet_gc import QuietCollector
    from roomwire.reference.server import serve
    from roomwire.reference.settings import Settings

    changes = {field: getattr(args, flag) for flag, field in _FLAGS.items() if getattr(args, flag) is not None}
    settings = Settings.from_env().replace(**changes)
    configure_logging(settings.log_level)
    app = create_app(settings)  # ConfigError here too (the broker URL)

    def announce(url: str) -> None:
        print(f"roomwire serve: {url}", flush=True)  # noqa: T201 - the CLI's output

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        keep_startup_out_of_collections()
        collector = QuietCollector()  # the full collections FULL_COLLECTION_EVERY defers, run while quiet
        collector.start()
        try:
            await serve(settings, app=app, stop=stop, ready=announce)
        finally:
            collector.stop()

    asyncio.run(main())
    return 0


#: Young collections between full ones (CPython's default: 10).
FULL_COLLECTION_EVERY = 100


def keep_startup_out_of_collections() -> None:
    """`gc.freeze()` what start-up left (modules, classes, the SDK's types, the app: some 150,000 objects that live
    as long as the process): every full collection of a reconnect storm scanned them all, 0.34 of 1.48 s of CPU
    while 2,000 clients were admitted (docs/benchmarks.md, `storm`). Only `roomwire serve` does it: a process that
    starts servers again and again (the tests) would keep each one's leftovers for good."""
    gc.collect()
    gc.freeze()
    gen0, gen1, _ = gc.get_threshold()
    gc.set_threshold(gen0, gen1, FULL_COLLECTION_EVERY)


def configure_logging(level: str) -> None:
    """Everything the process writes, as redacted, escaped, rate-limited lines on stderr (`logs.configure`)."""
    from roomwire.reference import logs

    logs.configure(level)
