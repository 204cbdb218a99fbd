"""Shared exchanges: made once however many checks read them, on a driver of their own whose transcripts become
each reader's evidence; a check must declare what it reads."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from roomwire.conformance.context import CheckContext
from roomwire.conformance.driver import Driver
from roomwire.conformance.registry import Check
from roomwire.conformance.shared import Exchange, shared, start
from roomwire.spec.errors import HarnessError
from tests.conformance.conftest import CtxFactory

made: list[str] = []


async def _join_one(ctx: CheckContext) -> str:
    made.append(ctx.driver.slug)
    client = await ctx.driver.join(ctx.room(), "Shared")
    return client.label


ONE = Exchange("one", _join_one, ai_requests=0, doc="a member joins")


def redeclared(ctx: CheckContext, **changes: Any) -> Check:
    """The context's registered check with `changes` (a context knows its check only as a declaration)."""
    assert isinstance(ctx.check, Check)
    return dataclasses.replace(ctx.check, **changes)


async def test_an_exchange_is_made_once_and_lends_its_transcripts(toy_ctx: CtxFactory) -> None:
    made.clear()
    async with toy_ctx() as ctx:
        reader = CheckContext(ctx.session, redeclared(ctx, shares=(ONE,)), ctx.driver)
        other = CheckContext(
            ctx.session,
            redeclared(ctx, name="other", shares=(ONE,)),
            Driver(ctx.session, "other", "o"),
        )
        assert await shared(reader, ONE) == await shared(other, ONE) == "A"
        assert made == ["x-one"]
        assert [t.label for t in reader.transcripts()] == ["A"] and reader.borrowed == other.borrowed
        task, driver = start(ctx.session, ONE)
        assert task.done() and "-x-one-1" in driver.transcripts[0].url
        await other.driver.aclose()


async def test_reading_an_undeclared_exchange_is_a_harness_bug(toy_ctx: CtxFactory) -> None:
    async with toy_ctx() as ctx:
        with pytest.raises(HarnessError, match="without declaring it"):
            await shared(ctx, ONE)
