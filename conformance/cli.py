"""The `roomwire check` sub-command (placeholder until its issue lands)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("check", help="check a chat server against the spec")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print("roomwire check: not implemented yet", file=sys.stderr)  # noqa: T201
    return 3
