"""SPEC.md §9, error codes, texts and close reasons: ERR-001 … ERR-003."""

from __future__ import annotations

import json

from roomwire.conformance import frames
from roomwire.conformance.checks.common import Pacer, flood, members
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.registry import requirement
from roomwire.spec.codes import RETRY_AFTER_CODES

MAX_CLOSE_REASON_BYTES = 123  # RFC 6455 §5.5: a control frame's payload is at most 125 bytes, 2 of them the code


def _has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


async def _provoke(ctx: CheckContext, client: Client, payload: str, pacer: Pacer) -> dict[str, object]:
    await pacer.wait()
    since = client.mark()
    ctx.sent(client, await client.send_text(payload), f"{payload[:60]!r}")
    notice = await ctx.expect(client, frames.system("error"), f"an error notice for {payload[:60]!r}", since=since)
    return frames.data(notice)


@requirement("ERR-001")
async def error_notices_use_the_table_codes_content_and_retry_after(ctx: CheckContext) -> None:
    """bad_json, unknown_type, bad_frame, too_long and rate_limited come with their codes, content and retry_after."""
    (ann,) = await members(ctx, 1)
    pacer = Pacer(ctx)
    too_long = json.dumps({"type": "user_msg", "content": "x" * (ctx.limits.max_content_chars + 1)})
    cases = [
        ("{oops", "bad_json"),
        ('{"type":"dance"}', "unknown_type"),
        ('{"type":"user_msg"}', "bad_frame"),
        (too_long, "too_long"),
    ]
    for payload, code in cases:
        notice = await _provoke(ctx, ann, payload, pacer)
        if notice.get("code") != code or not str(notice.get("content", "")).strip():
            raise ctx.violation(f"error code {code!r} with a non-empty content", json.dumps(notice, ensure_ascii=False))
    ctx.note(f"{len(cases)} situations answered with their codes and a content")
    flooder = await ctx.driver.join(ctx.room(), "Flood")
    sent = await flood(ctx, flooder)
    if sent.inconclusive:
        ctx.note("rate_limited not provoked: the suite sent too slowly to overflow the bucket")
        return
    if not sent.notices:
        expected = f"a rate_limited notice for {sent.sent} frames in {sent.ended - sent.started:.2f} s"
        raise ctx.violation(expected, flooder.describe())
    data = frames.data(sent.notices[0])
    retry = data.get("retry_after")
    if not isinstance(retry, int) or isinstance(retry, bool) or retry < 1 or not str(data.get("content", "")).strip():
        raise ctx.violation(
            "rate_limited with an integer retry_after >= 1 and a content", json.dumps(data, ensure_ascii=False)
        )
    for item in ann.find(frames.system("error")) + flooder.find(frames.system("error")):
        d = frames.data(item)
        if d.get("code") in {c.value for c in RETRY_AFTER_CODES} and not isinstance(d.get("retry_after"), int):
            raise ctx.violation(f"retry_after on every {d.get('code')!r} notice", frames.summary(item))
    ctx.note("rate_limited with retry_after")


@requirement("ERR-002")
async def system_texts_follow_lang(ctx: CheckContext) -> None:
    """Korean texts by default, English with lang=en (welcome and error notice)."""
    room = ctx.room()
    pacer = Pacer(ctx)
    for lang, params in (("ko", None), ("en", {"lang": "en"})):
        client = await ctx.driver.join(room, f"L{lang}", params=params)
        notice = await _provoke(ctx, client, '{"type":"dance"}', pacer)
        texts = [str(notice.get("content", ""))] + [
            str(frames.data(w).get("content", "")) for w in client.find(frames.system("welcome"))
        ]
        wrong = [t for t in texts if _has_hangul(t) != (lang == "ko")]
        if wrong:
            raise ctx.violation(
                f"system texts in {'Korean' if lang == 'ko' else 'English'} for lang={lang}", f"{wrong}"
            )
    ctx.note("Korean by default, English with lang=en")


async def _provoke_close(ctx: CheckContext, client: Client, what: str, token: str) -> None:
    """A frame the target must close the connection for, carrying `token` (client text)."""
    if what == "binary":
        sent = await client.send_binary(json.dumps({"type": "user_msg", "content": token}).encode())
    elif what == "invalid UTF-8":
        sent = await client.send_raw_text_bytes(b"\xff" + token.encode())
    else:
        content = token * (ctx.limits.max_frame_bytes // len(token) + 2)
        sent = await client.send_text(json.dumps({"type": "user_msg", "nickname": client.nickname, "content": content}))
    ctx.sent(client, sent, f"the {what} frame")


@requirement("ERR-003")
async def close_reasons_are_short_fixed_texts(ctx: CheckContext) -> None:
    """Close reasons after binary, invalid UTF-8 and oversized frames are short, fixed and free of client text."""
    room = ctx.room()
    reasons: dict[str, list[str]] = {}
    for attempt in (1, 2):
        token = ctx.token(f"reason{attempt}")
        for what in ("binary", "invalid UTF-8", "oversized"):
            client = await ctx.driver.join(room, f"R{attempt}")
            await _provoke_close(ctx, client, what, token)
            await client.wait_closed(ctx.timeouts.frame)
            reason = client.close_reason or ""
            if token in reason or len(reason.encode()) > MAX_CLOSE_REASON_BYTES:
                raise ctx.violation(f"a short close reason without client text after a {what} frame", repr(reason))
            reasons.setdefault(what, []).append(reason)
    varying = {what: texts for what, texts in reasons.items() if len(set(texts)) > 1}
    if varying:
        raise ctx.violation("the same fixed close reason for the same situation", f"{varying}")
    ctx.note(f"close reasons {sorted({r for texts in reasons.values() for r in texts})}")
