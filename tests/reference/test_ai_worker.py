"""The AI worker: google-genai off the socket loop, in a process or a thread, against the Gemini double.

Lifecycle (started with the app, stopped with it, never outliving a killed server), cancellation reaching
upstream (AI-011), a crash ending the answers in flight as upstream errors and the next question getting a new
worker, and the key never on the worker's command line.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psutil
import pytest

from roomwire.gemini_double import FAKE_API_KEY, AsyncDoubleControl, RunningDouble
from roomwire.reference.ai import AiEnd, AiItem, AiRequest
from roomwire.reference.ai_worker import AiWorkerLost, WorkerAiClient, WorkerHost
from roomwire.reference.settings import Settings
from roomwire.reference.upstream_errors import classify
from roomwire.spec.codes import ErrorCode
from roomwire.spec.errors import ConfigError
from tests.reference.helpers import Client, double_server, serving
from tests.support.timing import UNIT

CANARY = "FAKE-canary-test-key-never-anywhere-0001"


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def wait_gone(pids: list[int], within: float) -> list[int]:
    """The pids still running after `within` seconds (empty: all ended)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if all(gone(pid) for pid in pids):
            return []
        await asyncio.sleep(0.05)
    return [pid for pid in pids if not gone(pid)]


async def started_children(pid: int, count: int, within: float) -> list[psutil.Process]:
    deadline = time.monotonic() + within
    while True:
        found = psutil.Process(pid).children(recursive=True)
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count
            return found
        await asyncio.sleep(0.05)


@asynccontextmanager
async def worker(
    double: RunningDouble, host: WorkerHost = "process", key: str = FAKE_API_KEY
) -> AsyncIterator[WorkerAiClient]:
    options: dict[str, Any] = {"api_key": key, "model": "gemini-2.5-flash", "system_prompt": "짧게",
                               "max_tokens": 100, "base_url": double.base_url}  # fmt: skip
    client = WorkerAiClient(options, host=host)
    try:
        await client.start()
        yield client
    finally:
        await client.aclose()


async def collect(client: WorkerAiClient, question: str) -> list[AiItem]:
    return [item async for item in client.stream(AiRequest(question=question))]


@pytest.mark.parametrize("host", ["process", "thread"])
async def test_each_host_streams_the_sdk_answer_then_its_end(host: WorkerHost) -> None:
    async with (
        double_server() as double,
        worker(double, host) as client,
        AsyncDoubleControl(double.base_url) as control,
    ):
        items, again = await asyncio.gather(collect(client, "marker-a"), collect(client, "marker-b"))
        (entry,) = await control.journal(match="marker-a")
        assert (client.pid is None) == (host == "thread")
    *texts, end = items
    assert texts and all(isinstance(t, str) and t for t in texts)
    assert "".join(str(t) for t in texts) == entry["sent_text"]
    assert isinstance(end, AiEnd) and end.finish_reason == "STOP"
    assert end.usage is not None and end.usage.prompt_tokens > 0
    assert isinstance(again[-1], AiEnd)


async def test_closing_an_answer_cancels_its_upstream_request() -> None:
    async with double_server(latency="fast", chunk_interval_ms=200) as double, worker(double) as client:
        async with AsyncDoubleControl(double.base_url) as control:
            stream = client.stream(AiRequest(question="cancel-me"))
            assert isinstance(await asyncio.wait_for(anext(stream), UNIT), str)
            await stream.aclose()
            entries = await control.wait_for(lambda e: bool(e) and e[0]["finished_ms"] is not None, match="cancel-me")
    assert entries[0]["disconnected"] is True  # AI-011


async def test_a_dead_worker_fails_the_answers_in_flight_and_the_next_question_starts_another() -> None:
    async with double_server(latency="fast", chunk_interval_ms=300) as double, worker(double) as client:
        first = client.pid
        assert first is not None
        stream = client.stream(AiRequest(question="long answer"))
        assert isinstance(await asyncio.wait_for(anext(stream), UNIT), str)
        os.kill(first, signal.SIGKILL)
        with pytest.raises(AiWorkerLost) as lost:
            await asyncio.wait_for(anext(stream), UNIT)
        failure = classify(lost.value)
        assert (failure.code, failure.outcome) == (ErrorCode.UPSTREAM_ERROR, "transport")
        items = await asyncio.wait_for(collect(client, "after the crash"), 10 * UNIT)
        assert isinstance(items[-1], AiEnd) and items[-1].finish_reason == "STOP"
        assert client.pid not in (None, first)
        assert await wait_gone([first], 5 * UNIT) == []


async def test_the_app_starts_the_worker_and_stops_it_on_shutdown() -> None:
    async with double_server() as double:
        async with serving(double, ai_worker="process") as server:
            assert isinstance(server.hub.ai, WorkerAiClient)
            pid = server.hub.ai.pid
            assert pid is not None and not gone(pid)  # started with the app, before any question
        assert await wait_gone([pid], 5 * UNIT) == []


async def test_through_the_server_a_crash_mid_answer_is_an_upstream_error_and_the_next_answer_works() -> None:
    async with double_server(latency="fast", chunk_interval_ms=300) as double:
        async with serving(double, ai_worker="process") as server, Client.connect(server.ws("r")) as asker:
            assert isinstance(server.hub.ai, WorkerAiClient)
            await asker.joined()
            await asker.ask("long answer", id="q1")
            await asker.expect(lambda f: f["type"] == "ai_chunk")
            pid = server.hub.ai.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            error = await asker.expect(lambda f: f.get("event") == "error")
            assert error["code"] == ErrorCode.UPSTREAM_ERROR.value and error.get("id") == "q1"  # UP-002
            assert await asker.answer("q1") == {"type": "ai_done", "status": "error", "id": "q1"}
            await asker.ask("and again", id="q2")
            assert (await asker.answer("q2", within=10 * UNIT))["status"] == "ok"
            asker.check()


async def test_a_killed_server_leaves_no_worker_and_the_key_is_never_on_a_command_line() -> None:
    async with double_server() as double:
        env = {**os.environ, "GEMINI_API_KEY": CANARY, "PYTHONUNBUFFERED": "1"}
        argv = [sys.executable, "-m", "roomwire", "serve", "--port", "0", "--gemini", "real",
                "--gemini-base-url", double.base_url, "--ai-worker", "process", "--log-level", "WARNING"]  # fmt: skip
        server = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
        try:
            assert server.stdout is not None
            line = await asyncio.wait_for(server.stdout.readline(), 30 * UNIT)
            assert line.startswith(b"roomwire serve:"), line
            descendants = await started_children(server.pid, 2, 30 * UNIT)  # the fork server and the worker
            for process in descendants:
                assert CANARY not in " ".join(process.cmdline())  # (its environment is the server's own)
            server.kill()  # no shutdown at all: the worker notices its server's end of the pair close
            await asyncio.wait_for(server.wait(), 10 * UNIT)
            assert await wait_gone([p.pid for p in descendants], 10 * UNIT) == []
        finally:
            if server.returncode is None:
                server.kill()
                await server.wait()


def test_the_host_is_a_setting_and_a_wrong_one_is_refused() -> None:
    assert Settings().ai_worker == "inline"
    assert Settings.from_env({"ROOMWIRE_AI_WORKER": "inline"}, dotenv=None).ai_worker == "inline"
    with pytest.raises(ConfigError, match="ROOMWIRE_AI_WORKER"):
        Settings(ai_worker="fork")  # type: ignore[arg-type]
