"""Guard rails: a load test only hits loopback unless told otherwise, and never runs unbounded.

A locustfile pointed at the wrong `-H` is a denial-of-service tool, so a target other than loopback needs
`--allow-remote-target`. Users, rooms and run time have ceilings (`--max-users`, `--max-rooms`,
`--max-run-time`) that a person raises on purpose; a headless run without `--run-time` gets `--max-run-time`.
Every check returns the problems as sentences (empty when all is well); the plugin turns them into exit code 2
before anything ran, or into a stopped test when the web UI asked for too much.
"""

from __future__ import annotations

import ipaddress
import math
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host_url: str) -> bool:
    """True for ws(s)/http(s) URLs whose host is a loopback name or address (127.0.0.0/8, ::1)."""
    host = urlsplit(host_url).hostname
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a DNS name: it may resolve anywhere, so it counts as remote


def target_problems(host_url: str | None, *, allow_remote: bool) -> list[str]:
    if not host_url:
        return ["no target: give -H ws://127.0.0.1:PORT (or set host in the web UI)"]
    if urlsplit(host_url).scheme not in ("ws", "wss", "http", "https"):
        return [f"target {host_url!r} is not a ws://, wss://, http:// or https:// URL"]
    if not allow_remote and not is_loopback(host_url):
        return [f"target {host_url!r} is not loopback; pass --allow-remote-target to load it on purpose"]
    return []


def size_problems(*, users: int | None, room_size: int, max_users: int, max_rooms: int) -> list[str]:
    problems = []
    if room_size < 2:
        problems.append(f"--room-size {room_size}: a room needs at least 2 members for fan-out")
    if users is not None and users > max_users:
        problems.append(f"{users} users exceed --max-users {max_users}")
    if users is not None and room_size >= 2 and math.ceil(users / room_size) > max_rooms:
        problems.append(f"{users} users in rooms of {room_size} need more than --max-rooms {max_rooms} rooms")
    return problems


def run_time_problems(run_time: int | None, *, max_run_time: int) -> list[str]:
    if run_time is not None and run_time > max_run_time:
        return [f"--run-time {run_time} s exceeds --max-run-time {max_run_time} s"]
    return []


def rate_problems(*, msg_rate: float, ai_rate: float | None, ask_share: float) -> list[str]:
    problems = []
    if msg_rate <= 0 or msg_rate > 100:
        problems.append(f"--msg-rate {msg_rate:g} must be in (0, 100] messages per second per user")
    if ai_rate is not None and (ai_rate <= 0 or ai_rate > 100):
        problems.append(f"--ai-rate {ai_rate:g} must be in (0, 100] questions per second per user")
    if not 0 <= ask_share <= 1:
        problems.append(f"--ask-share {ask_share:g} must be between 0 and 1")
    return problems
