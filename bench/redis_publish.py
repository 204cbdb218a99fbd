"""Where one Redis core saturates: the broker's PUBLISH script, driven by redis-benchmark, per batch size.

    python -m bench.redis_publish --batches 1,10,40 --subscribers 2 --requests 100000

starts a `redis-server` pinned to CPU 1 (no persistence), loads scripts.PUBLISH, subscribes `--subscribers`
connections (standing for instances) to one room's channel and drains them, then runs `redis-benchmark` pinned
to CPU 0 with EVALSHA of one room's batch of `b` chat messages (a typical 110-byte fragment each), 50 clients,
pipeline 16, so that the server core is the limit. It reports scripts/s and chat messages/s (scripts/s × b) that
one Redis core takes, and a plain PUBLISH of one message for comparison. docs/scaleout.md turns these into the
point where a deployment needs more than one Redis.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from roomwire.reference.rooms.redis.config import HistoryBounds
from roomwire.reference.rooms.redis.scripts import PUBLISH, Keys

from .servers import HOST, free_port

FRAGMENT = '"k":"m","n":"b00001","x":"' + "x" * 64 + '","i":"m-000001","o":"0123456789ab"'
ROOM = "bench"


def _pin(cpu: int | None) -> Callable[[], None] | None:
    return (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None


def redis_cli(port: int, *args: str) -> str:
    cli = shutil.which("redis-cli") or "redis-cli"
    return subprocess.run([cli, "-p", str(port), *args], capture_output=True, text=True, check=True).stdout


@contextlib.contextmanager
def redis_on(cpu: int | None) -> Iterator[int]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as directory:
        argv = [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", HOST, "--save", "",
                "--appendonly", "no", "--dir", directory]  # fmt: skip
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, preexec_fn=_pin(cpu))
        try:
            for _ in range(200):
                with contextlib.suppress(subprocess.CalledProcessError):
                    if "PONG" in redis_cli(port, "ping"):
                        break
                time.sleep(0.05)
            yield port
        finally:
            child.terminate()
            child.wait(10)


def drain(port: int, channel: str, stop: threading.Event) -> None:
    """A subscriber that reads everything (an instance's subscriber connection)."""
    with socket.create_connection((HOST, port)) as sock:
        sock.sendall(f"SUBSCRIBE {channel}\r\n".encode())
        sock.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                if not sock.recv(1 << 20):
                    return


def throughput(port: int, cpu: int | None, requests: int, command: list[str]) -> float:
    """Requests per second redis-benchmark reports for `command`."""
    argv = [shutil.which("redis-benchmark") or "redis-benchmark", "-p", str(port), "-n", str(requests), "-c", "50",
            "-P", "16", "-q", *command]  # fmt: skip
    done = subprocess.run(
        argv, capture_output=True, text=True, check=True,
        preexec_fn=_pin(cpu),
    )  # fmt: skip
    found = re.findall(r"([\d.]+) requests per second", done.stdout)
    if not found:
        raise RuntimeError(f"redis-benchmark said: {done.stdout}{done.stderr}")
    return float(found[-1])


def measure(batches: list[int], subscribers: int, requests: int) -> list[tuple[str, float, float]]:
    pinned = (os.cpu_count() or 1) >= 2
    keys = Keys("roomwire")
    bounds = HistoryBounds()
    results = []
    with redis_on(1 if pinned else None) as port:
        sha = redis_cli(port, "script", "load", PUBLISH).strip()
        assert sha == hashlib.sha1(PUBLISH.encode()).hexdigest()
        stop = threading.Event()
        readers = [threading.Thread(target=drain, args=(port, keys.channel(ROOM), stop)) for _ in range(subscribers)]
        for reader in readers:
            reader.start()
        try:
            time.sleep(0.2)
            room = keys.room_keys(ROOM)
            head = [keys.prefix, ROOM, keys.channel(ROOM), str(bounds.events), str(bounds.total_bytes), "300000",
                    str(bounds.empty_rooms)]  # fmt: skip
            for batch in batches:
                command = ["EVALSHA", sha, str(len(room)), *room, *head, *([FRAGMENT] * batch)]
                rate = throughput(port, 0 if pinned else None, max(1000, requests // batch), command)
                results.append((f"PUBLISH script, {batch} per batch", rate, rate * batch))
            message = '{"s":1,"t":1700000000000,' + FRAGMENT + "}"
            rate = throughput(port, 0 if pinned else None, requests, ["PUBLISH", keys.channel(ROOM), message])
            results.append(("plain PUBLISH of one message", rate, rate))
        finally:
            stop.set()
            for reader in readers:
                reader.join()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.redis_publish")
    parser.add_argument("--batches", default="1,10,40", help="chat messages per script call, comma-separated")
    parser.add_argument("--subscribers", type=int, default=2, help="subscribed instances")
    parser.add_argument("--requests", type=int, default=200_000)
    args = parser.parse_args(argv)
    rows = measure([int(b) for b in args.batches.split(",")], args.subscribers, args.requests)
    print(f"{'command':<34} {'calls/s':>12} {'messages/s':>12}")  # noqa: T201
    for name, calls, messages in rows:
        print(f"{name:<34} {calls:>12,.0f} {messages:>12,.0f}")  # noqa: T201
    print(f"command: {' '.join([sys.executable, '-m', 'bench.redis_publish', *sys.argv[1:]])}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
