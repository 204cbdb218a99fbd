"""The `roomwire spec` sub-command (placeholder)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("spec", help="inspect the protocol spec")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return 0
