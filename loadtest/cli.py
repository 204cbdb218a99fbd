"""The `roomwire load` sub-command (placeholder until its issue lands)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("load", help="run the Locust load tests")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print("roomwire load: not implemented yet", file=sys.stderr)  # noqa: T201
    return 3
