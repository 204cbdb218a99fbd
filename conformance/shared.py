"""Work that several checks judge, done once per run: one AI answer read by AI-001, AI-002, AI-003, AI-004 and
AI-012; one upstream fault read by AI-002, UP-002 and UP-008. At ten AI requests a minute (SPEC.md §10's default
budget) every upstream call has to count.

`await shared(ctx, exchange)` starts `exchange.make` the first time any check asks for it, in a task of its own
with a driver of its own (rooms `rw-<run>-x-<name>-<n>`), and gives every check the same result. A check that
judges a shared result names its requirement and nothing else: the exchange only collects frames and never
raises a violation, so a defect fails the requirement whose check reads it and not its neighbours. What the
exchange raises (a Skip because the budget stayed spent, a harness error) reaches every check that reads it.
The exchange's transcripts become the reading check's evidence. While a check waits for a result it gives its
concurrency slot back (the exchange itself runs outside the bound). The session closes the exchanges' drivers
at the end of the run.

Each exchange says what it costs on the target (`ai_requests`); the run's plan and docs/conformance.md count them.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from roomwire.conformance.driver import Driver
from roomwire.spec.errors import HarnessError

if TYPE_CHECKING:
    from roomwire.conformance.context import CheckContext
    from roomwire.conformance.session import Session

T = TypeVar("T")


@dataclass(frozen=True)
class Exchange(Generic[T]):
    """Shared work: a name (its rooms and memo key), what it costs on the target, and how to make it."""

    name: str
    make: Callable[[CheckContext], Coroutine[Any, Any, T]]
    ai_requests: int = 1
    doc: str = ""


def _key(name: str) -> str:
    return f"shared {name}"


async def shared(ctx: CheckContext, exchange: Exchange[T]) -> T:
    """The result of `exchange`, made once per run (see the module docstring)."""
    declared: tuple[object, ...] = ctx.check.shares
    if exchange not in declared and not ctx.check.name.startswith("shared "):
        raise HarnessError(f"{ctx.check.name} reads the shared {exchange.name!r} without declaring it (shares=)")
    task, driver = start(ctx.session, exchange)
    ctx.borrow(driver)
    async with ctx.session.gate.idle():
        return await asyncio.shield(task)


def start(session: Session, exchange: Exchange[T]) -> tuple[asyncio.Task[T], Driver]:
    """Start `exchange` unless it has started. The runner starts those the selected checks read before any check
    (their questions are then the first the AI budget admits, so a run needs the fewest windows)."""
    from roomwire.conformance.context import CheckContext

    entry = session.memo.get(_key(exchange.name))
    if entry is None:
        check = _ExchangeCheck(name=f"shared {exchange.name}")
        driver = Driver(session, check.name, f"x-{exchange.name}")
        own = CheckContext(session, check, driver)
        # a context of its own: the exchange holds no check's concurrency slot and must not release one
        task: asyncio.Task[T] = asyncio.get_running_loop().create_task(
            exchange.make(own), context=contextvars.Context()
        )
        session.memo[_key(exchange.name)] = entry = (task, driver)
        session.closers.append(driver.aclose)
    return cast("tuple[asyncio.Task[T], Driver]", entry)


@dataclass(frozen=True)
class _ExchangeCheck:
    """What an exchange's own context carries for a check (a `CheckDeclaration`): a shared exchange is not a
    check; its context only lends it a driver and the run's knowledge, and it never reaches a verdict."""

    name: str
    requirement_ids: tuple[str, ...] = ("CONN-001",)
    prepare: None = None
    shares: tuple[object, ...] = ()

    @property
    def requirement_id(self) -> str:
        return self.requirement_ids[0]
