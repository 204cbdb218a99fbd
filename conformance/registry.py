"""Checks as registered functions, each bound to requirement IDs of SPEC.md (Schemathesis' `check` registry).

A check is an `async def` taking a `CheckContext` (roomwire.conformance.context). It raises `SpecViolation`
for its own requirement when the target breaks it, `Skip` when it cannot reach a verdict (with the reason),
and nothing when the requirement held. Registration happens at import time, so the registry refuses at once:

- an ID that SPEC.md does not define (a typo would otherwise make a requirement silently unchecked);
- two checks with the same name (the report and `--only` address checks by name too), unless it is the same
  function registered again because its module was imported again;
- a check that declares no ID.

A check may serve several IDs (`also=`) when one scenario observes several requirements at once (the room
model); its first ID is its own and the others are reported only when it attributes a violation to them.

`NOT_COVERED` lists the requirements no black-box server check can observe, each with the reason the report
shows. A test asserts that every MUST is either checked or listed there, never silently absent.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from roomwire.spec.requirements import Level, Requirement, catalog

if TYPE_CHECKING:
    from roomwire.conformance.context import CheckContext
    from roomwire.conformance.session import Session
    from roomwire.conformance.shared import Exchange

CheckFunc = Callable[["CheckContext"], Awaitable[None]]
PrepareFunc = Callable[["Session"], object]


class Need(StrEnum):
    """What a check needs beyond a chat URL; without it the runner reports SKIP with `NEED_REASONS`."""

    DOUBLE = "double"  # the target is wired to the Gemini double and the suite can reach its control API
    CANARY = "canary"  # a canary key configured in the target (and the double, to prove it is used)
    RESTART = "restart"  # a target the suite itself started, so it can restart it
    BROWSER = "browser"  # --browser PAGE_URL: a chat page the suite loads and uses in chromium
    CANARY_KEY = "canary key"  # a canary key given (proven through the double when there is one)
    TARGET_LOG = "target log"  # the target's log: --target-log PATH, or the bundled target's, captured by the suite


NEED_REASONS: dict[Need, str] = {
    Need.DOUBLE: "needs upstream control: wire the target to the Gemini double and pass --double URL",
    Need.CANARY: "needs a canary key: configure a fake key in the target and pass --canary-key KEY (and --double)",
    Need.RESTART: "needs a target the suite can restart (the bundled reference); a URL target cannot be restarted",
    Need.BROWSER: "needs --browser PAGE_URL (the chat page, loaded and used in chromium; pytest: --chat-browser-url)",
    Need.CANARY_KEY: "needs a canary key: configure a fake key in the target and pass --canary-key KEY",
    Need.TARGET_LOG: (
        "the log side was not judged: pass --target-log PATH, the file the target writes its log to "
        "(pytest: --chat-target-log)"
    ),
}

#: Requirements no check observes, with the reason shown as their SKIP detail. The other CLIENT-* requirements
#: are checked by `--browser` (conformance/checks/page.py) on a page with the reference page's element ids.
NOT_COVERED: dict[str, str] = {
    "FRAME-003": (
        "a client requirement: ignoring unknown frame types and fields needs a server that sends them, and "
        "--browser uses the page against the target as it is; the reference page's own browser tests check it"
    ),
    "CLIENT-003": (
        "a client requirement: reconnecting after 1006/1011/1012/1013 (and not after 1003/1008/1009) with "
        "backoff and full jitter needs closes of the suite's choosing and many reconnects, which --browser "
        "cannot make a real target produce; the reference page's own browser tests check it"
    ),
    "CLIENT-006": (
        "a client requirement: judging which messages the page marks as the user's own needs a member that copies "
        "the page's message id, which --browser's scan does not do yet; the reference page's own browser tests "
        "check it (tests/browser/test_with_reference.py, tests/browser/test_page.py)"
    ),
    "RECON-005": (
        "the server's memory is not observable from outside, and a room's expiry takes minutes of the default "
        "empty_room_ttl_s; the reference's own tests drive the memory sink and measure the bound "
        "(tests/reference/test_memory.py)"
    ),
    "SEC-008": (
        "the form of a server's log (one escaped line per record, repeats limited) is not observable from outside "
        "without its format and floods of the server's own error paths; --target-log is searched for the key and "
        "upstream text only (SEC-003, UP-008); the reference's own tests run it against a hostile upstream and "
        "read every line it writes (tests/reference/test_logs.py)"
    ),
}


class RegistryError(ValueError):
    """A check was registered wrongly (unknown ID, duplicate name): a bug in the suite, caught at import."""


@dataclass(frozen=True)
class Check:
    """One registered check.

    Attributes:
        name: the function's name, which says what must hold.
        requirement_ids: its own ID first, then IDs it may also attribute violations to.
        func: the coroutine function.
        needs: capabilities without which it is skipped.
        exclusive: runs after all others, alone (it disturbs the target: drains a budget, restarts it).
        order: among exclusive checks, lower runs first (a check that spends the AI budget must come after
            those that still need answers, a restart after everything).
        slow: may take many seconds (waits for a timeout): scheduled first so the run ends sooner.
        prepare: synchronous, CPU-bound work the check needs (Hypothesis generation), given the session once
            the preflight has learned the limits. The runner calls it before any check starts, so it never
            blocks the event loop while other checks wait on the target; the check reads `ctx.prepared`.
        doc: the first line of its docstring.
        ai: AI requests the check itself makes that the target accepts (roomwire.conformance.budget paces them).
        shares: shared exchanges it judges (roomwire.conformance.shared): each costs the run once, whoever reads it.
    """

    name: str
    requirement_ids: tuple[str, ...]
    func: CheckFunc
    needs: frozenset[Need] = frozenset()
    exclusive: bool = False
    slow: bool = False
    doc: str = ""
    order: int = 0
    prepare: PrepareFunc | None = None
    ai: int = 0
    shares: tuple[Exchange[Any], ...] = ()

    @property
    def requirement_id(self) -> str:
        return self.requirement_ids[0]


@dataclass
class Registry:
    """Checks by name, in registration order."""

    checks: dict[str, Check] = field(default_factory=dict)
    known: dict[str, Requirement] = field(default_factory=catalog)

    def requirement(
        self,
        requirement_id: str,
        *,
        also: Iterable[str] = (),
        needs: Iterable[Need] = (),
        exclusive: bool = False,
        slow: bool = False,
        order: int = 0,
        prepare: PrepareFunc | None = None,
        ai: int = 0,
        shares: Iterable[Exchange[Any]] = (),
    ) -> Callable[[CheckFunc], CheckFunc]:
        """Decorator registering an `async def check(ctx)` for `requirement_id` (see the module docstring)."""
        ids = (requirement_id, *also)

        def register(func: CheckFunc) -> CheckFunc:
            self.add(
                Check(
                    name=func.__name__,
                    requirement_ids=ids,
                    func=func,
                    needs=frozenset(needs),
                    exclusive=exclusive,
                    slow=slow,
                    order=order,
                    prepare=prepare,
                    ai=ai,
                    shares=tuple(shares),
                    doc=(func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else "",
                )
            )
            return func

        return register

    def add(self, check: Check) -> None:
        unknown = [rid for rid in check.requirement_ids if rid not in self.known]
        if unknown:
            raise RegistryError(f"check {check.name!r} names requirement(s) SPEC.md does not define: {unknown}")
        if len(set(check.requirement_ids)) != len(check.requirement_ids):
            raise RegistryError(f"check {check.name!r} lists a requirement twice")
        known = self.checks.get(check.name)
        if known is not None and _origin(known.func) != _origin(check.func):
            raise RegistryError(f"a check named {check.name!r} is already registered")
        if check.requirement_id in NOT_COVERED:
            raise RegistryError(f"{check.requirement_id} is listed as not covered; remove it from NOT_COVERED")
        self.checks[check.name] = check

    def for_requirement(self, requirement_id: str) -> list[Check]:
        """Checks whose own ID is `requirement_id`."""
        return [c for c in self.checks.values() if c.requirement_id == requirement_id]

    def uncovered(self, level: Level | None = None) -> list[str]:
        """Requirement IDs with no check and no NOT_COVERED entry (a test keeps this empty for MUSTs)."""
        own = {c.requirement_id for c in self.checks.values()}
        return [
            rid
            for rid, req in self.known.items()
            if rid not in own and rid not in NOT_COVERED and (level is None or req.level is level)
        ]


def _origin(func: CheckFunc) -> tuple[str, str]:
    """Where a function is defined: a module imported again (pytester, reloads) registers the same checks."""
    return getattr(func, "__module__", ""), getattr(func, "__qualname__", "")


def matches(patterns: Iterable[str], requirement: Requirement, check_name: str | None = None) -> bool:
    """Whether `--only` patterns (ID globs like 'CHAT-*', areas like 'PRES', or check names) select this."""
    for pattern in patterns:
        upper = pattern.upper()
        if fnmatchcase(requirement.id, upper) or requirement.area == upper:
            return True
        if check_name is not None and fnmatchcase(check_name, pattern):
            return True
    return False


_PATTERN = re.compile(r"^[A-Za-z0-9_*?\[\]-]+$")


def parse_only(text: str) -> list[str]:
    """Split `--only` ('CHAT-*,PRES-002 SEC-004') into patterns; raises ValueError on an empty or odd one."""
    patterns = [part for part in re.split(r"[,\s]+", text.strip()) if part]
    if not patterns:
        raise ValueError("--only needs at least one requirement ID, area or glob")
    for pattern in patterns:
        if not _PATTERN.match(pattern):
            raise ValueError(f"--only: {pattern!r} is not an ID, an area or a glob")
    return patterns


#: The suite's registry; `roomwire.conformance.checks` fills it on import.
REGISTRY = Registry()
requirement = REGISTRY.requirement
