"""What one run knows and shares across its checks: target, clock, timeouts, upstream control, proxies.

Also what the run *learned* about the target, so that one defect is paid for once: if the first connection
got no welcome, later connections wait for it only briefly before using the fallback join detection
(`Driver.join`); the limits a welcome advertised are what every check sizes its frames and waits by.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from roomwire.conformance.budget import AiBudget, Gate
from roomwire.conformance.profiles import ROOMWIRE_1, Profile
from roomwire.conformance.profiles import profile as profile_named
from roomwire.conformance.proxy import FaultProxy
from roomwire.conformance.stalls import LoopStalls
from roomwire.conformance.target import Endpoint, Target
from roomwire.conformance.target_log import TargetLog
from roomwire.conformance.transcript import Clock, LeakWatch, Transcript
from roomwire.conformance.upstream import Upstream
from roomwire.spec.limits import DEFAULT_LIMITS, Limits

#: SO_RCVBUF of the proxy's sockets for connections that play a client that stopped reading (FLOW-001).
SLOW_READER_BUFFER = 4096


@dataclass(frozen=True)
class Timeouts:
    """Every wait of the suite, in seconds, scaled by `--timeout-factor` (slow CI, a far-away staging server)."""

    factor: float = 1.0

    def __call__(self, seconds: float) -> float:
        return seconds * self.factor

    @property
    def connect(self) -> float:
        return self(5.0)

    @property
    def welcome(self) -> float:
        return self(3.0)

    @property
    def frame(self) -> float:
        """A frame the target should send at once (a broadcast, an error notice)."""
        return self(3.0)

    @property
    def settle(self) -> float:
        """How long "nothing arrived" is watched for before it counts as nothing."""
        return self(0.75)

    @property
    def close(self) -> float:
        return self(2.0)

    @property
    def send(self) -> float:
        return self(10.0)

    @property
    def ai(self) -> float:
        """A whole normal AI answer (real Gemini takes seconds for 300 tokens)."""
        return self(20.0)

    @property
    def first_chunk(self) -> float:
        """An answer's first ai_chunk, while upstream holds the rest back (AI-003): the time a correct server may
        take, however loaded, to forward one chunk it has (and so all a buffering target costs the run)."""
        return self(10.0)


def new_run_id() -> str:
    return secrets.token_hex(3)


@dataclass(frozen=True)
class BrowserSetup:
    """`--browser`: the chat page the browser checks load and use in chromium (roomwire.conformance.browser)."""

    page_url: str


@dataclass
class Session:
    """Run-wide state; see the module docstring."""

    target: Target
    timeouts: Timeouts = field(default_factory=Timeouts)
    clock: Clock = field(default_factory=Clock)
    run_id: str = field(default_factory=new_run_id)
    watch: LeakWatch = field(default_factory=LeakWatch)
    upstream: Upstream | None = None
    canary: str | None = None
    canary_configured: bool = False  # the suite configured the canary in the target itself (the bundled target)
    restart: Callable[[], Awaitable[None]] | None = None
    browser: BrowserSetup | None = None
    browser_absent: str | None = None  # why a run that would use the browser by default has none (how to get it)
    allowed_origins: tuple[str, ...] = ()  # --allowed-origin: the deployment's own list instead of SEC-004's default
    limits: Limits = DEFAULT_LIMITS
    limits_advertised: bool = False
    welcome_seen: bool | None = None
    transcripts: list[Transcript] = field(default_factory=list)
    memo: dict[str, object] = field(default_factory=dict)  # results checks share (the canary proof)
    memo_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    stalls: LoopStalls = field(default_factory=LoopStalls)  # the suite's own loop stalls (never the target's time)
    gate: Gate = field(default_factory=lambda: Gate(8))  # checks running at once (the runner sets its bound)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # shared exchanges' drivers
    spent: AiBudget | None = None  # an earlier run's spending on the same target (--repeat): still counted there
    assumed_ai_budget: int | None = None  # --ai-budget-rpm: the budget to pace by when the welcome states none
    #: --target-log, or the bundled target's own log (roomwire.conformance.target_log): SEC-003's, UP-008's log side
    target_logs: tuple[TargetLog, ...] = ()
    #: the protocol the target is judged on (`--profile`): how checks read its frames, what is not part of it
    profile: Profile = field(default_factory=lambda: profile_named(ROOMWIRE_1))
    _ai: AiBudget | None = None
    _proxies: dict[tuple[str, int, bool], FaultProxy] = field(default_factory=dict)
    _proxy_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        if self.canary:
            self.watch.watch("canary key", self.canary)

    async def proxy_for(self, endpoint: Endpoint, *, slow_reader: bool = False) -> FaultProxy:
        """The fault proxy in front of `endpoint` (one per endpoint and buffer size, started on first use)."""
        key = (endpoint.host, endpoint.port, slow_reader)
        async with self._proxy_lock:  # two checks asking at once must get the same proxy
            proxy = self._proxies.get(key)
            if proxy is None:
                buffer = SLOW_READER_BUFFER if slow_reader else None
                proxy = FaultProxy(endpoint.host, endpoint.port, receive_buffer=buffer)
                await proxy.start()
                self._proxies[key] = proxy
        return proxy

    @property
    def ai(self) -> AiBudget:
        """The target's AI budget as the suite spends it (roomwire.conformance.budget), sized by the limits the
        preflight learned (SPEC.md's default when none were advertised)."""
        if self._ai is None:
            rpm = self.limits.ai_budget_rpm
            if not self.limits_advertised and self.assumed_ai_budget is not None:
                rpm = self.assumed_ai_budget
            self._ai = AiBudget(rpm, gate=self.gate)
            if self.spent is not None:
                self._ai.inherit(self.spent)
        return self._ai

    def welcome_wait(self) -> float:
        """Full wait until the target is known to send no welcome; then a short one (CONN-003 reports it). None
        under a profile without a welcome (the seed's)."""
        if not self.profile.welcome:
            return 0.0
        return self.timeouts.welcome if self.welcome_seen is not False else self.timeouts(0.5)

    async def aclose(self) -> None:
        await self.stalls.stop()
        for proxy in self._proxies.values():
            await proxy.aclose()
        self._proxies.clear()
        tasks = [v for v in self.memo.values() if isinstance(v, asyncio.Task)]
        tasks += [v[0] for v in self.memo.values() if isinstance(v, tuple) and v and isinstance(v[0], asyncio.Task)]
        pending = [task for task in tasks if not task.done()]
        for task in pending:  # shared work a check started and no check waited for to the end (the browser scan)
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for close in self.closers:
            await close()
        self.closers.clear()
