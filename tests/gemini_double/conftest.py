"""Fixtures: a double on a free port of 127.0.0.1 for each test, its control client, a real SDK client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from google import genai

from roomwire.gemini_double import AsyncDoubleControl, DoubleConfig, RunningDouble, serve_double

from .helpers import close_client, make_client


@pytest.fixture
async def double() -> AsyncIterator[RunningDouble]:
    async with serve_double(DoubleConfig(latency="zero")) as running:
        yield running


@pytest.fixture
async def control(double: RunningDouble) -> AsyncIterator[AsyncDoubleControl]:
    async with AsyncDoubleControl(double.base_url) as client:
        yield client


@pytest.fixture
async def sdk(double: RunningDouble) -> AsyncIterator[genai.Client]:
    client = make_client(double.base_url, timeout=10_000)
    try:
        yield client
    finally:
        await close_client(client)
