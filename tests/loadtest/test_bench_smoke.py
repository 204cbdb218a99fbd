"""The benchmark runs end to end in its quickest mode against both servers and writes a well-formed result.

Performance is never asserted here (CONTRIBUTING: numbers live in docs/benchmarks.md, as ratios): this proves
that every scenario starts, drives and stops both the seed copy and the reference, that every process it started
is gone afterwards, and that the JSON has what the docs and the table read.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bench import ai, ai_share, child
from bench.ai import _TAG, Answer, Sample, Upstream, added, per_block_answers
from bench.direct import question
from bench.profile import breakdown, function_of, package_of
from bench.report import HEADLINES, Measured, Run, summarize, table
from bench.room import chat_frame
from bench.run import SCENARIOS
from bench.servers import HOST, PortTaken, ServerFailed, _wait_ready, free_port, listens, running, spawn
from bench.storm import PER_ADDRESS, storm
from bench.storms import storms
from bench.wsclient import SO_TIMESTAMPNS, ArrivalStampingSocket, open_connection

TARGETS = ("seed", "reference")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_quick_benchmark_produces_a_well_formed_result(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    command = child.command("bench", "--quick", "--targets", ",".join(TARGETS), "--idle-connections", "200",
                            "--json", str(out))  # fmt: skip
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=540, check=False, cwd=tmp_path,
                          env=child.environment())  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before, "a benchmark process outlived it"

    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["quick"] is True and result["rounds"] == 1
    assert set(result["server_commands"]) >= set(TARGETS)
    runs = {(r["scenario"], r["target"]): r for r in result["runs"]}
    assert set(runs) == {(s, t) for s in SCENARIOS for t in TARGETS}
    for (scenario, target), run in runs.items():
        assert run["error"] is None, (scenario, target, run["error"])
        for key, _, _ in HEADLINES[scenario]:
            value = run["metrics"][key]
            assert value is None or (isinstance(value, int | float) and math.isfinite(value)), (scenario, key)
    for scenario, metrics in result["summary"].items():
        for key, _, _ in HEADLINES[scenario]:
            assert set(metrics[key]["targets"]) == set(TARGETS)
            assert set(metrics[key]["ratios"]) == {"reference"}
    assert "reference÷seed" in done.stdout
    for target in TARGETS:  # the AI share pooled over the run, from the per-answer values the runs kept
        pooled = result["ai_share_pooled"][target]
        assert pooled["server_answers"] == len(runs[("ai", target)]["per_answer"]["server_added"]) > 0
        assert set(pooled["shares"]) >= {"share_p50_ms", "share_p99_ms"}
        assert f"AI share over the floor, {target}, pooled over 1 rounds" in done.stdout


def test_profile_breakdown_attributes_samples_to_packages_and_functions() -> None:
    """py-spy's collapsed stacks (`frame;frame count`) become self and inclusive shares per package and function."""
    collapsed = "\n".join(
        [
            "main (cli/cli.py:55);handle (site-packages/hypercorn/protocol/h11.py:116);"
            "process_buffer (site-packages/wsproto/frame_protocol.py:391) 3",
            "main (cli/cli.py:55);push (/work/main/reference/outbox.py:162) 1",
            "main (cli/cli.py:56);push (/work/main/reference/outbox.py:163) 1",
            "not a stack line",
        ]
    )
    text = breakdown(collapsed)
    assert text.startswith("5 samples")
    assert "wsproto             60.0%   60.0%" in text
    assert "roomwire.reference  40.0%   40.0%" in text
    assert " 40.0%  push (/work/main/reference/outbox.py)" in text  # lines of one function add up
    assert package_of("select (selectors.py:468)") == "asyncio"
    assert function_of("select (selectors.py:468)") == "select (selectors.py)"
    assert breakdown("") == "no samples"


def test_report_pairs_ratios_by_round_and_prints_medians() -> None:
    runs = [
        Run(round=0, scenario="idle", target="seed", metrics={"rss_per_connection_kib": 30.0, "connections": 10.0}),
        Run(round=0, scenario="idle", target="reference", metrics={"rss_per_connection_kib": 15.0}),
        Run(round=1, scenario="idle", target="seed", metrics={"rss_per_connection_kib": 40.0}),
        Run(round=1, scenario="idle", target="reference", metrics={"rss_per_connection_kib": 10.0}),
        Run(round=1, scenario="idle", target="ceiling", error="ServerFailed: boom"),
    ]
    summary = summarize(runs)
    rss = summary["idle"]["rss_per_connection_kib"]
    assert isinstance(rss, dict)
    assert rss["targets"]["seed"] == {"median": 35.0, "min": 30.0, "max": 40.0, "n": 2}
    assert rss["ratios"]["reference"] == {"median": 0.375, "min": 0.25, "max": 0.5, "n": 2}
    lines = table(summary, ["seed", "reference"]).splitlines()
    assert lines[0].split() == ["metric", "seed", "reference", "reference÷seed"]
    assert "0.38× [0.25×–0.50×]" in lines[2] and "35 [30–40]" in lines[2]
    assert runs[-1].to_json()["error"] == "ServerFailed: boom"


