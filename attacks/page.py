"""Class 8, the page: can a foreign site frame it, and can another member make their message show as the
victim's own (issue 13, finding 8)?

Framing is read from the page's HTTP response: a `Content-Security-Policy` header with `frame-ancestors`, or
`X-Frame-Options`, stops it (a policy in a `<meta>` cannot: browsers ignore `frame-ancestors` there). "My
message" needs a browser: with chromium installed (Debian's, never downloaded) and the reference page's element
ids, a victim joins through the page and says something; the attacker, a plain member of the same room, sends a
message with the victim's `id` (every member sees it in the broadcast); held when the page does not show the
attacker's message as the victim's own (`li.msg.mine`).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets

import httpx
from websockets.asyncio.client import ClientConnection

from roomwire.attacks.probes import next_frame, open_ws, shut, until
from roomwire.attacks.report import AttackReport, Verdict
from roomwire.attacks.target import AttackTarget

NAME = "page"
SUMMARY = "framing by a foreign site, and another member's message shown as the victim's own (finding 8)"

_FRAME_ANCESTORS = re.compile(r"(^|;)\s*frame-ancestors\s", re.IGNORECASE)


def chromium_available() -> bool:
    """Debian's chromium (or $ROOMWIRE_CHROMIUM) is there to launch."""
    from roomwire.conformance.browser import chromium_executable

    return chromium_executable() is not None


async def _framing(target: AttackTarget, report: AttackReport) -> None:
    async with httpx.AsyncClient(timeout=5.0, verify=False, trust_env=False) as http:
        response = await http.get(f"{target.http}/")
    report.did("GET / and read its headers")
    if response.status_code != 200:
        report.judge(Verdict.INCONCLUSIVE, f"no page at / (HTTP {response.status_code})")
        return
    policy = response.headers.get("content-security-policy", "")
    frame_options = response.headers.get("x-frame-options", "")
    in_meta = 'http-equiv="Content-Security-Policy"' in response.text
    report.figures.update(csp_header=bool(policy), frame_ancestors=bool(_FRAME_ANCESTORS.search(policy)),
                          x_frame_options=frame_options or "none", csp_in_meta=in_meta)  # fmt: skip
    report.saw(f"Content-Security-Policy header: {policy[:120] or 'none'}; X-Frame-Options: {frame_options or 'none'}")
    if _FRAME_ANCESTORS.search(policy) or frame_options.upper() in ("DENY", "SAMEORIGIN"):
        report.judge(Verdict.HELD, "a foreign page cannot frame it (frame-ancestors or X-Frame-Options)")
    else:
        report.judge(Verdict.HURT, "any site can frame the page: no frame-ancestors header, no X-Frame-Options")


async def _my_message(target: AttackTarget, report: AttackReport) -> None:
    try:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright

        from roomwire.conformance.browser import launch_chromium
    except ImportError:  # pragma: no cover - Playwright is a dependency of the conformance suite
        report.judge(Verdict.INCONCLUSIVE, "Playwright is not installed")
        return
    if not chromium_available():
        report.judge(Verdict.INCONCLUSIVE, "no chromium on PATH: 'my message' needs a browser")
        return
    room, token = f"atk-page-{secrets.token_hex(3)}", secrets.token_hex(4)
    attacker = await open_ws(target, room, query="nickname=mallory")
    try:
        await until(attacker, {"welcome"}, 5.0)
        async with async_playwright() as playwright:
            browser = await launch_chromium(playwright)
            try:
                page = await browser.new_page()
                await page.goto(f"{target.http}/", timeout=10_000)
                if await page.query_selector("#join-form") is None:
                    report.judge(Verdict.INCONCLUSIVE, "the page is not the reference page (no #join-form)")
                    return
                await page.fill("#room-input", room)
                await page.fill("#nickname-input", "victim")
                await page.click("#join-button")
                await page.wait_for_selector('#status[data-state="open"]', timeout=10_000)
                await page.fill("#message-input", f"victim says {token}")
                await page.wait_for_selector("#send-button:not([disabled])", timeout=10_000)
                await page.click("#send-button")
                victim_id = await _id_of(attacker, f"victim says {token}")
                if victim_id is None:
                    report.judge(Verdict.INCONCLUSIVE, "the victim's message carried no id to copy")
                    return
                spoof = {"type": "user_msg", "content": f"mallory says {token}", "id": victim_id}
                await attacker.send(json.dumps(spoof))
                await asyncio.sleep(1.0)
                mine = await page.eval_on_selector_all("#chat-log li.msg.mine", "els => els.map(e => e.textContent)")
            except PlaywrightError as exc:
                report.judge(Verdict.INCONCLUSIVE, f"the browser could not use the page: {str(exc).splitlines()[0]}")
                return
            finally:
                await browser.close()
    finally:
        await shut(attacker)
    report.did(f"a victim in chromium said something; another member re-sent its id {victim_id!r} with its own text")
    spoofed = [text for text in mine if f"mallory says {token}" in text]
    report.saw(f"the victim's page shows {len(mine)} message(s) as its own, {len(spoofed)} of them the attacker's")
    report.figures["spoofed_as_mine"] = len(spoofed)
    report.judge(
        Verdict.HURT if spoofed else Verdict.HELD,
        "the attacker's message shows as the victim's own" if spoofed else "only the victim's own message is 'mine'",
    )


async def _id_of(ws: ClientConnection, content: str) -> str | None:
    """The `id` of the broadcast of `content` as a member sees it."""
    for _ in range(50):
        frame = await next_frame(ws, 5.0)
        if frame is None:
            return None
        if frame.get("type") == "user_msg" and frame.get("content") == content:
            found = frame.get("id")
            return found if isinstance(found, str) else None
    return None


async def run(target: AttackTarget) -> AttackReport:
    report = AttackReport(NAME, target.endpoint.template)
    await _framing(target, report)
    await _my_message(target, report)
    return report
