"""The measuring half of a load-test connection, sans I/O: frames in, samples out.

`Meter` wraps one `ClientProtocol` (which checks every invariant a client can see) and adds what a load test
needs on top: what this connection is still waiting for, and the `Sample`s (Locust request events) each frame
or each passing second produces. Whoever owns the socket (`roomwire.loadtest.client` on gevent, a test with
canned frames) passes the clocks in: `now` is `time.perf_counter()` (durations on this connection), `wall` is
`time.time()` (fan-out stamps, which other processes read). Schema validation runs on one frame in
`validate_every`, off the measurement path when a `spot_check` is given (`roomwire.loadtest.sampled` says why);
every other client-visible invariant is checked on every frame.

What this connection waits for, and how each wait ends:

    own user_msg (by its id)  -> its broadcast comes back: no sample (the sender is not a receiver)
                              -> an error notice echoes its id: `fanout` failure (ErrorNotice(code))
                              -> fanout_deadline_s passes: `fanout` failure (MissingDelivery)
    ai_msg (by its id)        -> ai_done: one terminal sample (`ai total` / `ai error` / `upstream 429`)
                              -> ai_deadline_s passes: `ai total` failure (AiHang)

Broadcasts stamped by other senders give `fanout` samples; a `seq` gap (CHAT-005) gives one `fanout` failure
per missing room event, which catches losses even when the lost message's sender runs in another process.

Memory stays flat however long a run lasts: the protocol's frame log keeps a short tail, finished exchanges
are pruned, and violations are consumed as they are reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from roomwire.loadtest.metrics import (
    AI_TOTAL,
    CONNECT,
    FANOUT,
    AiOutcome,
    ConnectionLost,
    ErrorNotice,
    MissingDelivery,
    Sample,
    SpecBroken,
    Stamp,
    chunk_samples,
    fanout_ms,
    hang_sample,
    terminal_sample,
)
from roomwire.loadtest.sampled import SampledProtocol
from roomwire.spec.codes import SystemEvent
from roomwire.spec.messages import AiChunk, AiDone, HistoryItem, ServerUserMsg, System
from roomwire.spec.protocol import AI_ERROR_CODES, AiExchange, ClientProtocol, Received
from roomwire.spec.validate import Verdict

#: Settled exchanges kept so that a late frame for one is still told apart (AI-002 after its ai_done, or the
#: ai_done of an exchange already counted as a hang, which must not count as AI-001).
_FINISHED_KEPT = 4
#: Frames kept in the protocol's log, for a failure's evidence; older ones are dropped.
_FRAMES_KEPT = 32


class _TailLog(list[Received]):
    """A list that keeps its last `keep` items while `len()` counts all ever appended.

    `ClientProtocol` numbers frames by `len(received)` and checks CONN-003 on frame 0, so the count must keep
    rising even though old frames are dropped.
    """

    def __init__(self, keep: int) -> None:
        super().__init__()
        self._keep = keep
        self._count = 0

    def append(self, item: Received) -> None:
        super().append(item)
        self._count += 1
        if super().__len__() > 2 * self._keep:
            del self[: -self._keep]

    def __len__(self) -> int:
        return self._count


@dataclass(eq=False)
class Ask:
    """One ai_msg in flight: its exchange, when it left (perf clock), and how it ended once it has."""

    exchange: AiExchange
    sent_at: float
    extra_codes: list[str] = field(default_factory=list)  # notices the protocol does not tie to AI (rate_limited)
    outcome: AiOutcome | None = None
    listeners: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        assert self.exchange.request.id is not None, "every ask is sent with an id"
        return self.exchange.request.id


class Meter:
    """One connection's protocol state plus its pending waits; see the module docstring."""

    def __init__(
        self,
        *,
        tag: str,
        fanout_deadline_s: float,
        ai_deadline_s: float,
        on_outcome: Callable[[AiOutcome], Any] | None = None,
        validate_every: int = 1,
        spot_check: Callable[[str], Any] | None = None,
    ) -> None:
        self.tag = tag
        self.fanout_deadline_s = fanout_deadline_s
        self.ai_deadline_s = ai_deadline_s
        self.protocol: ClientProtocol = SampledProtocol(validate_every=validate_every, spot_check=spot_check)
        self.protocol.received = _TailLog(_FRAMES_KEPT)
        self._on_outcome = on_outcome
        self._echoes: dict[str, float] = {}  # own user_msg id -> perf time sent
        self._asks: dict[str, Ask] = {}
        self._sent = 0

    # --- sending ----------------------------------------------------------------------------------------------------

    def chat(self, content: str, *, now: float, wall: float) -> str:
        """A user_msg stamped with the wall-clock send time, for other members to time its fan-out."""
        self._sent += 1
        id = Stamp(self.tag, self._sent, wall).encode()
        self._echoes[id] = now
        return self.protocol.user_msg(content, id=id)

    def ask(self, content: str, history: Iterable[HistoryItem] = (), *, now: float) -> tuple[str, Ask]:
        """An ai_msg and its `Ask`; the caller sends the text, then waits on the ask's listeners."""
        self._sent += 1
        id = f"ai.{self.tag}.{self._sent}"
        text = self.protocol.ai_msg(content, history=tuple(history), id=id, now=now)
        ask = Ask(exchange=self.protocol.exchanges[-1], sent_at=now)
        self._asks[id] = ask
        return text, ask

    @property
    def pending(self) -> int:
        return len(self._echoes) + len(self._asks)

    # --- receiving --------------------------------------------------------------------------------------------------

    def receive(self, message: str | bytes, *, now: float, wall: float) -> list[Sample]:
        """Consume one frame; returns the samples it completes (possibly none)."""
        before = self.protocol.last_seq
        if isinstance(message, bytes):
            self.protocol.receive_binary(message, now=now)
            return self._violations(before, None, "")
        item = self.protocol.receive(message, now=now)
        frame = item.frame
        samples: list[Sample] = []
        if isinstance(frame, ServerUserMsg):
            samples += self._on_broadcast(frame, len(message), wall)
        elif isinstance(frame, AiChunk | AiDone):
            samples += self._on_ai(frame)
        elif isinstance(frame, System) and frame.event is SystemEvent.ERROR:
            samples += self._on_error(frame)
        kind = str(item.data.get("type", "")) if item.data else ""
        return samples + self._violations(before, frame, kind)

    def _on_broadcast(self, frame: ServerUserMsg, size: int, wall: float) -> list[Sample]:
        if frame.id is not None and self._echoes.pop(frame.id, None) is not None:
            return []  # our own message came back: delivered; the sender is not one of "the other members"
        stamp = Stamp.decode(frame.id)
        if stamp is None or stamp.sender == self.tag:
            return []  # not stamped by a load-test user, or our own one after it was already counted missing
        return [Sample(FANOUT, fanout_ms(stamp, wall), length=size)]

    def _ask_for(self, id: str | None) -> Ask | None:
        if id is not None:
            return self._asks.get(id)
        return next(iter(self._asks.values()), None)  # no echoed id (AI-012 is a SHOULD): the oldest pending

    def _on_ai(self, frame: AiChunk | AiDone) -> list[Sample]:
        ask = self._ask_for(frame.id)
        if ask is None:
            return []  # already counted as a hang, or not ours (the protocol records AI-001/AI-002)
        if isinstance(frame, AiChunk):
            return chunk_samples(ask.exchange, ask.sent_at)
        if not ask.exchange.finished:
            return []  # the protocol tied this ai_done to another exchange
        sample, outcome = terminal_sample(ask.exchange, ask.sent_at, ask.extra_codes)
        self._resolve(ask, outcome)
        return [sample]

    def _on_error(self, frame: System) -> list[Sample]:
        code = str(frame.code)
        if frame.id is not None and self._echoes.pop(frame.id, None) is not None:
            return [Sample(FANOUT, 0.0, ErrorNotice(code))]  # our user_msg was refused (e.g. rate_limited)
        ask = self._ask_for(frame.id)
        if ask is not None:
            if frame.code not in AI_ERROR_CODES:
                ask.extra_codes.append(code)  # the protocol files only AI codes under the exchange
            return []  # the terminal sample waits for the ai_done that must follow (INPUT-008, §7)
        if frame.code in AI_ERROR_CODES:
            return []  # for an exchange already counted as a hang
        return [Sample(FANOUT, 0.0, ErrorNotice(code))]  # answers a frame we cannot tell; never dropped

    def _violations(self, before: int | None, frame: object, kind: str) -> list[Sample]:
        """Each violation the protocol found in this frame, as a failure of the measurement it corrupts."""
        samples: list[Sample] = []
        for _, error in self.protocol.violations:
            requirement = error.requirement_id
            if requirement == "CHAT-005" and isinstance(frame, ServerUserMsg | System) and before is not None:
                missing = (frame.seq or 0) - before - 1
                samples += [Sample(FANOUT, 0.0, MissingDelivery("seq gap: room event lost"))] * max(missing, 1)
                continue
            if requirement.startswith("AI-") or kind in ("ai_chunk", "ai_done"):
                name = AI_TOTAL
            elif requirement == "CONN-003" or kind == "system":
                name = CONNECT
            else:
                name = FANOUT
            samples.append(Sample(name, 0.0, SpecBroken(requirement)))
        self.protocol.violations.clear()
        return samples

    # --- time and endings -------------------------------------------------------------------------------------------

    def sweep(self, now: float) -> list[Sample]:
        """Failures for every wait whose deadline has passed by `now`."""
        samples: list[Sample] = []
        for id, sent_at in list(self._echoes.items()):
            if now - sent_at > self.fanout_deadline_s:
                del self._echoes[id]
                late = MissingDelivery(f"own user_msg not broadcast within {self.fanout_deadline_s:g} s")
                samples.append(Sample(FANOUT, self.fanout_deadline_s * 1000.0, late))
        for ask in list(self._asks.values()):
            if now - ask.sent_at > self.ai_deadline_s:
                sample, outcome = hang_sample(ask.exchange, self.ai_deadline_s, ask.extra_codes)
                self._resolve(ask, outcome)
                samples.append(sample)
        return samples

    def abandon(self, reason: str) -> list[Sample]:
        """Failures for everything still pending when the connection ends (`reason` says how, in a few words)."""
        samples = [Sample(FANOUT, 0.0, MissingDelivery(f"own user_msg not broadcast before {reason}"))] * len(
            self._echoes
        )
        self._echoes.clear()
        for ask in list(self._asks.values()):
            self._resolve(ask, AiOutcome.HANG)
            samples.append(Sample(AI_TOTAL, 0.0, ConnectionLost(f"no ai_done before {reason}")))
        return samples

    def _resolve(self, ask: Ask, outcome: AiOutcome) -> None:
        del self._asks[ask.id]
        ask.outcome = outcome
        if self._on_outcome is not None:
            self._on_outcome(outcome)
        settled = [e for e in self.protocol.exchanges if e.request.id not in self._asks]
        if len(settled) > _FINISHED_KEPT:
            drop = {id(e) for e in settled[:-_FINISHED_KEPT]}
            self.protocol.exchanges = [e for e in self.protocol.exchanges if id(e) not in drop]
        for listener in ask.listeners:
            listener()


def schema_failures(verdict: Verdict) -> list[Sample]:
    """A spot-checked frame that broke its schema, as failures of the measurement its type belongs to."""
    kind = str(verdict.frame.get("type", "")) if verdict.frame else ""
    name = AI_TOTAL if kind in ("ai_chunk", "ai_done") else CONNECT if kind == "system" else FANOUT
    return [Sample(name, 0.0, SpecBroken(violation.requirement_id)) for violation in verdict.violations]