async def test_ceiling_target_broadcasts_to_the_room_once_per_member() -> None:
    """The ceiling speaks just enough of the protocol for the fan-out scenarios: a user_msg reaches every member."""
    got: list[bytes] = []
    async with running("ceiling", cpu=None) as server:
        room = [await open_connection(HOST, server.port, "/api/v1/ws/chat/c", got.append) for _ in range(3)]
        room[0].send_text(chat_frame(0, 1, "pad"))
        for _ in range(100):
            if len(got) == 3:
                break
            await asyncio.sleep(0.02)
        for member in room:
            member.abort()
    assert len(got) == 3 and all(b"bench:00000:" in frame for frame in got)


async def test_the_ceiling_answers_each_ai_msg_through_the_sdk_when_given_a_double() -> None:
    """The ceiling's AI path (the lean server of the AI scenario): chunks, then ai_done, for every question."""
    async with ai.double_running(None) as (url, _), running("ceiling", cpu=None, gemini_url=url) as server:
        through = await ai.server_samples(server, 2, 1, run=ai.new_run_id())
    assert (through.failed, through.errors, len(through.samples)) == (0, 0, 4)
    assert all(sample.first_ns > sample.sent_ns for sample in through.samples)


def test_ai_added_pairs_each_answer_with_its_journal_entry() -> None:
    """added = (client TTFT) − (the double's own first-chunk time), request by request; warm-ups are not counted."""
    samples = [
        Sample(asker=0, n=0, sent_ns=0, first_ns=10_000_000),  # warm-up: not counted
        Sample(asker=0, n=1, sent_ns=1_000_000_000, first_ns=1_307_000_000),  # TTFT 307 ms
        Sample(asker=1, n=1, sent_ns=2_000_000_000, first_ns=2_215_000_000),  # TTFT 215 ms
        Sample(asker=2, n=1, sent_ns=3_000_000_000, first_ns=3_100_000_000),  # no journal entry
    ]
    upstream = {
        (0, 0): Upstream(received_ms=1.0, first_chunk_ms=5.0),
        (0, 1): Upstream(received_ms=1_002.0, first_chunk_ms=1_302.0),  # 2 ms before, 300 ms upstream, 5 ms after
        (1, 1): Upstream(received_ms=2_010.0, first_chunk_ms=2_210.0),  # 10 ms before, 200 ms upstream, 5 ms after
    }
    result = added("server", samples, upstream)
    assert "server_added_wire_p50_ms" not in result  # no kernel stamps in these samples
    assert result["server_answers"] == 3 and result["server_unpaired"] == 1
    assert result["server_added_p50_ms"] == pytest.approx(15.0)
    assert result["server_added_max_ms"] == pytest.approx(15.0)
    assert result["server_before_p50_ms"] == pytest.approx(10.0)
    assert result["server_after_max_ms"] == pytest.approx(5.0)
    assert result["server_upstream_ttft_max_ms"] == pytest.approx(300.0)
    assert math.isnan(added("x", [], {})["x_added_p99_ms"])


def test_ai_added_stops_the_clock_at_the_socket_where_the_kernel_stamped_the_arrival() -> None:
    """`added_wire` ends when the first chunk reached the asker's socket; the rest is the asker's own wake-up."""
    samples = [Sample(asker=0, n=1, sent_ns=1_000_000_000, first_ns=1_307_000_000, wire_ns=1_303_500_000)]
    upstream = {(0, 1): Upstream(received_ms=1_002.0, first_chunk_ms=1_302.0)}
    result = added("server", samples, upstream)
    assert result["server_added_p50_ms"] == pytest.approx(7.0)  # 2 before, 5 after
    assert result["server_added_wire_p50_ms"] == pytest.approx(3.5)  # 2 before, 1.5 to the socket
    assert result["server_after_wire_p50_ms"] == pytest.approx(1.5)
    assert result["server_client_wake_p50_ms"] == pytest.approx(3.5)


