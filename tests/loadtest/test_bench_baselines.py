"""The benchmarks' baselines work: the websockets "ceiling" server fans out, and the Gemini double's req/s
benchmark runs both of its servers with either client and reports a well-formed result.

No performance is asserted (CONTRIBUTING): these prove the tools a ratio in docs/benchmarks.md comes from still run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import subprocess
import sys

import psutil
import pytest
from websockets.asyncio.client import connect

from roomwire.loadtest.bench import ceiling


async def test_the_ceiling_server_broadcasts_a_user_msg_to_its_room_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = asyncio.create_task(ceiling.serve_forever("127.0.0.1", 0))
    try:
        for _ in range(200):
            out = capsys.readouterr().out
            if ceiling.LISTENING_PREFIX in out:
                break
            await asyncio.sleep(0.025)
        assert ceiling.LISTENING_PREFIX in out, "the ceiling server did not say where it listens"
        address = out.split(ceiling.LISTENING_PREFIX, 1)[1].strip()
        base = f"ws://{address}/api/v1/ws/chat"
        async with connect(f"{base}/a") as ann, connect(f"{base}/a") as bob, connect(f"{base}/b") as other:
            await ann.send(json.dumps({"type": "user_msg", "nickname": "ann", "content": "안녕"}))
            await ann.send(json.dumps({"type": "ping"}))  # not chat: ignored
            for member in (ann, bob):
                got = json.loads(await asyncio.wait_for(member.recv(), 5))
                assert got == {"type": "user_msg", "nickname": "ann", "content": "안녕"}
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(other.recv(), 0.3)
        for _ in range(400):  # everyone leaves their room once the server has seen the close
            if not any(ceiling.ROOMS.values()):
                break
            await asyncio.sleep(0.025)
        assert not any(ceiling.ROOMS.values()), {room: len(members) for room, members in ceiling.ROOMS.items()}
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server


@pytest.mark.slow
@pytest.mark.parametrize("client", ["httpx", "sdk"])
def test_the_double_rps_benchmark_runs_both_servers_and_reports(client: str) -> None:
    command = [sys.executable, "-m", "roomwire.loadtest.bench.gemini_double_rps", "--seconds", "0.5",
               "--rounds", "1", "--concurrency", "4", "--client", client, "--json"]  # fmt: skip
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before, "a server outlived the benchmark"
    result = json.loads(done.stdout)
    assert {r["target"] for r in result["rounds"]} == {"double", "baseline"}
    for target in ("double", "baseline"):
        assert result[target]["errors"] == 0 and result[target]["rps_median"] > 0, result
    for key in ("rps_ratio_double_to_baseline", "cpu_ratio_double_to_baseline", "double_capacity_per_core_rps"):
        assert math.isfinite(result[key]) and result[key] > 0, key
    assert result["settings"]["client"] == client
