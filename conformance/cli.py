"""The `roomwire check` sub-command: run the conformance suite against a chat server and report.

    roomwire check [URL ...] [--double URL] [--canary-key KEY] [--target-log PATH] [--browser [PAGE_URL]] [--only IDS]
                   [--level must|should] [--strict] [--report-json PATH] [--junit PATH] [--html PATH]
                   [--markdown PATH] [--badge PATH]
                   [--ca-file PATH] [--timeout-factor F] [--list] [--concurrency N] [--bundled NAME] [--no-browser]
                   [--repeat N] [--allowed-origin ORIGIN] [--list-targets] [--proofs]

Exit codes (first match wins): 2 usage error, nothing ran; 3 the harness could not run or judge (target
unreachable, a check errored); 1 a selected MUST failed (any failure with --strict); 0 otherwise.
`register` imports argparse only (CONTRIBUTING); the suite is imported when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

#: roomwire.conformance.profiles.PROFILE_NAMES, spelled here so that `register` imports nothing (a test keeps
#: them equal).
PROFILE_CHOICES = ("roomwire/1", "seed")

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_HARNESS = 0, 1, 2, 3

EPILOG = """\
URL is the chat endpoint template, e.g. ws://127.0.0.1:8000/api/v1/ws/chat/{room_id} (a URL without
{room_id} gets /{room_id} appended). Several URLs are instances of one deployment: clients are spread over
them. Without URL the suite starts the bundled reference server and Gemini double and checks them.

--browser PAGE_URL loads the chat page in chromium and uses it: the canary key must appear nowhere the browser
shows (SEC-003, SEC-005), and a page with the reference page's element ids is judged on CLIENT-001/002/004/005.
A bare --browser (after the URLs) loads the page the target serves at / (the bundled reference's own page).
Chromium: `chromium` on PATH, or $ROOMWIRE_CHROMIUM; without it the browser checks are ERROR (exit 3).
Without URL the bundled reference's page (and --bundled seed-fixed's) is used by default when chromium and
Playwright are installed (--no-browser: not); when they are not, those checks are SKIP and the report says how
to get them.

