"""The knobs of a load run: Locust custom arguments, the settings users read from them, and room placement.

Locust parses these with its own parser (`events.init_command_line_parser`), shows them in the web UI, and in
distributed mode sends the master's values to every worker with each spawn message, so a worker's users see
the master's `--scenario`, `--room-size` and so on. Nothing here imports Locust: `add_arguments` takes any
argparse-like parser, and `LoadSettings.from_options` any namespace.

Scenarios (which user classes run; `roomwire.loadtest.users.SCENARIOS` maps names to classes):

    chat       ChatUser: rooms of --room-size members, each sending --msg-rate user_msg per second
    ai         AskerUser: askers with history, one question per 1/--ai-rate seconds, in rooms like chat
    ratelimit  RateLimitUser: asks as fast as answers come back, past the server's AI budget and the upstream
               quota, and counts friendly waits (ai_quota) vs upstream 429s vs hangs
    mixed      ChatUser and AskerUser in the same rooms; --ask-share of the users ask
"""

from __future__ import annotations

import itertools
import secrets
import string
from dataclasses import dataclass
from typing import Any

SCENARIO_NAMES = ("chat", "ai", "ratelimit", "mixed")

#: Questions per second per asking user when --ai-rate is not given: askers think; the ratelimit users don't.
DEFAULT_AI_RATE = {"chat": 0.2, "ai": 0.2, "mixed": 0.2, "ratelimit": 2.0}


def add_arguments(parser: Any) -> None:
    """Register roomwire's options on Locust's argument parser (an argparse/configargparse parser)."""
    group = parser.add_argument_group("roomwire", "roomwire load scenarios (docs/loadtest.md)")
    group.add_argument("--scenario", choices=SCENARIO_NAMES, default="mixed", help="which users run (default mixed)")
    group.add_argument("--room-size", type=int, default=10, help="members per room (default 10)")
    group.add_argument("--room-prefix", default="loadtest", help="room ids are <prefix>-<n> (default loadtest)")
    group.add_argument("--msg-rate", type=float, default=1.0, help="user_msg per second per chat user (default 1)")
    group.add_argument("--msg-chars", type=int, default=40, help="characters per user_msg (default 40)")
    group.add_argument("--ai-rate", type=float, default=None, help="questions per second per asker")
    group.add_argument("--history", type=int, default=6, help="history items each question carries (default 6)")
    group.add_argument("--ask-share", type=float, default=0.2, help="mixed: share of users who ask (default 0.2)")
    group.add_argument("--fanout-deadline-s", type=float, default=10.0, help="own user_msg echo deadline")
    group.add_argument("--ai-deadline-s", type=float, default=60.0, help="ai_msg -> ai_done deadline (hang)")
    group.add_argument(
        "--validate-every", type=int, default=100, help="schema-check 1 frame in N (default 100; 1 = all)"
    )
    group.add_argument("--drain-s", type=float, default=None, help="graceful-stop bound (default: the deadlines)")
    group.add_argument(
        "--max-p95-ms", action="append", default=[], metavar="[NAME=]MS", help="fail when p95 exceeds MS"
    )
    group.add_argument(
        "--max-p99-ms", action="append", default=[], metavar="[NAME=]MS", help="fail when p99 exceeds MS"
    )
    group.add_argument(
        "--max-error-ratio", action="append", default=[], metavar="[NAME=]RATIO", help="fail above RATIO"
    )
    group.add_argument("--allow-remote-target", action="store_true", help="allow a host other than loopback")
    group.add_argument("--max-users", type=int, default=1000, help="refuse more users than this (default 1000)")
    group.add_argument("--max-rooms", type=int, default=200, help="refuse more rooms than this (default 200)")
    group.add_argument("--max-run-time", type=int, default=600, help="seconds; headless runs stop by then")


@dataclass(frozen=True, kw_only=True)
class LoadSettings:
    """The options a user needs, read once per user from the (master's) parsed options."""

    scenario: str = "mixed"
    room_size: int = 10
    room_prefix: str = "loadtest"
    msg_rate: float = 1.0
    msg_chars: int = 40
    ai_rate: float = 0.2
    history: int = 6
    ask_share: float = 0.2
    fanout_deadline_s: float = 10.0
    ai_deadline_s: float = 60.0
    drain_s: float = 60.0
    validate_every: int = 100
    max_rooms: int = 200

    @classmethod
    def from_options(cls, options: Any) -> LoadSettings:
        """Settings from Locust's parsed options; missing ones (a plain `Environment` in a test) keep defaults."""
        defaults = cls()
        values = {name: getattr(options, name, None) for name in cls.__dataclass_fields__}
        chosen = {name: value for name, value in values.items() if value is not None}
        scenario = str(chosen.get("scenario", defaults.scenario))
        chosen.setdefault("ai_rate", DEFAULT_AI_RATE.get(scenario, defaults.ai_rate))
        fanout = float(chosen.get("fanout_deadline_s", defaults.fanout_deadline_s))
        ai = float(chosen.get("ai_deadline_s", defaults.ai_deadline_s))
        chosen.setdefault("drain_s", max(fanout, ai) + 1.0)
        return cls(**chosen)

    def room_of(self, slot: int) -> str:
        """The room of the user in `slot`: consecutive slots fill one room; never more than max_rooms rooms."""
        return f"{self.room_prefix}-{(slot // self.room_size) % self.max_rooms}"


_ALPHABET = string.ascii_lowercase + string.digits
#: Identifies this process in every id it sends, so tags from different workers never collide.
PROCESS_TAG = "".join(secrets.choice(_ALPHABET) for _ in range(6))
_local_slots = itertools.count()


def next_slot(worker_index: int, worker_count: int) -> int:
    """A run-wide user number: this process's n-th user is n * workers + index, so that every room mixes users
    from all workers (Locust hands users to workers round-robin) and fan-out crosses processes."""
    return next(_local_slots) * max(1, worker_count) + worker_index


def user_tag(slot: int) -> str:
    return f"{PROCESS_TAG}-{slot}"
