"""SPEC.md §14, the chat page: CLIENT-001, CLIENT-002, CLIENT-004 and CLIENT-005, seen in a real browser.

These run only with `--browser PAGE_URL` (pytest: `--chat-browser-url`); without it they are SKIP "needs --browser
PAGE_URL". The run loads the page once, in chromium, and uses it (roomwire.conformance.browser: join, chat, ask
twice, a second member who writes markup, upstream faults through the double when there is one); every browser
check, these and the key checks SEC-003/SEC-005 (secrets.py), reads that one scan (`scan_in_browser`).

The page's behaviour can be judged only on a page that exposes the reference page's element ids
(roomwire.conformance.page_behaviour.PAGE_IDS); any other page is still scanned for the key, and these checks
are SKIP naming the missing ids. Each verdict comes from what the page showed (roomwire.conformance.page_verdicts):
what could not be observed is a SKIP with the reason, never a pass. CLIENT-003 (reconnect) and FRAME-003 are
not checked (registry.NOT_COVERED says why).

The browser checks are exclusive, after the restart (RECON-002) and before the key sweep (SEC-003) and the AI
budget drain (LIMIT-005): the scan asks the AI up to four questions and must not share the target with floods.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from roomwire.conformance.context import CheckContext
from roomwire.conformance.page_verdicts import (
    PageVerdict,
    judge_markup,
    judge_new_bubble,
    judge_notices,
    judge_spinner,
    judge_typing,
    judge_wait,
)
from roomwire.conformance.profiles import ROOMWIRE_1_ONLY
from roomwire.conformance.registry import Need, requirement
from roomwire.conformance.shared import Exchange, shared
from roomwire.conformance.target import PLACEHOLDER
from roomwire.spec.errors import HarnessError

if TYPE_CHECKING:
    from roomwire.conformance.browser_evidence import BrowserScanResult

#: Exclusive checks' order: RECON-002 is -10, SEC-003's key sweep 0, LIMIT-005's drain 10 and 11.
BROWSER_ORDER = -5
#: Questions the scan makes the page ask (roomwire.conformance.browser): two, and one per fault with the double.
SCAN_QUESTIONS = 4


async def scan_in_browser(ctx: CheckContext) -> BrowserScanResult:
    """The run's one scan of the `--browser` page: the first browser check starts it, the others share it.

    Raises:
        HarnessError: chromium or Playwright is missing (every browser check is then ERROR, exit 3);
            TargetUnreachable: the page did not load.
    """
    return await shared(ctx, SCAN)


async def _scan(ctx: CheckContext) -> BrowserScanResult:
    """Admits the page's questions in the AI budget first (the page asks them, the suite cannot pace it)."""
    await ctx.session.ai.admit(SCAN_QUESTIONS)
    setup = ctx.session.browser
    if setup is None:
        raise HarnessError(f"{ctx.check.name} needs --browser but was run without it")
    try:
        from roomwire.conformance.browser import scan_page_for_secret
    except ImportError as exc:
        raise HarnessError(f"--browser needs Playwright: pip install 'roomwire[browser]' ({exc})") from exc
    upstream = ctx.session.upstream
    return await scan_page_for_secret(
        setup.page_url,
        ctx.session.canary or f"roomwire-no-canary-{secrets.token_hex(12)}",  # without one only CLIENT-* run
        chat_url=ctx.session.target.endpoint(0).url(PLACEHOLDER),
        double_url=upstream.base_url if upstream is not None else None,
        room=ctx.room(),
        timeout_s=ctx.timeouts.ai,
        welcome=ctx.profile.welcome,
    )


SCAN: Exchange[BrowserScanResult] = Exchange("browser", _scan, ai_requests=SCAN_QUESTIONS, doc="the --browser scan")


def judge(ctx: CheckContext, verdict: PageVerdict, scan: BrowserScanResult) -> None:
    """Turn a page verdict into the check's outcome; a failure carries the page's observations as evidence."""
    if verdict.status == "skip":
        said = f" (the scan noted: {'; '.join(scan.notes)})" if scan.notes else ""
        raise ctx.skip(verdict.detail + said)
    if verdict.status == "fail":
        ctx.attach(
            "browser_page",
            {
                "page_url": scan.page_url,
                "steps": list(scan.steps),
                "notes": list(scan.notes),
                "observed": scan.page.to_json() if scan.page is not None else None,
            },
        )
        raise ctx.violation(verdict.expected, verdict.actual)
    ctx.note(verdict.detail)


@requirement("CLIENT-001", needs=[Need.BROWSER], exclusive=True, order=BROWSER_ORDER, shares=[SCAN])
async def the_page_types_each_chunk_into_the_answer_as_it_arrives(ctx: CheckContext) -> None:
    """The AI bubble shows the answer as it stands after each ai_chunk, in order (the typing effect)."""
    scan = await scan_in_browser(ctx)
    judge(ctx, judge_typing(scan.page), scan)


@requirement("CLIENT-001", needs=[Need.BROWSER], exclusive=True, order=BROWSER_ORDER, shares=[SCAN])
async def the_page_shows_a_spinner_until_ai_done(ctx: CheckContext) -> None:
    """#ai-spinner shows while an answer is pending and hides once its ai_done arrives, whatever its status."""
    scan = await scan_in_browser(ctx)
    judge(ctx, judge_spinner(scan.page), scan)


@requirement("CLIENT-002", needs=[Need.BROWSER], exclusive=True, order=BROWSER_ORDER, shares=[SCAN])
async def the_page_shows_every_system_notice(ctx: CheckContext) -> None:
    """Every system frame's content the page received is shown in #chat-log or #ai-log."""
    scan = await scan_in_browser(ctx)
    judge(ctx, judge_notices(scan.page), scan)


#: The seed protocol has no `retry_after` (SPEC.md §17: CLIENT-002's seed form is the first half only).
@requirement(
    "CLIENT-002", needs=[Need.BROWSER], exclusive=True, order=BROWSER_ORDER, shares=[SCAN], profiles=ROOMWIRE_1_ONLY
)
async def the_page_shows_the_retry_after_wait(ctx: CheckContext) -> None:
    """A notice with retry_after shows the wait in seconds beside its content."""
    scan = await scan_in_browser(ctx)
    judge(ctx, judge_wait(scan.page), scan)


@requirement("CLIENT-004", needs=[Need.BROWSER], exclusive=True, order=BROWSER_ORDER, shares=[SCAN])
async def the_page_shows_wire_text_as_text_never_as_html(ctx: CheckContext) -> None:
    """Markup in a chat message and a nickname is shown literally and makes no element."""
    scan = await scan_in_browser(ctx)
    judge(ctx, judge_markup(scan.page), scan)


@requirement("CLIENT-005", needs=[Need.BROWSER], exclusive=True, order=BROWSER_ORDER, shares=[SCAN])
async def each_question_gets_a_new_ai_bubble(ctx: CheckContext) -> None:
    """Each question's answer goes into a new AI bubble; earlier bubbles stay as they were."""
    scan = await scan_in_browser(ctx)
    judge(ctx, judge_new_bubble(scan.page), scan)
