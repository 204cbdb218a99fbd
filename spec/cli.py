"""The `roomwire spec` sub-command: read the requirement catalog, validate frames, self-check the spec.

    roomwire spec list [--level must|should|may] [--item N] [--json]   the catalog, by checklist item
    roomwire spec show ID                                              one requirement in full
    roomwire spec validate [--direction client|server] [FILE|-]        frames, one per line or one JSON file
    roomwire spec check                                                schemas, AsyncAPI, catalog, fixtures

Exit codes follow STYLE.md: 0 all good, 1 an invalid frame or a failed check, 2 a usage error. `register`
imports only argparse; each handler imports what it needs when it runs. `check` also verifies the frame
fixtures, so it imports `roomwire.fixtures` (which depends on this package): the command line is the one place
that sees the whole distribution; the library itself never imports it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from roomwire.spec.errors import UsageError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "spec",
        help="inspect the protocol spec: requirements, frame validation, self-check",
        description="The protocol spec: SPEC.md's requirement catalog, frame validation and the spec's self-check.",
    )
    parser.set_defaults(handler=run, spec_help=parser.format_help)
    commands = parser.add_subparsers(title="spec commands", metavar="SPEC_COMMAND")

    listing = commands.add_parser("list", help="list the requirements, grouped by the seed's checklist item")
    listing.add_argument("--level", choices=["must", "should", "may"], help="only requirements of this level")
    listing.add_argument("--item", type=int, choices=range(1, 10), metavar="N", help="only checklist item N (1-9)")
    listing.add_argument("--json", action="store_true", help="print JSON (a list of requirements) instead of text")
    listing.set_defaults(handler=run_list)

    show = commands.add_parser("show", help="show one requirement in full")
    show.add_argument("id", metavar="ID", help="a requirement ID such as INPUT-001")
    show.set_defaults(handler=run_show)

    validate = commands.add_parser(
        "validate",
        help="validate frames: one per line, or a whole JSON file as one frame",
        description="Validate frames and print each verdict with the requirement it breaks and the code a server "
        "answers with. Exit 1 if any frame is invalid.",
    )
    validate.add_argument("--direction", choices=["client", "server"], default="client", help="who sent the frames")
    validate.add_argument("--max-frame-bytes", type=int, default=None, help="client frames: size limit (LIMIT-001)")
    validate.add_argument("file", nargs="?", default="-", metavar="FILE", help="a file, or - for standard input")
    validate.set_defaults(handler=run_validate)

    check = commands.add_parser("check", help="self-check: schemas, AsyncAPI, catalog and fixtures agree")
    check.set_defaults(handler=run_check)


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def run(args: argparse.Namespace) -> int:
    """`roomwire spec` without a command: show its help (a usage error, as for `roomwire` alone)."""
    _out(args.spec_help())
    return EXIT_USAGE


def run_list(args: argparse.Namespace) -> int:
    from roomwire.spec.requirements import CHECKLIST, catalog

    chosen = [r for r in catalog().values() if args.level is None or r.level.value == args.level.upper()]
    if args.item is not None:
        chosen = [r for r in chosen if args.item in r.items]
    if args.json:
        rows = [
            {"id": r.id, "level": r.level.value, "items": list(r.items), "section": r.section, "text": r.text}
            | {"notes": r.notes}
            for r in chosen
        ]
        _out(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    for item, title in CHECKLIST.items():
        group = [r for r in chosen if item in r.items]
        if args.item not in (None, item) or not group:
            continue
        _out(f"Item {item}: {title}")
        for requirement in group:
            _out(f"  {requirement.id:<10} {requirement.level.value:<6} {requirement.text}")
        _out()
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    import difflib

    from roomwire.spec.requirements import CHECKLIST, catalog

    wanted = args.id.strip().upper()
    requirement = catalog().get(wanted)
    if requirement is None:
        close = difflib.get_close_matches(wanted, catalog(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else " (roomwire spec list shows them all)"
        raise UsageError(f"SPEC.md defines no requirement {wanted}{hint}")
    _out(f"{requirement.id} · {requirement.level.value} · section {requirement.section}")
    _out(requirement.text)
    if requirement.notes:
        _out(requirement.notes)
    _out("Checklist items:")
    for item in requirement.items:
        _out(f"  {item}. {CHECKLIST[item]}")
    return EXIT_OK


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc


def _frames(data: bytes) -> list[tuple[str, bytes]]:
    """One frame when the whole input is one JSON value, else one per non-blank line."""
    from roomwire.spec.validate import nests_deeper

    try:
        text = data.decode("utf-8")
        if not nests_deeper(text):  # a deep value is one frame, refused as such (INPUT-009), never parsed here
            json.loads(text)
    except ValueError:  # UnicodeDecodeError is a ValueError too
        lines = [line.rstrip(b"\r") for line in data.split(b"\n")]
        return [(f"line {number}", line) for number, line in enumerate(lines, 1) if line.strip()]
    return [("frame", data.strip())]


def run_validate(args: argparse.Namespace) -> int:
    from roomwire.spec.cases import describe
    from roomwire.spec.limits import DEFAULT_LIMITS
    from roomwire.spec.validate import validate_client_payload, validate_server_payload

    frames = _frames(_read(args.file))
    if not frames:
        raise UsageError(f"no frames in {'standard input' if args.file == '-' else args.file}")
    limit = args.max_frame_bytes or DEFAULT_LIMITS.max_frame_bytes
    invalid = 0
    for label, payload in frames:
        if args.direction == "client":
            verdict = validate_client_payload(payload, max_frame_bytes=limit)
        else:
            verdict = validate_server_payload(payload)
        if verdict.valid:
            _out(f"{label}: valid")
            continue
        invalid += 1
        _out(f"{label}: INVALID {describe(verdict)}")
        for violation in verdict.violations:
            _out(f"    {violation.requirement_id} at '{violation.path or '/'}': {violation.message}")
    _out(f"{len(frames)} frame(s), {invalid} invalid")
    return EXIT_FAILED if invalid else EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    from roomwire.fixtures import fixture_problems
    from roomwire.spec.selfcheck import run_checks

    checks = run_checks({"fixtures": fixture_problems})
    for check in checks:
        _out(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}")
        for problem in check.problems:
            _out(f"        {problem}")
    failed = [check.name for check in checks if not check.ok]
    _out(
        f"spec check: {len(checks) - len(failed)} of {len(checks)} checks ok"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return EXIT_FAILED if failed else EXIT_OK
