"""`roomwire serve` as a real process: start-up errors, the printed URL, the graceful stop on SIGTERM (RECON-002)."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from roomwire.gemini_double import AsyncDoubleControl
from tests.reference.helpers import Client, double_server
from tests.support.timing import UNIT

CANARY = "AIzaCANARY-roomwire-FAKE-test-key-00003"  # FAKE test key, a canary
#: Variables that could point the server or the SDK elsewhere; the child never inherits them.
SCRUBBED = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI",
            "GOOGLE_GENAI_USE_ENTERPRISE", "GOOGLE_GENAI_API_VERSION")  # fmt: skip


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED and not k.startswith(("ROOMWIRE_", "AI_CHAT_"))}
    return {**env, **extra}


def run_serve(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "roomwire", "serve", "--port", "0", *args]
    return subprocess.run(command, cwd=cwd, env=child_env(**env), capture_output=True, text=True, timeout=60)


def test_real_gemini_without_a_key_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_serve("--gemini", "real", cwd=tmp_path)
    assert result.returncode == 2  # SEC-001
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "GEMINI_API_KEY" in lines[0] and "Traceback" not in result.stderr, result.stderr


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_redis_broker_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_serve("--broker", f"redis://127.0.0.1:{closed_port()}/0", cwd=tmp_path)
    assert result.returncode == 2 and "cannot reach Redis" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_bad_setting_names_its_variable(tmp_path: Path) -> None:
    result = run_serve(cwd=tmp_path, ROOMWIRE_PING_INTERVAL_S="90")
    assert result.returncode == 2 and "ROOMWIRE_PING_INTERVAL_S" in result.stderr and "Traceback" not in result.stderr


@asynccontextmanager
async def serve_process(*args: str, cwd: Path, **env: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """`roomwire serve --port 0 ARGS`; yields the process and the URL it printed; kills it if still running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "roomwire", "serve", "--port", "0", *args,
        cwd=cwd, env=child_env(**env), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        assert line.startswith("roomwire serve: ws://127.0.0.1:"), line
        yield process, line.split(": ", 1)[1].strip()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_sigterm_ends_answers_says_server_restart_closes_1012_and_exits_0(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"GEMINI_API_KEY={CANARY}\nAI_CHAT_MAX_TOKENS=300\n")  # as the seed's backend/.env
    async with (
        double_server(latency="fast", chunk_interval_ms=100) as double,
        AsyncDoubleControl(double.base_url) as control,
    ):
        await control.queue_fault("stall", match="never ends")
        await control.queue_fault("key_echo", match="echo")
        args = ("--gemini", "real", "--gemini-base-url", double.base_url)
        async with serve_process(*args, cwd=tmp_path, ROOMWIRE_SHUTDOWN_GRACE_S="1.5") as (process, url):
            room = url.replace("{room_id}", "r")
            async with Client.connect(room) as stuck, Client.connect(room) as finishing, Client.connect(room) as idle:
                for client in (stuck, finishing, idle):
                    await client.welcome()
                await idle.ask("echo the key", id="e")
                await idle.answer("e")
                await stuck.ask("never ends", id="s")
                await finishing.ask("a normal answer", id="f")
                await finishing.expect(lambda f: f["type"] == "ai_chunk")
                process.send_signal(signal.SIGTERM)
                done = await stuck.answer("s", within=UNIT * 2)
                assert done["status"] == "error"  # AI-002: the stalled answer ends at the grace period
                assert (await finishing.answer("f", within=UNIT * 2))["status"] == "ok"  # finished within it
                for client in (stuck, finishing, idle):
                    notice = await client.event("notice", within=UNIT * 2)
                    assert notice["code"] == "server_restart"
                    assert (await client.closed(within=UNIT * 2))[0] == 1012  # RECON-002
                    client.check()
            assert await asyncio.wait_for(process.wait(), UNIT * 3) == 0
            with pytest.raises((OSError, InvalidStatus)):
                async with Client.connect(room):
                    pass
            assert process.stderr is not None
            stderr = (await process.stderr.read()).decode()
    assert CANARY not in stderr and "Traceback" not in stderr, stderr
    assert "upstream HTTP 403" in stderr  # the redacted summary


async def test_sigint_stops_an_idle_server_too(tmp_path: Path) -> None:
    async with serve_process(cwd=tmp_path) as (process, url):
        async with Client.connect(url.replace("{room_id}", "r")) as client:
            await client.welcome()
            process.send_signal(signal.SIGINT)
            assert (await client.event("notice"))["code"] == "server_restart"
            assert (await client.closed())[0] == 1012
        assert await asyncio.wait_for(process.wait(), UNIT * 3) == 0


def test_serve_keeps_start_up_out_of_full_collections() -> None:
    """`roomwire serve` freezes start-up objects and collects fully every 100 young collections (not 10)."""
    from roomwire.reference.cli import FULL_COLLECTION_EVERY, keep_startup_out_of_collections

    before = gc.get_threshold()
    try:
        keep_startup_out_of_collections()
        assert gc.get_freeze_count() > 10_000 and gc.get_threshold() == (*before[:2], FULL_COLLECTION_EVERY)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_a_busy_port_is_a_one_line_error_and_exit_code_2(tmp_path: Path) -> None:
    """Issue 13: a 29-line traceback and exit code 1 before."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        command = [sys.executable, "-m", "roomwire", "serve", "--port", str(port)]
        result = subprocess.run(command, cwd=tmp_path, env=child_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"roomwire: error: cannot listen on 127.0.0.1:{port}: Address already in use (--host/--port)"
    ]
