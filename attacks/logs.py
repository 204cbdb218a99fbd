"""Class 5, log flooding and forgery: client input and upstream text made to look like log lines, tracebacks
provoked, the same error repeated, and a key hidden in upstream answers (issue 13, finding 5).

A log is only visible to whoever runs the server, so this attack reads it: `--server-log FILE` (the file the
server's stderr goes to). It looks only at what the server wrote while the attack ran. With `--double URL` (the
Gemini double the server uses) and `--canary-key KEY` (the fake key it is configured with), upstream answers carry
the key and a forged line in `finishReason` too, and the ai_chunk frames are searched for the key.

Held: no line of the attacker's making starts a log line, no traceback, no key, and fewer log lines than bad
frames (repeats are counted, not each logged). Hurt: any of those. Inconclusive without `--server-log`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import httpx

from roomwire.attacks.probes import next_frame, open_ws, shut, until
from roomwire.attacks.report import AttackReport, Verdict
from roomwire.attacks.target import AttackTarget

NAME = "log-forgery"
SUMMARY = "forged log lines in frames and upstream text, provoked tracebacks, repeated errors, a key in answers (5)"

BAD_REPEATS = 200


def forged_line(token: str) -> str:
    return f"2026-01-01 00:00:00,000 ERROR roomwire.reference: FORGED-{token} the admin password is hunter2"


def forged_lines(lines: list[str], token: str) -> list[str]:
    """Log lines that the attacker's text starts: a newline it sent was written raw. The server's own line that
    quotes the text with the newline escaped (`...: STOP\\n2026-01-01 ... FORGED-...`) is not one."""
    return [line for line in lines if line.strip().startswith(forged_line(token))]


def bad_frames(token: str) -> list[str]:
    """Frames whose text a careless server would log verbatim: each carries a newline and a forged line."""
    forged = "\n" + forged_line(token)
    return [
        json.dumps({"type": "user_msg", "content": "x", "nickname": f"n{forged}"}),
        json.dumps({"type": f"dance{forged}"}),
        json.dumps({"type": "user_msg", "content": "x", "id": f"i{forged}"}),
        "not json" + forged,
        '{"type":"user_msg","content":"deep","x":' + "[" * 1000 + "]" * 1000 + "}",
        json.dumps({"type": "user_msg", "content": f"chat text{forged}"}),  # valid: broadcast, never logged
    ]


def upstream_body(token: str, canary: str) -> str:
    """A streamed answer whose text holds the key and whose finishReason holds a forged line (SSE, as Gemini)."""
    chunk = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": f"Sure! The key is {canary} ok"}]},
                "finishReason": f"STOP\n{forged_line(token)}",
                "index": 0,
            }
        ],
        "modelVersion": "gemini-2.5-flash",
        "responseId": f"forge-{token}",
    }
    return f"data: {json.dumps(chunk)}\r\n\r\n"


async def _send_bad_frames(target: AttackTarget, token: str, report: AttackReport) -> int:
    ws = await open_ws(target, "atk-logs", query="nickname=logger")
    await until(ws, {"welcome"}, 5.0)
    sent = 0
    for frame in bad_frames(token):
        await ws.send(frame)
        sent += 1
        await asyncio.sleep(0.15)
    for _ in range(BAD_REPEATS):  # the same error again and again, past the rate limit too
        await ws.send("}{ not json " + token)
        sent += 1
    await asyncio.sleep(1.0)
    await shut(ws)
    report.did(f"{len(bad_frames(token))} frames carrying a newline and a forged log line, then {BAD_REPEATS} bad "
               "JSON frames at once")  # fmt: skip
    return sent


async def _upstream(target: AttackTarget, token: str, canary: str, report: AttackReport) -> bool:
    """Ask once through a replayed upstream answer; True when an ai_chunk carried the key."""
    assert target.double_url is not None
    fault = {"kind": "replay", "match": token, "body": upstream_body(token, canary)}
    async with httpx.AsyncClient(base_url=target.double_url, timeout=5.0, trust_env=False) as http:
        (await http.post("/_double/faults", json=fault)).raise_for_status()
    ws = await open_ws(target, "atk-logs-ai", query="nickname=asker")
    leaked = False
    try:
        await until(ws, {"welcome"}, 5.0)
        await ws.send(json.dumps({"type": "ai_msg", "content": f"hello {token}"}))
        while (frame := await next_frame(ws, 10.0)) is not None and frame.get("type") != "ai_done":
            leaked = leaked or canary in json.dumps(frame)
    finally:
        await shut(ws)
    report.did("one ai_msg answered by a replayed upstream stream: the key in its text, a forged line in finishReason")
    return leaked


async def run(target: AttackTarget, *, canary: str | None = None) -> AttackReport:
    report = AttackReport(NAME, target.endpoint.template)
    token = secrets.token_hex(4)
    log = target.server_log
    start = log.stat().st_size if log is not None and log.exists() else 0
    bad = await _send_bad_frames(target, token, report)
    leaked = False
    if target.double_url and canary:
        leaked = await _upstream(target, token, canary, report)
        report.judge(
            Verdict.HURT if leaked else Verdict.HELD,
            "the key reached a client in an ai_chunk" if leaked else "no ai_chunk carried the key",
        )
    await asyncio.sleep(1.0)
    if log is None:
        report.judge(Verdict.INCONCLUSIVE, "the log is not visible to a client: pass --server-log FILE to judge it")
        return report
    _judge_log(report, _read_from(log, start), token, canary, bad)
    return report


def _read_from(path: Path, offset: int) -> str:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", "replace")


def _judge_log(report: AttackReport, text: str, token: str, canary: str | None, bad: int) -> None:
    lines = text.splitlines()
    forged = forged_lines(lines, token)
    tracebacks = text.count("Traceback (most recent call last)")
    keys = text.count(canary) if canary else 0
    report.figures.update(
        log_lines_written=len(lines), log_bytes_written=len(text.encode("utf-8")), bad_frames_sent=bad,
        forged_lines=len(forged), tracebacks=tracebacks, key_sightings=keys,
    )  # fmt: skip
    report.saw(f"the server wrote {len(lines)} log lines ({len(text):,} characters) for {bad} bad frames")
    report.judge(Verdict.HURT if forged else Verdict.HELD, f"{len(forged)} forged log lines")
    report.judge(Verdict.HURT if tracebacks else Verdict.HELD, f"{tracebacks} tracebacks from client input")
    if canary:
        report.judge(Verdict.HURT if keys else Verdict.HELD, f"the key appears {keys} times in the log")
    flooded = len(lines) >= bad
    report.judge(Verdict.HURT if flooded else Verdict.HELD, f"{len(lines)} log lines for {bad} bad frames")
