"""Run `RoomwireClient`s the way Locust does (gevent, monkey-patched) and print what happened as JSON.

    python -m tests.loadtest.gevent_probe URL MODE [--users N] [--wait S] [--no-patch] [--limit S]

It runs in its own process because `gevent.monkey.patch_all()` must not touch the pytest process. MODE:

    quiet    N users join one quiet room and block in recv; after --wait seconds one more user says one line.
             Prints how long until every member had it (`round_s`): about --wait when users run side by side,
             at least N x (recv timeout) when one blocked recv stops the others (--no-patch: it never ends).
    session  one chat line and one question on one connection; prints the events the client fired.
"""

from __future__ import annotations

import sys

if "--no-patch" not in sys.argv:
    from gevent import monkey

    monkey.patch_all()

import argparse  # after monkey-patching, as Locust does
import json
import time
from typing import Any

import gevent

from roomwire.loadtest.client import RoomwireClient


class Recorder:
    """Stands in for Locust's `events.request`: keeps every event it is fired with."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def fire(self, **kwargs: Any) -> None:
        failure = kwargs.get("exception")
        self.events.append(
            {
                "name": kwargs["name"],
                "type": kwargs["request_type"],
                "ms": kwargs["response_time"],
                "failure": repr(failure) if failure is not None else None,
                "at": time.monotonic(),
            }
        )


def quiet(url: str, users: int, wait: float, limit: float) -> dict[str, Any]:
    recorder = Recorder()
    clients = [RoomwireClient(recorder, url=f"{url}?nickname=m{n}", tag=f"m{n}") for n in range(users)]
    started = time.monotonic()
    with gevent.Timeout(limit, False):
        gevent.joinall([gevent.spawn(client.connect) for client in clients])
    connected_at = time.monotonic()
    sender = RoomwireClient(recorder, url=f"{url}?nickname=sender", tag="sender")
    sent_at = None
    with gevent.Timeout(max(0.1, limit - (connected_at - started)), False):
        sender.connect()
        gevent.sleep(wait)
        sent_at = time.monotonic()
        sender.chat("hello, quiet room")
        while sum(1 for e in recorder.events if e["name"] == "fanout") < users:
            gevent.sleep(0.01)
    fanout = [e for e in recorder.events if e["name"] == "fanout"]
    gevent.joinall([gevent.spawn(client.close) for client in (*clients, sender)], timeout=limit)
    return {
        "connected": sum(1 for e in recorder.events if e["name"] == "connect" and e["failure"] is None),
        "received": len(fanout),
        "connect_s": connected_at - started,
        "total_s": time.monotonic() - started,
        "after_send_s": (max(e["at"] for e in fanout) - sent_at) if fanout and sent_at else None,
        "round_s": (max(e["at"] for e in fanout) - connected_at) if fanout else None,
        "connect_ms_max": max((e["ms"] for e in recorder.events if e["name"] == "connect"), default=None),
        "failures": [f"{e['name']}: {e['failure']}" for e in recorder.events if e["failure"]],
    }


def session(url: str, ai_deadline: float) -> dict[str, Any]:
    recorder = Recorder()
    client = RoomwireClient(recorder, url=f"{url}?nickname=solo", tag="solo", ai_deadline_s=ai_deadline)
    joined = client.connect()
    if joined:
        client.chat("one line")
        ask = client.ask("one question")
        client.drain(ai_deadline)
        outcome = ask.outcome.value if ask and ask.outcome else None
    else:
        outcome = None
    client.close()
    return {"joined": joined, "outcome": outcome, "events": recorder.events}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("mode", choices=("quiet", "session"))
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--wait", type=float, default=1.0)
    parser.add_argument("--limit", type=float, default=20.0)
    parser.add_argument("--ai-deadline", type=float, default=3.0)
    parser.add_argument("--no-patch", action="store_true")
    args = parser.parse_args()
    if args.mode == "quiet":
        result = quiet(args.url, args.users, args.wait, args.limit)
    else:
        result = session(args.url, args.ai_deadline)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
