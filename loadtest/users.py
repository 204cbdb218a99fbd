"""Locust users that speak the roomwire protocol: one abstract user owning the connection, three concrete ones.

`RoomwireUser` does everything a concrete user should not have to think about: it reads its settings from the
(master's) parsed options, takes a run-wide slot that decides its room, owns a `RoomwireClient` whose reader
greenlet fires the measurements, reconnects when the server dropped it, stops sending while the run drains
(`roomwire.loadtest.lifecycle`), and on stop closes the connection, counting whatever is still pending as
failed. Concrete users only declare tasks and `wait_time` (STYLE: Load tests).
"""

from __future__ import annotations

import collections
import itertools
import random
import time
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

import gevent
from locust import User, task
from locust.runners import WorkerRunner

from roomwire.loadtest import lifecycle, outcomes
from roomwire.loadtest.client import RoomwireClient
from roomwire.loadtest.metrics import AiOutcome
from roomwire.loadtest.scenarios import LoadSettings, next_slot, user_tag
from roomwire.spec.limits import DEFAULT_LIMITS, ENDPOINT_PATH
from roomwire.spec.messages import HistoryItem

#: Questions askers pick from; the Gemini double answers any of them, the real one briefly.
QUESTIONS = (
    "핀볼에서 플리퍼를 언제 눌러야 하나요?",
    "What is a good strategy for multiball?",
    "틸트 경고가 뜨면 어떻게 해야 하나요?",
    "How do ramps and orbits differ?",
)


def room_url(host: str, room: str, nickname: str) -> str:
    """The endpoint URL for `room` on the target given as Locust's host (`ws://`, `wss://`; http(s) mapped)."""
    parts = urlsplit(host)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/") + ENDPOINT_PATH.format(room_id=room)
    return urlunsplit((scheme, parts.netloc, path, f"nickname={quote(nickname)}&lang=en", ""))


def _worker_position(environment: Any) -> tuple[int, int]:
    """(index, count) of this process among the run's workers; (0, 1) outside distributed mode. The count is
    the master's --expect-workers (sent to workers with each spawn message)."""
    if not isinstance(environment.runner, WorkerRunner):
        return 0, 1
    count = getattr(environment.parsed_options, "expect_workers", 1)
    return int(environment.runner.worker_index or 0), int(count or 1)


class RoomwireUser(User):
    """Owns one connection to the room its slot falls in; see the module docstring."""

    abstract = True
    settings: LoadSettings
    client: RoomwireClient

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.settings = LoadSettings.from_options(environment.parsed_options)
        self.slot = next_slot(*_worker_position(environment))
        self.room = self.settings.room_of(self.slot)
        self.outcomes_seen: set[AiOutcome] = set()
        self._next_turn: float | None = None
        self.client = RoomwireClient(
            environment.events.request,
            url=room_url(self.host or "", self.room, f"lt{self.slot}"),
            tag=user_tag(self.slot),
            fanout_deadline_s=self.settings.fanout_deadline_s,
            ai_deadline_s=self.settings.ai_deadline_s,
            on_outcome=self._on_outcome,
            validate_every=self.settings.validate_every,
        )

    def _on_outcome(self, outcome: AiOutcome) -> None:
        outcomes.TALLY.record(outcome, first_for_user=outcome not in self.outcomes_seen)
        self.outcomes_seen.add(outcome)

    def on_start(self) -> None:
        """Connect, then wait until this user's first turn (a random phase, see `pace`)."""
        lifecycle.CLIENTS.add(self.client)
        self.client.connect()
        gevent.sleep(self.wait_time())

    def pace(self, period: float) -> float:
        """Seconds until this user's next turn: one turn per `period`, on a random phase of its own.

        Locust's `constant_pacing` counts from the user's spawn time, so users spawned in one batch all act in
        the same instant, every period: a room's members then all speak at once, and the burst sets the fan-out
        latency, not the server. Measured here with 10 users: p50 13.6 ms paced in step, 5.3 ms spread out.
        A turn missed by a slow task (an AI answer longer than the period) is taken at once, never made up for.
        """
        now = time.monotonic()
        if self._next_turn is None:
            self._next_turn = now + random.uniform(0, period)
        else:
            self._next_turn = max(self._next_turn + period, now)
        return self._next_turn - now

    def on_stop(self) -> None:
        self.client.close()
        lifecycle.CLIENTS.discard(self.client)

    def ready(self) -> bool:
        """True when this user may send now: connected (reconnecting if dropped) and the run is not draining."""
        if lifecycle.draining():
            return False
        return self.client.connected or self.client.connect()


class ChatUser(RoomwireUser):
    """Sends stamped user_msg frames at --msg-rate; every other member's reader times their fan-out."""

    weight = 4

    def wait_time(self) -> float:
        return self.pace(1.0 / self.settings.msg_rate)

    @task
    def say(self) -> None:
        if self.ready():
            self.client.chat(("chat " * self.settings.msg_chars)[: self.settings.msg_chars])


class AskerUser(RoomwireUser):
    """Asks the AI with the history of its own conversation (the seed page's AI tab), one question at a time."""

    weight = 1
    keep_history: ClassVar[bool] = True

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.history: collections.deque[HistoryItem] = collections.deque(maxlen=max(self.settings.history, 0))
        self.questions = itertools.cycle(random.sample(QUESTIONS, len(QUESTIONS)))

    def wait_time(self) -> float:
        return self.pace(1.0 / self.settings.ai_rate)

    @task
    def ask(self) -> None:
        if not self.ready():
            return
        question = next(self.questions)
        ask = self.client.ask(question, tuple(self.history) if self.keep_history else ())
        if ask is not None and ask.outcome is AiOutcome.OK and self.history.maxlen:
            self.history.append(HistoryItem(role="user", content=question))
            answer = ask.exchange.text[: DEFAULT_LIMITS.max_content_chars]
            self.history.append(HistoryItem(role="model", content=answer))


class RateLimitUser(AskerUser):
    """Asks again as soon as an answer (or a refusal) ends, ignoring `retry_after`: the point is to go past
    the server's AI budget (LIMIT-005) and the upstream quota (UP-001) and see which users hear which."""

    keep_history = False


#: Which user classes each --scenario runs (roomwire.loadtest.scenarios describes them).
SCENARIOS: dict[str, tuple[type[RoomwireUser], ...]] = {
    "chat": (ChatUser,),
    "ai": (AskerUser,),
    "ratelimit": (RateLimitUser,),
    "mixed": (ChatUser, AskerUser),
}
