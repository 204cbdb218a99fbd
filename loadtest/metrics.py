"""What the load tests measure, under which names, and how a failure is worded: the vocabulary of the stats table.

Nothing here does I/O or imports Locust, so the rules can be tested (and reused by tools that read Locust's CSV
files) without gevent's monkey-patching. `roomwire.loadtest.client` turns protocol events into `Sample`s with
these functions and fires them as Locust `request` events.

Request names are fixed and never carry a room, user or message id (ids would make one stats row per message):

    connect        TCP + WebSocket handshake + the welcome frame (CONN-003: the welcome proves membership)
    fanout         a user_msg's send time (stamped by the sender into its `id`) -> its arrival at another member
    ai ttft        ai_msg sent -> first ai_chunk
    ai itl         gap between two consecutive ai_chunk frames of one answer
    ai total       ai_msg sent -> ai_done for an answer that ended `ok` or `truncated`
    ai error       an AI exchange that ended with an error notice other than an upstream 429 (the code is the error)
    upstream 429   an AI exchange that ended with `upstream_rate_limited` (UP-001)

Every ai_msg ends in exactly one of `ai total` (success or hang), `ai error` or `upstream 429`, so their counts
add up to the questions asked. Missing deliveries and missing ai_done are failures, never dropped samples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from roomwire.spec.codes import AiStatus, ErrorCode
from roomwire.spec.limits import CLIENT_ID_PATTERN
from roomwire.spec.protocol import AiExchange

REQUEST_TYPE = "WS"

CONNECT = "connect"
FANOUT = "fanout"
AI_TTFT = "ai ttft"
AI_ITL = "ai itl"
AI_TOTAL = "ai total"
AI_ERROR = "ai error"
UPSTREAM_429 = "upstream 429"
AGGREGATED = "Aggregated"  # Locust's name for the total row

REQUEST_NAMES = (CONNECT, FANOUT, AI_TTFT, AI_ITL, AI_TOTAL, AI_ERROR, UPSTREAM_429)


class LoadFailure(Exception):
    """Root of the failures a user reports; `repr()` is what Locust shows in its failures table, so keep it short."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self})"


class ConnectFailed(LoadFailure):
    """The handshake failed, or the server answered without a welcome (e.g. `room_full`, LIMIT-006)."""


class ConnectionLost(LoadFailure):
    """The server closed (or dropped) a connection we did not close."""


class MissingDelivery(LoadFailure):
    """A room event that should have arrived did not (own echo past its deadline, or a `seq` gap)."""


class AiHang(LoadFailure):
    """No ai_done within the deadline: the seed page's spinner would spin forever."""


class ErrorNotice(LoadFailure):
    """The server answered one of our frames with an error notice; the message is the notice's `code` alone."""


class SpecBroken(LoadFailure):
    """The server broke a requirement a client can see (the message starts with the requirement id)."""


# --- fan-out stamps ----------------------------------------------------------------------------------------------

#: A fan-out stamp: `rw.<sender>.<n>.<wall-clock µs>`; it fits SPEC §2.1's id pattern (64 chars at most).
_STAMP = re.compile(r"^rw\.([A-Za-z0-9-]{1,24})\.([0-9]{1,10})\.([0-9]{1,20})$")
_ID = re.compile(CLIENT_ID_PATTERN)


@dataclass(frozen=True)
class Stamp:
    """The sender-side facts a receiver needs: who sent it, its number, and when (seconds since the epoch)."""

    sender: str
    n: int
    sent_at: float

    def encode(self) -> str:
        text = f"rw.{self.sender}.{self.n}.{round(self.sent_at * 1_000_000)}"
        if not _STAMP.match(text) or not _ID.match(text):
            raise ValueError(f"sender tag {self.sender!r} does not fit a fan-out stamp")
        return text

    @classmethod
    def decode(cls, id: str | None) -> Stamp | None:
        """The stamp in a broadcast's echoed `id`, or None for frames other clients sent (they are not ours)."""
        match = _STAMP.match(id or "")
        if match is None:
            return None
        return cls(sender=match.group(1), n=int(match.group(2)), sent_at=int(match.group(3)) / 1_000_000)


def fanout_ms(stamp: Stamp, arrived_at: float) -> float:
    """Fan-out latency in ms. Both times are wall clock (`time.time()`): sender and receiver may be different
    processes, where `perf_counter` values cannot be compared. Clamped at 0 because two processes may read the
    shared clock a few µs apart; across machines the clocks' offset adds directly to the result."""
    return max(0.0, (arrived_at - stamp.sent_at) * 1000.0)


# --- AI exchanges --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One Locust request event: a name, a time in ms, and a failure (None for success)."""

    name: str
    response_time: float
    failure: LoadFailure | None = None
    length: int = 0


class AiOutcome(StrEnum):
    """How one AI exchange ended, as the `ratelimit` scenario counts them."""

    OK = "ok"
    FRIENDLY_WAIT = "friendly wait (ai_quota)"
    UPSTREAM_429 = "upstream 429 (upstream_rate_limited)"
    HANG = "hang (no ai_done in time)"
    OTHER_ERROR = "other error"


_SUCCESS = (AiStatus.OK, AiStatus.TRUNCATED)


def chunk_samples(exchange: AiExchange, sent_at: float) -> list[Sample]:
    """`ai ttft` for the first chunk or `ai itl` for a later one, for the chunk that just arrived."""
    times = exchange.chunk_times
    if not times:
        return []
    size = len(exchange.chunks[-1].encode())
    if len(times) == 1:
        return [Sample(AI_TTFT, (times[0] - sent_at) * 1000.0, length=size)]
    return [Sample(AI_ITL, (times[-1] - times[-2]) * 1000.0, length=size)]


def error_codes(exchange: AiExchange, extra: list[str]) -> list[str]:
    """Codes of the error notices that answered this exchange, in arrival order."""
    return [str(notice.code) for notice in exchange.errors if notice.code] + extra


def terminal_sample(exchange: AiExchange, sent_at: float, extra_codes: list[str]) -> tuple[Sample, AiOutcome]:
    """The one event that ends a finished exchange (it has its ai_done), and how the exchange ended."""
    assert exchange.done_at is not None, "only a finished exchange has a terminal sample"
    elapsed = (exchange.done_at - sent_at) * 1000.0
    codes = error_codes(exchange, extra_codes)
    size = len(exchange.text.encode())
    if not codes and exchange.status in _SUCCESS:
        return Sample(AI_TOTAL, elapsed, length=size), AiOutcome.OK
    code = codes[0] if codes else f"status={exchange.status.value if exchange.status else 'missing'}"
    if code == ErrorCode.UPSTREAM_RATE_LIMITED:
        return Sample(UPSTREAM_429, elapsed, ErrorNotice(code)), AiOutcome.UPSTREAM_429
    outcome = AiOutcome.FRIENDLY_WAIT if code == ErrorCode.AI_QUOTA else AiOutcome.OTHER_ERROR
    return Sample(AI_ERROR, elapsed, ErrorNotice(code)), outcome


def hang_sample(exchange: AiExchange, deadline_s: float, extra_codes: list[str]) -> tuple[Sample, AiOutcome]:
    """The event for an exchange whose ai_done did not come within `deadline_s` (the notices seen are named)."""
    codes = error_codes(exchange, extra_codes)
    after = f" after {', '.join(codes)}" if codes else ""
    failure = AiHang(f"no ai_done within {deadline_s:g} s{after}")
    return Sample(AI_TOTAL, deadline_s * 1000.0, failure), AiOutcome.HANG
