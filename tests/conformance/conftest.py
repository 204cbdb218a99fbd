"""Fixtures of the suite's own tests: a session and a check context on the toy server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from roomwire.conformance.context import CheckContext
from roomwire.conformance.driver import Driver
from roomwire.conformance.registry import Check
from roomwire.conformance.session import Session, Timeouts
from roomwire.conformance.target import parse_target
from tests.conformance.toy import Toy, toy_server

CtxFactory = Callable[..., AbstractAsyncContextManager[CheckContext]]


async def _nothing(ctx: CheckContext) -> None:
    """Does nothing."""


@pytest.fixture
def toy_ctx() -> CtxFactory:
    """`async with toy_ctx(Toy(...)) as ctx:` a CheckContext for CHAT-001 on a fresh toy server."""

    @asynccontextmanager
    async def make(toy: Toy | None = None, factor: float = 0.3) -> AsyncIterator[CheckContext]:
        async with toy_server(toy) as url:
            session = Session(target=parse_target([url]), timeouts=Timeouts(factor))
            check = Check("some_check", ("CHAT-001", "CHAT-002"), _nothing)
            driver = Driver(session, check.name, "t")
            try:
                yield CheckContext(session, check, driver)
            finally:
                await driver.aclose()
                await session.aclose()

    return make
