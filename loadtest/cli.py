"""The `roomwire load` sub-command: Locust with roomwire's packaged locustfile.

    roomwire load [locust arguments...]      e.g. roomwire load -H ws://127.0.0.1:8000 --headless -u 20 -t 30s

Every argument goes to Locust unchanged (`roomwire load --help` is Locust's help, then roomwire's options);
`-f` is added only when the caller gave no locustfile. Locust runs in a child process: it monkey-patches the
whole interpreter with gevent at import, which must not happen to the `roomwire` command's own process. The
exit code is Locust's (thresholds set it; see docs/loadtest.md).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "load",
        help="run the Locust load tests (arguments go to Locust)",
        description="Run Locust with roomwire's locustfile; every argument is passed to Locust.",
        add_help=False,  # --help is Locust's, which lists roomwire's options too
        prefix_chars="\0",  # no option is ours: `-H`, `--version`, ... all stay in locust_args
    )
    parser.add_argument("locust_args", nargs=argparse.REMAINDER, help="arguments for Locust")
    parser.set_defaults(handler=run)


def locust_command(locust_args: list[str]) -> list[str]:
    """The command line that runs Locust on the packaged locustfile (unless one was given)."""
    given = any(arg in ("-f", "--locustfile") or arg.startswith("--locustfile=") for arg in locust_args)
    locustfile = [] if given else ["-f", str(LOCUSTFILE)]
    return [sys.executable, "-m", "locust", *locustfile, *locust_args]


def roomwire_options_help() -> str:
    """roomwire's own options, which Locust's --help cannot list (it prints before loading the locustfile)."""
    from roomwire.loadtest.scenarios import add_arguments

    parser = argparse.ArgumentParser(prog="roomwire load", add_help=False, usage=argparse.SUPPRESS)
    add_arguments(parser)
    return parser.format_help()


def run(args: argparse.Namespace) -> int:
    locust_args = list(args.locust_args)
    try:
        code = subprocess.call(locust_command(locust_args))
    except KeyboardInterrupt:  # Locust got the same SIGINT and shuts down by itself
        return 130
    if code == 0 and ("-h" in locust_args or "--help" in locust_args):
        sys.stdout.write("\n" + roomwire_options_help())
    return code
