"""The `roomwire gemini-double` sub-command (placeholder until its issue lands)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("gemini-double", help="run the Gemini double")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print("roomwire gemini-double: not implemented yet", file=sys.stderr)  # noqa: T201
    return 3