async def test_a_stamping_socket_learns_when_the_bytes_arrived_before_it_read_them() -> None:
    """The kernel's arrival stamp (SO_TIMESTAMPNS, as monotonic ns) falls between the send and the read. Linux
    switches stamping on a moment after the first socket asks (a work queue, late on a loaded machine): reads
    before that carry no stamp, and say so (0, never the previous read's)."""
    listener = socket.create_server((HOST, 0))
    client = ArrivalStampingSocket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        assert client.enable_stamps()
        client.connect(listener.getsockname())
        peer, _ = listener.accept()
        with peer:
            for _ in range(100):  # at most ~5 s for the kernel to switch stamping on
                sent = time.monotonic_ns()
                peer.sendall(b"chunk")
                await asyncio.sleep(0.05)  # the bytes wait in the socket: the read comes well after the arrival
                assert client.recv(100) == b"chunk"
                read = time.monotonic_ns()
                if client.arrived_ns:
                    break
            assert sent <= client.arrived_ns < read - 40_000_000, (sent, client.arrived_ns, read)
            client.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 0)  # a read without a stamp from here on
            peer.sendall(b"more")
            await asyncio.sleep(0.05)
            assert client.recv(100) == b"more" and client.arrived_ns == 0
    finally:
        client.close()
        listener.close()


def _block(server: list[float], floor: list[float], wire: list[float] | None = None) -> dict[str, list[float]]:
    return {"server_added": server, "sdk_added": floor, "server_added_wire": server if wire is None else wire}


def _runs_of(blocks: dict[tuple[int, int], dict[str, list[float]]]) -> list[Run]:
    runs: dict[int, Run] = {}
    for (round_, block), values in blocks.items():
        run = runs.setdefault(round_, Run(round=round_, scenario="ai", target="reference"))
        for key, answers in values.items():
            run.per_answer.setdefault(key, []).extend((block, v) for v in answers)
    return list(runs.values())


def test_the_ai_share_is_pooled_over_rounds_and_blocks_with_a_block_bootstrap_interval() -> None:
    """share = quantile(every server answer) − quantile(every floor answer); the interval resamples whole blocks."""
    even = _block([5.0] * 100, [4.0] * 100)  # the server 1 ms above the floor in every answer
    slow = _block([5.0] * 90 + [40.0] * 10, [4.0] * 100, wire=[5.0] * 100)  # one block where 10% of answers lag
    runs = _runs_of({(0, 0): even, (0, 1): even, (1, 0): slow, (1, 1): even})
    pooled = ai_share.pooled(runs, resamples=200)["reference"]
    assert (pooled.rounds, pooled.blocks, pooled.server_answers, pooled.sdk_answers) == (2, 4, 400, 400)
    assert pooled.shares["share_p50_ms"] == pytest.approx(1.0)
    assert pooled.shares["share_p99_ms"] == pytest.approx(36.0)  # the 4th largest of 400 is a lagging one
    assert pooled.shares["share_wire_p99_ms"] == pytest.approx(1.0)  # at the socket, no answer lagged
    assert pooled.intervals["share_p50_ms"] == pytest.approx((1.0, 1.0))
    low, high = pooled.intervals["share_p99_ms"]
    assert low == pytest.approx(1.0) and high == pytest.approx(36.0)  # draws without the slow block, and with it
    assert ai_share.pooled(runs, resamples=200) == ai_share.pooled(runs, resamples=200)  # seeded
    text = "\n".join(ai_share.lines({"reference": pooled}))
    assert "pooled over 2 rounds (4 blocks, 400 answers through the server, 400 by the SDK alone)" in text
    assert "p99 36.00 [1.00–36.00]" in text


