"""The `roomwire attack` sub-command: one of issue 13's attack classes (or all) against a server you own.

    roomwire attack CLASS URL [--allow-remote] [--max-seconds S] [--scale F] [--report-json PATH]
                             [--server-log FILE] [--pid PID] [--double URL] [--canary-key KEY]

Exit codes: 1 when any attack hurt, else 3 when any was inconclusive, else 0 (held); 2 for a usage error.
"""

from __future__ import annotations

import argparse
from typing import Any

from roomwire.attacks import ATTACKS


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "attack",
        help="run one of issue 13's attacks against your own server",
        description="Attack a chat server you own with one of issue 13's classes (or all of them), bounded in "
        "count and time, and judge whether it held. Loopback only unless --allow-remote.",
    )
    parser.add_argument("attack", choices=(*ATTACKS, "all"), metavar="CLASS", help=f"{', '.join(ATTACKS)} or all")
    parser.add_argument("url", metavar="URL", help="ws://host:port (or the chat URL with {room_id})")
    parser.add_argument("--allow-remote", action="store_true", help="allow a target that is not on this machine")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="longest phase of an attack (default 20)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count (default 1; tests use less)")
    parser.add_argument("--report-json", metavar="PATH", help="write the report(s) as JSON")
    parser.add_argument("--server-log", metavar="FILE", help="the server's log file (log-forgery reads it)")
    parser.add_argument("--pid", type=int, help="the server's process id (history-sink reads its memory)")
    parser.add_argument("--double", metavar="URL", help="the Gemini double the server uses (log-forgery)")
    parser.add_argument("--canary-key", metavar="KEY", help="the fake key the server is configured with")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the attack(s); the exit code is the worst verdict's (module docstring)."""
    import asyncio
    import sys
    from pathlib import Path

    from roomwire.attacks.report import Verdict
    from roomwire.attacks.runner import run_attacks
    from roomwire.attacks.target import Bounds, resolve
    from roomwire.spec.errors import UsageError

    if args.max_seconds <= 0 or args.scale <= 0:
        raise UsageError("--max-seconds and --scale must be positive")
    target = resolve(
        args.url,
        allow_remote=args.allow_remote,
        bounds=Bounds(max_seconds=args.max_seconds, scale=args.scale),
        server_log=Path(args.server_log) if args.server_log else None,
        pid=args.pid,
        double_url=args.double,
    )
    names = list(ATTACKS) if args.attack == "all" else [args.attack]
    reports = asyncio.run(run_attacks(names, target, canary=args.canary_key, echo=print))
    if args.report_json:
        from roomwire.attacks.report import write_json

        write_json(reports, Path(args.report_json))
    sys.stdout.flush()
    return Verdict.worst(report.verdict for report in reports).exit_code
