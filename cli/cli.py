"""The `roomwire` command: one entry point whose sub-commands live in the package that owns them.

Each sub-command module exposes `register(subparsers)`, which adds its parser and sets `handler`
(`(argparse.Namespace) -> int`). Registration imports only argparse-level code so that `roomwire --help`
stays fast; handlers import their heavy dependencies when they run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from roomwire import __version__
from roomwire.spec.errors import UsageError

#: Modules providing sub-commands, in the order `--help` lists them.
COMMAND_MODULES = (
    "roomwire.reference.cli",  # serve
    "roomwire.gemini_double.cli",  # gemini-double
    "roomwire.conformance.cli",  # check
    "roomwire.loadtest.cli",  # load
    "roomwire.spec.cli",  # spec
    "roomwire.attacks.cli",  # attack
)

EXIT_OK = 0
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roomwire",
        description=(
            "Spec, reference server, conformance suite and load tests for the room chat + streamed-AI "
            "WebSocket protocol (/api/v1/ws/chat/{room_id})."
        ),
    )
    parser.add_argument("--version", action="version", version=f"roomwire {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code (0 ok, 2 usage error, others per sub-command)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = handler(args)
    except UsageError as exc:
        print(f"roomwire: error: {exc}", file=sys.stderr)  # noqa: T201 - this is the CLI's output
        return EXIT_USAGE
    return code