def test_result_files_pool_into_one_longer_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m bench.ai_share a.json b.json`: each file's rounds stay apart, so no block of one merges into
    a block of the other; a file without AI answers is refused."""
    files = []
    for name in ("a", "b"):
        runs = _runs_of({(0, 0): _block([5.0] * 10, [4.0] * 10), (1, 0): _block([6.0] * 10, [4.0] * 10)})
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"runs": [run.to_json() for run in runs]}), encoding="utf-8")
        files.append(str(path))
    assert ai_share.main(files) == 0
    out = capsys.readouterr().out
    assert "pooled over 4 rounds (4 blocks, 40 answers through the server, 40 by the SDK alone)" in out
    assert "p50 2.00 [1.00–2.00]" in out  # half the answers 1 ms above the floor, half 2 ms
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"runs": [Run(round=0, scenario="idle", target="reference").to_json()]}))
    assert ai_share.main([str(empty)]) == 1


def test_the_ai_runs_keep_each_answer_with_its_block() -> None:
    """Askers are numbered from block × 1000 (`side_by_side`): that number, not the order, names the block."""
    server = [Answer(asker=2501, before=1.0, after=2.0, upstream_ttft=300.0, after_wire=1.5),
              Answer(asker=503, before=1.0, after=1.0, upstream_ttft=300.0)]  # fmt: skip
    floor = [Answer(asker=1004, before=0.5, after=0.5, upstream_ttft=250.0)]
    kept = per_block_answers(server, floor)
    assert kept == {"server_added": [(2, 3.0), (0, 2.0)], "server_added_wire": [(2, 2.5)], "sdk_added": [(1, 1.0)]}
    measured = Measured({"x": 1.0}, kept)
    run = Run(round=0, scenario="ai", target="reference", metrics=dict(measured), per_answer=measured.per_answer)
    assert json.loads(json.dumps(run.to_json()))["per_answer"]["server_added"] == [[2, 3.0], [0, 2.0]]


def test_ai_questions_carry_a_tag_the_journal_parser_reads() -> None:
    text = question(123456, 7, 12)
    tag = _TAG.search(text)
    assert tag is not None and tag.groups() == ("123456", "7", "12")
    assert text.startswith("[[chunks=4]] ")


async def test_a_storm_admits_every_client_the_limits_allow() -> None:
    async with running("reference", cpu=None, limits=True) as server:
        result = await storm(server, clients=60, room_size=10, inflight=20)
    assert (result["admitted"], result["refused"], result["failed_upgrades"]) == (60, 0, 0)
    assert result["frames_per_admission"] > 1  # the welcome and the joins of the room
    assert result["server_cpu_ms_per_admission"] > 0


async def test_a_storm_stays_within_the_pending_connections_one_address_may_have() -> None:
    """2 × PER_ADDRESS handshakes at once: none of them over LIMIT-009's 64 pending connections of one address."""
    clients = 2 * PER_ADDRESS
    async with running("reference", cpu=None, limits=True) as server:
        result = await storm(server, clients=clients, room_size=10, inflight=clients)
    assert (result["admitted"], result["refused"]) == (clients, 0)


async def test_storms_on_one_server_report_the_rss_after_each() -> None:
    figures = await storms("reference", 2, pause=0.1, fresh_rooms=True, clients=30, settle=0.1)
    assert figures["refused"] == [0, 0] and len(figures["server_cpu_ms_per_admission"]) == 2
    assert len(figures["rss_mb"]) == 3 and all(rss > 10 for rss in figures["rss_mb"] + figures["settled_rss_mb"])


async def test_a_storm_counts_what_a_server_refuses_after_the_upgrade() -> None:
    """With at most 5 connections per address, the clients of one source address are mostly refused (LIMIT-006)."""
    limit = {"ROOMWIRE_MAX_CONNECTIONS_PER_ADDRESS": "5"}
    async with running("reference", cpu=None, limits=True, extra_env=limit) as server:
        result = await storm(server, clients=PER_ADDRESS, room_size=10, inflight=20)
    assert result["admitted"] == 5 and result["refused"] == PER_ADDRESS - 5


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_ai_hosts_comparison_runs_every_host_against_the_floor(tmp_path: Path) -> None:
    out = tmp_path / "hosts.json"
    command = child.command("bench.ai_hosts", "--rounds", "1", "--blocks", "1", "--askers", "2", "--questions", "1",
                            "--json", str(out))  # fmt: skip
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False, cwd=tmp_path,
                          env=child.environment())  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before, "a benchmark process outlived it"
    (figures,) = json.loads(out.read_text(encoding="utf-8"))["rounds"]
    assert figures["floor"]["sdk_answers"] == 2 and figures["floor"]["sdk_unpaired"] == 0
    for host in ("inline", "thread", "process"):
        assert figures[host]["server_answers"] == 2 and figures[host]["server_unpaired"] == 0, host
        assert math.isfinite(figures[host]["share_p50_ms"]) and figures[host]["cpu_ms_per_answer"] > 0, host


async def test_a_server_that_answers_on_the_port_is_not_taken_for_the_child_started_there(tmp_path: Path) -> None:
    """Another program's server on the port picked for a target does not pass for the target: the wait goes on
    until the child itself listens there, and a child that could not bind it is reported as such (and retried)."""
    log = tmp_path / "child.log"
    async with running("ceiling", cpu=None) as other:
        idle = spawn([sys.executable, "-c", "import time; time.sleep(30)"], None)
        try:
            assert not listens(idle.pid, other.port) and listens(other.process.pid, other.port)
            log.write_text("")
            with pytest.raises(ServerFailed, match="no WebSocket upgrade within"):
                await _wait_ready(idle, other.port, 0.5, str(log))
        finally:
            idle.kill()
            idle.wait()
    log.write_text("OSError: [Errno 98] Address already in use\n")
    taken = spawn([sys.executable, "-c", "raise SystemExit(1)"], None)
    taken.wait()
    with pytest.raises(PortTaken):
        await _wait_ready(taken, free_port(), 5.0, str(log))