Exit codes: 0 every selected MUST passed; 1 a requirement failed (a SHOULD only with --strict);
2 usage error; 3 the harness could not run (target unreachable, harness error). Docs: docs/conformance.md.
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check a chat server against the spec",
        description="Check a chat server against SPEC.md, one verdict per requirement, with evidence.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("urls", nargs="*", metavar="URL", help="chat endpoint template(s); none: the bundled reference")
    parser.add_argument("--double", metavar="URL", help="the Gemini double the target is wired to (upstream checks)")
    parser.add_argument("--canary-key", metavar="KEY", help="the fake key configured in the target (key-leak checks)")
    parser.add_argument(
        "--target-log",
        action="append",
        default=[],
        metavar="PATH",
        help="a file the target writes its log to, read after the run (SEC-003, UP-008; repeatable)",
    )
    parser.add_argument(
        "--browser",
        nargs="?",
        const="/",
        metavar="PAGE_URL",
        help="load and use this chat page in chromium (key leaks, CLIENT-*); bare: the target's own page at /",
    )
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="without URL: do not use the bundled reference's page in chromium (used by default when installed)",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILE_CHOICES,
        default=PROFILE_CHOICES[0],
        help="the protocol the target is judged on: roomwire/1 (SPEC.md) or seed (the seed document's, SPEC.md §17)",
    )
    parser.add_argument("--only", metavar="IDS", help="requirement IDs, areas or globs: 'CHAT-*,PRES-002'")
    parser.add_argument("--level", choices=("must", "should"), help="must: MUSTs only; should: MUST, SHOULD, MAY")
    parser.add_argument("--strict", action="store_true", help="a failed SHOULD or MAY fails the run too")
    parser.add_argument("--report-json", metavar="PATH", help="write the JSON report here")
    parser.add_argument("--junit", metavar="PATH", help="write a JUnit XML report here")
    parser.add_argument("--html", metavar="PATH", help="write an HTML report here")
    parser.add_argument(
        "--markdown",
        metavar="PATH",
        help="write the checklist summary as Markdown (a PR comment; appends to $GITHUB_STEP_SUMMARY's file)",
    )
    parser.add_argument("--badge", metavar="PATH", help="write an SVG badge: the profile and the items that hold")
    parser.add_argument("--ca-file", metavar="PATH", help="trust this CA for wss:// (a staging server's private CA)")
    parser.add_argument("--timeout-factor", type=float, default=1.0, metavar="F", help="scale every wait (default 1)")
    parser.add_argument("--concurrency", type=int, default=8, metavar="N", help="checks run at once (default 8)")
    parser.add_argument(
        "--repeat", type=int, default=1, metavar="N", help="run the selected checks N times on one target (flakes)"
    )
    parser.add_argument(
        "--ai-budget-rpm",
        type=int,
        metavar="N",
        help="the AI budget to pace by when the target's welcome advertises none (default: SPEC.md's 10)",
    )
    parser.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="an Origin the deployment allows (repeatable); replaces SEC-004's default (own host, loopback)",
    )
    parser.add_argument("--list", action="store_true", help="list the requirements and their checks, run nothing")
    parser.add_argument("--bundled", metavar="NAME", help="without URL: check this bundled target (see --list-targets)")
    parser.add_argument("--list-targets", action="store_true", help="list the bundled targets, run nothing")
    parser.add_argument(
        "--proofs", action="store_true", help="list, per requirement, the broken targets that fail it; run nothing"
    )
    parser.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> Any:
    """The SuiteConfig the arguments describe; UsageError (exit 2) for what is wrong with them."""
    from roomwire.conformance.registry import parse_only
    from roomwire.conformance.suite import SuiteConfig
    from roomwire.spec.errors import UsageError
    from roomwire.spec.requirements import Level

    try:
        only = tuple(parse_only(args.only)) if args.only is not None else ()
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.urls and args.bundled:
        raise UsageError("--bundled starts a target of its own; give no URL with it")
    if args.double and not args.urls:
        raise UsageError("--double names the double of a URL target; the bundled target brings its own")
    config = SuiteConfig(
        urls=tuple(args.urls),
        double_url=args.double,
        canary_key=args.canary_key,
        only=only,
        level=Level.MUST if args.level == "must" else Level.SHOULD if args.level == "should" else None,
        ca_file=args.ca_file,
        timeout_factor=args.timeout_factor,
        concurrency=args.concurrency,
        variant=args.bundled,
        browser=args.browser,
        repeat=args.repeat,
        ai_budget_rpm=args.ai_budget_rpm,
        allowed_origins=tuple(args.allowed_origin),
        default_browser=not args.no_browser,
        target_logs=tuple(args.target_log),
        profile=args.profile,
    )
    config.validate()
    return config


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code (UsageError propagates to `roomwire.cli.main`, exit 2)."""
    from roomwire.conformance import listing

    if args.list:
        sys.stdout.write(listing.catalog_text())
        return EXIT_OK
    if args.list_targets:
        sys.stdout.write(listing.targets_text())
        return EXIT_OK
    if args.proofs:
        from roomwire.conformance.proofs import proofs_text

        sys.stdout.write(proofs_text())
        return EXIT_OK
    config = config_from_args(args)
    if config.variant is not None:
        listing.require_bundled_target(config.variant)
    return _run_suite(config, args)


def _run_suite(config: Any, args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from roomwire.conformance import report, report_files
    from roomwire.conformance.suite import run_suite, selected_count
    from roomwire.spec.errors import HarnessError

    progress = report.ConsoleProgress(selected_count(config) * config.repeat)
    try:
        result = asyncio.run(run_suite(config, progress=progress))
    except HarnessError as exc:
        sys.stderr.write(f"\nroomwire check: the harness could not run: {exc}\n")
        return EXIT_HARNESS
    sys.stdout.write(report.render(result, strict=args.strict))
    writers = (
        (args.report_json, report_files.write_json),
        (args.junit, report_files.write_junit),
        (args.html, report_files.write_html),
    )
    for path, write in writers:
        if path:
            write(result, Path(path), strict=args.strict)
    _write_summaries(result, args)
    return result.exit_code(strict=args.strict)


def _write_summaries(result: Any, args: argparse.Namespace) -> None:
    """`--markdown` (appended when it is GitHub's step summary file, which other steps write too) and `--badge`."""
    import os
    from pathlib import Path

    from roomwire.conformance import summary_files

    if args.markdown:
        path = Path(args.markdown)
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        append = bool(step_summary) and path.resolve() == Path(str(step_summary)).resolve()
        summary_files.write_markdown(result, path, strict=args.strict, append=append)
    if args.badge:
        summary_files.write_badge(result, Path(args.badge), strict=args.strict)
