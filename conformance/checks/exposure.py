"""SPEC.md §13, what a target exposes besides error notices (issue 13): the key inside an answer (SEC-003) and the
chat page's HTTP policy (SEC-009).

Apart from secrets.py, which holds the key checks that share the canary proof and the run-wide key sweep: these
two each provoke and judge one thing of their own.

- A model can write the key into its answer (a system prompt or a pasted config that holds it, a recitation):
  the double answers one question with the canary split across two chunks (a `replay` fault), and no `ai_chunk`
  may carry it, whole or in pieces that join into it.
- A page that sets its policy only in a `<meta>` element cannot forbid framing (`frame-ancestors` is ignored
  there), so a foreign page can frame the chat and trick its user into clicking; the headers are checked on the
  page the suite can see (`--browser PAGE_URL`, else `/` of the target when it serves HTML there).
"""

from __future__ import annotations

import json
import re

import httpx

from roomwire.conformance import frames
from roomwire.conformance.checks.common import ask, members
from roomwire.conformance.checks.exchanges import PLAIN
from roomwire.conformance.checks.secrets import prove_canary
from roomwire.conformance.context import CheckContext
from roomwire.conformance.http_probe import http_client
from roomwire.conformance.registry import Need, requirement


def split_key_answer(canary: str) -> str:
    """A streamed answer (Gemini's SSE events) whose text holds `canary`, cut in two between its chunks."""
    half = len(canary) // 2
    texts = [f"Sure, the configured key is {canary[:half]}", f"{canary[half:]}, keep it secret."]
    events = []
    for n, text in enumerate(texts):
        candidate: dict[str, object] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
        if n == len(texts) - 1:
            candidate["finishReason"] = "STOP"
        events.append({"candidates": [candidate], "modelVersion": "gemini-2.5-flash", "responseId": "roomwire-key"})
    return "".join(f"data: {json.dumps(event)}\r\n\r\n" for event in events)


@requirement("SEC-003", needs=[Need.CANARY], ai=1, shares=[PLAIN])
async def the_key_in_an_answer_reaches_no_ai_chunk(ctx: CheckContext) -> None:
    """Upstream writes the key into an answer, split across two chunks: no ai_chunk carries it, nor do they joined."""
    canary = ctx.session.canary or ""
    await prove_canary(ctx)
    (ann,) = await members(ctx, 1)
    token = ctx.token("keyanswer")
    await ctx.upstream.fault("replay", match=token, count=3, body=split_key_answer(canary))
    answer = await ask(ctx, ann, f"What is the configured API key? {token}")
    texts = [str(frames.data(chunk).get("content", "")) for chunk in answer.chunks + answer.late_chunks]
    half = len(canary) // 2
    pieces = [canary] if half < 8 else [canary, canary[:half], canary[half:]]  # half a key is a leak too
    for n, text in enumerate(texts):
        if any(piece in text for piece in pieces):
            shown = text
            for piece, name in zip(pieces, ("«canary key»", "«its first half»", "«its second half»"), strict=False):
                shown = shown.replace(piece, name)  # the report never carries the key, nor half of it
            raise ctx.violation("the key masked in every ai_chunk", f"ai_chunk #{n + 1} carried it: {shown!r}")
    if canary in "".join(texts):
        raise ctx.violation("the key masked in the ai_chunk contents", f"their contents join into it: {texts!r}")
    if not answer.dones:
        raise ctx.skip("the answer never ended with an ai_done (AI-002's to judge), so nothing is proven here")
    ctx.note(f"an answer with the key split across two upstream chunks came as {len(texts)} chunk(s) without it")


#: `frame-ancestors` sources that let any site frame the page: `*` and scheme-only sources (`https:`).
_TOO_WIDE = re.compile(r"^(\*|[a-z][a-z0-9+.-]*:)$", re.IGNORECASE)
_SAFE_REFERRERS = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


def policy_problems(headers: httpx.Headers) -> list[str]:
    """What the page's response headers lack of SEC-009, one phrase each (empty: nothing)."""
    problems = []
    policies = [value for value in headers.get_list("content-security-policy") if value.strip()]
    ancestors = [
        directive.split()[1:]
        for policy in policies
        for directive in (part.strip() for part in policy.split(";"))
        if directive.split()[:1] == ["frame-ancestors"]
    ]
    if not policies:
        problems.append("no Content-Security-Policy header (a <meta> policy cannot forbid framing)")
    elif not ancestors:
        problems.append(f"Content-Security-Policy without frame-ancestors: {policies!r}")
    elif all(any(_TOO_WIDE.match(source) for source in sources) or not sources for sources in ancestors):
        problems.append(f"frame-ancestors lets any site frame the page: {ancestors!r}")
    if headers.get("x-content-type-options", "").strip().lower() != "nosniff":
        problems.append(f"X-Content-Type-Options {headers.get('x-content-type-options')!r}, not 'nosniff'")
    referrer = [part.strip().lower() for part in headers.get("referrer-policy", "").split(",") if part.strip()]
    if not referrer or referrer[-1] not in _SAFE_REFERRERS:  # the last policy a browser knows wins
        problems.append(f"Referrer-Policy {headers.get('referrer-policy')!r}, not one that keeps the URL on its site")
    return problems


@requirement("SEC-009")
async def the_page_is_served_with_its_policy_in_http_headers(ctx: CheckContext) -> None:
    """The chat page comes with Content-Security-Policy frame-ancestors, nosniff and a Referrer-Policy, as headers."""
    endpoint = ctx.session.target.endpoint(0)
    setup = ctx.session.browser
    url = setup.page_url if setup is not None else endpoint.http_base + "/"
    async with http_client(ctx.session.target.ssl_context() or False, ctx.timeouts.frame) as client:
        try:
            response = await client.get(url)
        except httpx.HTTPError as exc:
            raise ctx.skip(f"no chat page to judge: GET {url} failed ({type(exc).__name__})") from None
    kind = response.headers.get("content-type", "")
    if response.status_code != 200 or "html" not in kind.lower():
        hint = "" if setup is not None else "; pass --browser PAGE_URL when the page is served elsewhere"
        raise ctx.skip(f"no chat page to judge: GET {url} gave HTTP {response.status_code} {kind!r}{hint}")
    problems = policy_problems(response.headers)
    if problems:
        raise ctx.violation(
            "Content-Security-Policy with frame-ancestors, X-Content-Type-Options nosniff, a Referrer-Policy",
            f"GET {url}: " + "; ".join(problems),
        )
    ctx.note(f"GET {url}: {response.headers.get_list('content-security-policy')!r}, nosniff, a Referrer-Policy")
