"""What a check works with: its driver, the run's knowledge, and helpers that turn misses into evidence.

Every helper that concludes "the target broke it" raises `SpecViolation` for the check's own requirement
unless told another ID the check declared (`also=`), with the expectation and what actually arrived, so the
report can always print Expected / Actual next to the transcripts.

A context knows its check only as a `CheckDeclaration` (what the check declared when it registered), so this
module needs nothing of the registry, and the registry can name `CheckContext` as the type every check takes:
no import circle (tests/test_import_graph.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from roomwire.conformance.client import Client
from roomwire.conformance.driver import Driver
from roomwire.conformance.frames import Predicate, summarize
from roomwire.conformance.outcomes import NotSent, Skip
from roomwire.conformance.profiles import Profile
from roomwire.conformance.session import Session, Timeouts
from roomwire.conformance.transcript import Transcript
from roomwire.conformance.upstream import Upstream
from roomwire.spec.errors import HarnessError, SpecViolation
from roomwire.spec.limits import Limits
from roomwire.spec.protocol import Received


class CheckDeclaration(Protocol):
    """What a context reads of its check: `roomwire.conformance.registry.Check` is one; a shared exchange's own
    context carries another (roomwire.conformance.shared)."""

    @property
    def name(self) -> str: ...

    @property
    def requirement_ids(self) -> tuple[str, ...]: ...

    @property
    def requirement_id(self) -> str: ...

    @property
    def prepare(self) -> Callable[[Session], object] | None: ...

    @property
    def shares(self) -> tuple[object, ...]: ...


def prepared_key(check_name: str) -> str:
    return f"prepared {check_name}"


def prepare_check(check: CheckDeclaration, session: Session) -> None:
    """Run `check.prepare` (synchronous: it blocks the loop) and keep its result, or its error, in the memo."""
    assert check.prepare is not None
    try:
        session.memo[prepared_key(check.name)] = check.prepare(session)
    except Exception as exc:  # the check reports it as its own harness error, the run goes on
        session.memo[prepared_key(check.name)] = exc


class CheckContext:
    """Passed to every check; see the module docstring."""

    def __init__(self, session: Session, check: CheckDeclaration, driver: Driver) -> None:
        self.session = session
        self.check = check
        self.driver = driver
        self.notes: list[str] = []
        self.attachments: dict[str, object] = {}
        self.borrowed: list[Driver] = []  # drivers of shared exchanges this check judged (their transcripts)
        self.unjudged: dict[str, str] = {}  # requirement ID -> why this check reached no verdict on it

    # --- the run's knowledge ----------------------------------------------------------------------------------------

    @property
    def requirement_id(self) -> str:
        return self.check.requirement_id

    @property
    def profile(self) -> Profile:
        """The protocol the target is judged on (roomwire.conformance.profiles): how to read its frames."""
        return self.session.profile

    @property
    def timeouts(self) -> Timeouts:
        return self.session.timeouts

    @property
    def limits(self) -> Limits:
        """The limits the target advertised in its welcome, else SPEC.md §10's defaults."""
        return self.session.limits

    @property
    def upstream(self) -> Upstream:
        if self.session.upstream is None:
            raise HarnessError(f"{self.check.name} needs the double but was run without one")
        return self.session.upstream

    @property
    def prepared(self) -> object:
        """What the check's `prepare` returned (roomwire.conformance.registry); prepared now if the runner did not."""
        key = prepared_key(self.check.name)
        if key not in self.session.memo:
            if self.check.prepare is None:
                raise HarnessError(f"{self.check.name} reads ctx.prepared but registered no prepare")
            prepare_check(self.check, self.session)
        value = self.session.memo[key]
        if isinstance(value, Exception):
            raise HarnessError(f"preparing {self.check.name} failed: {type(value).__name__}: {value}") from value
        return value

    def room(self, n: int = 1) -> str:
        return self.driver.room(n)

    def token(self, tag: str = "t") -> str:
        return self.driver.token(tag)

    def borrow(self, driver: Driver) -> None:
        """Judge frames of a shared exchange: its connections' transcripts become this check's evidence."""
        if driver is not self.driver and driver not in self.borrowed:
            self.borrowed.append(driver)

    def transcripts(self) -> list[Transcript]:
        """Every connection this check judged: its own, then those of the shared exchanges it read."""
        return [t for d in (self.driver, *self.borrowed) for t in d.transcripts]

    def note(self, text: str) -> None:
        """A line for the report's detail column when the check passes (what exactly was verified)."""
        self.notes.append(text)

    def attach(self, name: str, data: object) -> None:
        """Structured evidence for the JSON report (`evidence.<name>`) if the check fails or errors."""
        self.attachments[name] = data

    # --- verdict helpers --------------------------------------------------------------------------------------------

    def violation(self, expected: str, actual: str, requirement_id: str | None = None) -> SpecViolation:
        rid = requirement_id or self.requirement_id
        if rid not in self.check.requirement_ids:
            raise HarnessError(f"{self.check.name} attributed a violation to {rid}, which it does not declare")
        return SpecViolation(rid, expected, actual)

    @staticmethod
    def skip(reason: str) -> Skip:
        return Skip(reason)

    def not_judged(self, requirement_id: str, reason: str) -> None:
        """This check reached no verdict on `requirement_id` (one it declared): SKIP with `reason`, not PASS,
        unless the same run of the check found a violation of it."""
        if requirement_id not in self.check.requirement_ids:
            raise HarnessError(f"{self.check.name} left {requirement_id} unjudged, which it does not declare")
        self.unjudged[requirement_id] = reason

    @staticmethod
    def sent(client: Client, sent: bool, what: str) -> None:
        """`sent` is what a send returned; False (the target had closed the connection) raises NotSent."""
        if not sent:
            raise NotSent(client.label, what, client.how_closed())

    async def expect(
        self,
        client: Client,
        predicate: Predicate,
        expected: str,
        *,
        within: float | None = None,
        since: int = 0,
        requirement_id: str | None = None,
    ) -> Received:
        """The first matching frame from `since` on, or a violation naming what came instead."""
        wait = self.timeouts.frame if within is None else within
        item = await client.wait_for(predicate, wait, since)
        if item is None:
            raise self.violation(
                f"{client.label} receives {expected} (within {wait:.1f} s)", client.describe(since), requirement_id
            )
        return item

    async def expect_none(
        self,
        clients: Sequence[Client],
        predicate: Predicate,
        forbidden: str,
        *,
        window: float | None = None,
        since: Sequence[int] | None = None,
        requirement_id: str | None = None,
    ) -> None:
        """Watch `clients` for `window` seconds; a matching frame at any of them is a violation."""
        await asyncio.sleep(self.timeouts.settle if window is None else window)
        for index, client in enumerate(clients):
            start = since[index] if since is not None else 0
            found = client.find(predicate, start)
            if found:
                raise self.violation(
                    f"{client.label} never receives {forbidden}",
                    f"{client.label} received {summarize(found)}",
                    requirement_id,
                )

    def protocol_violations(self, clients: Sequence[Client], requirement_id: str | None = None) -> None:
        """Raise the first invariant `ClientProtocol` recorded for this requirement on any of `clients`."""
        rid = requirement_id or self.requirement_id
        for client in clients:
            for error in client.protocol.violations_of(rid):
                raise self.violation(f"no frame breaks {rid}", f"{client.label}: {error.detail}", rid)

    async def stays_open(self, client: Client, requirement_id: str | None = None) -> None:
        """The connection is still open: not closed by the target, and it answers a WebSocket ping.

        Deliberately not a chat round trip: that would make a broken broadcast (CHAT-001) fail every input
        check too.
        """
        if client.closed.is_set() or not await client.ws_ping(self.timeouts.frame):
            how = f"closed with {client.close_code} {client.close_reason!r}" if client.closed.is_set() else "no pong"
            raise self.violation(f"{client.label}'s connection stays open", f"the connection was {how}", requirement_id)

    async def expect_close(self, client: Client, codes: Sequence[int], what: str, within: float | None = None) -> None:
        """The target closes `client` with one of `codes` (a close frame, not just a dropped TCP connection)."""
        wait = self.timeouts.frame if within is None else within
        if not await client.wait_closed(wait):
            raise self.violation(
                f"{what}: the target closes the connection with {'/'.join(map(str, codes))}",
                f"still open after {wait:.1f} s; {client.describe()}",
            )
        if not client.close_received or client.close_code not in codes:
            got = f"close frame {client.close_code}" if client.close_received else "no close frame (TCP ended)"
            raise self.violation(f"{what}: close code {'/'.join(map(str, codes))}", f"{got}; {client.describe()}")
