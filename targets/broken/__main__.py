"""Serve one variant (or `reference`): `python -m roomwire.targets.broken NAME [--port 0] [--gemini-base-url URL]`.

Settings come from the environment as for `roomwire serve` (`ROOMWIRE_*`, `GEMINI_API_KEY`), then the flags,
then the variant's own. The WebSocket URL is printed as `roomwire serve: URL` once bound; SIGTERM stops
gracefully (1012), as the reference does.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from roomwire.targets.broken import VARIANTS
    from roomwire.targets.broken.launch import app_options, apply_patches

    parser = argparse.ArgumentParser(prog="python -m roomwire.targets.broken")
    parser.add_argument("variant", choices=["reference", *VARIANTS])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--gemini-base-url", required=True, metavar="URL")
    args = parser.parse_args(argv)

    from roomwire.reference.app import create_app
    from roomwire.reference.cli import configure_logging
    from roomwire.reference.server import serve
    from roomwire.reference.settings import Settings

    variant = VARIANTS.get(args.variant)
    changes = {"host": args.host, "port": args.port, "gemini": "real", "gemini_base_url": args.gemini_base_url}
    settings = Settings.from_env().replace(**changes, **(dict(variant.settings) if variant else {}))
    configure_logging(settings.log_level)
    if variant is not None:
        apply_patches(variant)
    app = create_app(settings, **(app_options(variant) if variant else {}))

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve(settings, app=app, stop=stop, ready=lambda url: print(f"roomwire serve: {url}", flush=True))  # noqa: T201

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
