"""The benchmarks' baselines work: the websockets "ceiling" and the Node `ws` server fan out, and the Gemini
double's req/s benchmark runs both of its servers with either client and reports a well-formed result.

No performance is asserted (CONTRIBUTING): these prove the tools a ratio in docs/benchmarks.md comes from still run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import psutil
import pytest
from websockets.asyncio.client import connect

from bench import ceiling, child, node_ws, servers


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


@pytest.mark.skipif(
    node_ws.installed() is None or shutil.which("node") is None,
    reason="the node target's pinned ws is not installed: python -m bench.node_ws --install "
    "(tox does it; tests never download)",
)
async def test_the_node_ws_server_welcomes_announces_and_broadcasts_to_its_room_only() -> None:
    async with servers.running("node", cpu=None) as server:
        base = f"ws://127.0.0.1:{server.port}/api/v1/ws/chat"
        async with connect(f"{base}/a?nickname=ann") as ann:
            welcome = json.loads(await asyncio.wait_for(ann.recv(), 5))
            assert (welcome["event"], welcome["room"], welcome["members"]) == ("welcome", "a", ["ann"])
            assert json.loads(await asyncio.wait_for(ann.recv(), 5))["event"] == "join"
            async with connect(f"{base}/a?nickname=bob") as bob, connect(f"{base}/b") as other:
                assert json.loads(await asyncio.wait_for(bob.recv(), 5))["members"] == ["ann", "bob"]
                join = json.loads(await asyncio.wait_for(ann.recv(), 5))
                assert (join["event"], join["nickname"], join["count"]) == ("join", "bob", 2)
                await ann.send(json.dumps({"type": "user_msg", "nickname": "ann", "content": "안녕", "id": "m1"}))
                await ann.send(json.dumps({"type": "ping"}))  # not chat: ignored
                for member in (ann, bob):
                    got = json.loads(await asyncio.wait_for(member.recv(), 5))
                    if got.get("event") == "join":  # bob's join reaches bob too
                        got = json.loads(await asyncio.wait_for(member.recv(), 5))
                    assert (got["type"], got["content"], got["id"], got["seq"]) == ("user_msg", "안녕", "m1", 3)
                assert json.loads(await asyncio.wait_for(other.recv(), 5))["event"] == "welcome"
                assert json.loads(await asyncio.wait_for(other.recv(), 5))["event"] == "join"
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(other.recv(), 0.3)
            leave = json.loads(await asyncio.wait_for(ann.recv(), 5))
            assert (leave["event"], leave["nickname"], leave["count"]) == ("leave", "bob", 1)


@pytest.mark.slow
@pytest.mark.parametrize("client", ["httpx", "sdk"])
def test_the_double_rps_benchmark_runs_both_servers_and_reports(client: str, tmp_path: Path) -> None:
    command = child.command("bench.gemini_double_rps", "--seconds", "0.5", "--rounds", "1", "--concurrency", "4",
                            "--client", client, "--json")  # fmt: skip
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path,
                          env=child.environment())  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before, "a server outlived the benchmark"
    result = json.loads(done.stdout)
    assert {r["target"] for r in result["rounds"]} == {"double", "baseline"}
    for target in ("double", "baseline"):
        assert result[target]["errors"] == 0 and result[target]["rps_median"] > 0, result
    for key in ("rps_ratio_double_to_baseline", "cpu_ratio_double_to_baseline", "double_capacity_per_core_rps"):
        assert math.isfinite(result[key]) and result[key] > 0, key
    assert result["settings"]["client"] == client


def test_a_benchmark_child_runs_the_repositorys_bench_wherever_the_caller_stands(tmp_path: Path) -> None:
    """`bench/` is not installed: a child finds it by the repository's root on PYTHONPATH, never by the caller's
    working directory (here a decoy `bench` package that must not run)."""
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "__init__.py").write_text("raise SystemExit('the decoy bench ran')\n", encoding="utf-8")
    env = child.environment({k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    done = subprocess.run(child.command("bench.ceiling", "--help"), capture_output=True, text=True, timeout=60,
                          check=False, cwd=tmp_path, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "python -m bench.ceiling" in done.stdout
    assert env["PYTHONPATH"] == str(child.ROOT)
