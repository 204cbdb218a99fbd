"""How many users one Locust worker drives before its own CPU, not the server, limits the numbers.

    python -m tests.loadtest.capacity [--steps 50,100,200,300] [--room-size 10] [--msg-rate 1] [--measure-s 15]

For each step it starts the reference (`roomwire serve --gemini fake`, its own process), runs one Locust process
(`--scenario chat`) with that many users, and while the users talk it samples, with psutil, the CPU of the
Locust process and of the server, and runs `fanout_probe` (an independent asyncio client) in a room of its own
at the same pace. A step prints: users, frames per second the worker received, worker CPU %, server CPU %,
Locust's fan-out p50/p95 and the probe's p50/p95. The worker is the limit once its CPU nears 100 % of a core
(Locust warns at 90 %) and its p50 pulls away from the probe's while the probe's stays put. Numbers for this
project's machine are in docs/loadtest.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from tests.loadtest.servers import CLEAN_ENV, ROOT, probe_command, reference, start_locust, stats_rows
from tests.support.processes import stop


def cpu_percent(process: psutil.Process, seconds: float) -> float:
    """CPU of `process` and its children over `seconds`, in % of one core."""
    family = [process, *process.children(recursive=True)]
    before = sum(sum(p.cpu_times()[:2]) for p in family)
    time.sleep(seconds)
    after = sum(sum(p.cpu_times()[:2]) for p in family if p.is_running())
    return 100.0 * (after - before) / seconds


def server_process(host: str) -> psutil.Process:
    port = int(host.rsplit(":", 1)[1])
    for connection in psutil.net_connections("tcp"):
        if connection.laddr and connection.laddr.port == port and connection.status == "LISTEN" and connection.pid:
            return psutil.Process(connection.pid)
    raise RuntimeError(f"nothing listens on {host}")


def step(users: int, args: argparse.Namespace, workdir: Path) -> dict[str, float | int]:
    prefix = workdir / f"step{users}"
    with reference("--gemini", "fake") as host:
        server = server_process(host)
        run_s = int(args.warmup_s + args.measure_s + 5)
        options = f"-u {users} -r {max(users // 2, 1)} -t {run_s}s --scenario chat --room-size {args.room_size}"
        locust = start_locust(host, prefix, "--only-summary", *options.split(), "--msg-rate", str(args.msg_rate))
        try:
            time.sleep(args.warmup_s)
            probe = subprocess.Popen(
                probe_command(host, args.room_size, args.msg_rate, args.measure_s - 1),
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
                env=CLEAN_ENV,
            )
            worker_cpu = cpu_percent(psutil.Process(locust.pid), args.measure_s / 2)
            server_cpu = cpu_percent(server, args.measure_s / 2)
            independent = json.loads(probe.communicate(timeout=120)[0])
            locust.wait(timeout=run_s + 120)
        finally:
            stop(locust)
    row = stats_rows(prefix)["fanout"]
    return {
        "users": users,
        "frames_per_s": round(float(row["Requests/s"]) * args.room_size / (args.room_size - 1)),
        "worker_cpu": round(worker_cpu),
        "server_cpu": round(server_cpu),
        "locust_p50": int(row["50%"]),
        "locust_p95": int(row["95%"]),
        "probe_p50": round(independent["p50"], 1),
        "probe_p95": round(independent["p95"], 1),
        "failures": int(row["Failure Count"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default="50,100,200,300")
    parser.add_argument("--room-size", type=int, default=10)
    parser.add_argument("--msg-rate", type=float, default=1.0)
    parser.add_argument("--warmup-s", type=float, default=8.0)
    parser.add_argument("--measure-s", type=float, default=15.0)
    args = parser.parse_args()
    columns = ("users", "frames_per_s", "worker_cpu", "server_cpu", "locust_p50", "locust_p95", "probe_p50")
    sys.stdout.write(" ".join(f"{c:>12}" for c in (*columns, "probe_p95", "failures")) + "\n")
    with tempfile.TemporaryDirectory() as workdir:
        for users in (int(n) for n in args.steps.split(",")):
            result = step(users, args, Path(workdir))
            sys.stdout.write(" ".join(f"{result[c]:>12}" for c in (*columns, "probe_p95", "failures")) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
