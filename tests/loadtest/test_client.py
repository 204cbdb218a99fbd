"""RoomwireClient on gevent: users run side by side, and every failure is counted (roomwire.loadtest.client).

The clients run in `tests/loadtest/gevent_probe.py`, a child process that monkey-patches like Locust does;
the server is `tests/loadtest/roomserver.py`, whose faults make failures happen on purpose.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.loadtest.servers import CLEAN_ENV, PYTHON, ROOT, room_server

QUIET_USERS = 50
QUIET_WAIT_S = 1.0


def probe(url: str, *args: str, timeout: float = 60) -> dict[str, Any]:
    result = subprocess.run(
        [PYTHON, "-m", "tests.loadtest.gevent_probe", url, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=CLEAN_ENV,
        timeout=timeout,
        check=True,
    )
    data: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return data


def test_spot_checks_run_when_idle_and_report_schema_breaks() -> None:
    """In this (unpatched) process gevent still schedules greenlets; the checker needs nothing else."""
    import gevent

    from roomwire.loadtest.client import SpotChecker
    from roomwire.loadtest.metrics import Sample

    checker = SpotChecker(capacity=2)
    reported: list[Sample] = []
    checker.submit('{"type":"pong"}', reported.extend)
    checker.submit('{"type":"ai_done","status":"maybe"}', reported.extend)
    checker.submit('{"type":"user_msg","nickname":"","content":"c"}', reported.extend)  # pushes the first out
    gevent.wait([checker._worker], timeout=10)
    assert (checker.checked, checker.skipped) == (2, 1)
    assert [(s.name, repr(s.failure)) for s in reported] == [
        ("ai total", "SpecBroken(FRAME-001)"),
        ("fanout", "SpecBroken(FRAME-001)"),
    ]


def failures(events: list[dict[str, Any]]) -> list[str]:
    return [f"{e['name']}: {e['failure']}" for e in events if e["failure"]]


def test_users_blocked_in_recv_do_not_serialise_each_other() -> None:
    """50 users each block in recv on a quiet room; one broadcast reaches all of them in one round.

    If one blocked recv held the process (what happens without monkey-patching), the members would take turns:
    the broadcast could not even be sent until every earlier reader gave up, and the total time would grow
    with the number of users. Side by side, the whole run takes about one --wait, whatever the number of users.
    """
    with room_server() as base:
        result = probe(f"{base}/api/v1/ws/chat/quiet", "quiet", "--users", str(QUIET_USERS), "--wait", "1")
    assert result["failures"] == []
    assert result["connected"] == QUIET_USERS + 1  # the members and the sender
    assert result["received"] == QUIET_USERS
    # One round: the wait plus one delivery (generous: this machine is shared). Taking turns would cost at least
    # one recv timeout (0.5 s) per member, 25 s for 50.
    assert QUIET_WAIT_S <= result["round_s"] < QUIET_WAIT_S + 5.0 < QUIET_USERS * 0.5 / 2
    assert result["after_send_s"] < 5.0


def test_the_same_probe_without_monkey_patching_serialises_and_never_finishes() -> None:
    """The control: with real blocking sockets the first reader keeps the process, so the probe cannot end."""
    with room_server() as base:
        with pytest.raises(subprocess.TimeoutExpired):
            probe(f"{base}/api/v1/ws/chat/quiet", "quiet", "--users", "5", "--no-patch", timeout=8)


def test_one_session_fires_connect_and_the_ai_measurements() -> None:
    with room_server("--ai-chunks", "3") as base:
        result = probe(f"{base}/api/v1/ws/chat/solo", "session")
    names = [e["name"] for e in result["events"]]
    assert result["joined"] and result["outcome"] == "ok"
    assert names == ["connect", "ai ttft", "ai itl", "ai itl", "ai total"]
    assert {e["type"] for e in result["events"]} == {"WS"}
    assert failures(result["events"]) == []


def test_a_refused_connection_is_a_connect_failure_named_by_its_code() -> None:
    with room_server("--refuse") as base:
        result = probe(f"{base}/api/v1/ws/chat/full", "session")
    assert not result["joined"]
    assert failures(result["events"]) == ["connect: ConnectFailed(too_many_connections)"]


@pytest.mark.parametrize(
    ("flags", "failure"),
    [
        (("--http-status", "403"), "connect: ConnectFailed(HTTP 403)"),
        (("--no-welcome",), "connect: ConnectFailed(CONN-003 first frame is not the welcome)"),
    ],
)
def test_a_handshake_without_a_welcome_is_a_connect_failure(flags: tuple[str, ...], failure: str) -> None:
    with room_server(*flags) as base:
        result = probe(f"{base}/api/v1/ws/chat/x", "session")
    assert not result["joined"]
    assert failures(result["events"]) == [failure]


def test_a_connection_the_server_closes_counts_what_was_pending() -> None:
    """The server restarts (1012) while an answer is pending: a lost connection, and the answer never came."""
    with room_server("--close-after", "0.5", "--hang-ai") as base:
        result = probe(f"{base}/api/v1/ws/chat/restart", "session", "--ai-deadline", "5")
    assert result["outcome"] == "hang (no ai_done in time)"
    assert failures(result["events"]) == [
        "connect: ConnectionLost(closed by server, code 1012)",
        "ai total: ConnectionLost(no ai_done before close 1012)",
    ]


def test_nothing_listening_is_a_connect_failure() -> None:
    with room_server() as base:
        closed = base.rsplit(":", 1)[0] + ":9"  # discard port: nothing listens on loopback
        result = probe(f"{closed}/api/v1/ws/chat/x", "session")
    assert failures(result["events"]) == ["connect: ConnectFailed(ConnectionRefusedError)"]


def test_a_missing_ai_done_is_a_hang_failure_not_a_dropped_sample() -> None:
    with room_server("--hang-ai", "--ai-chunks", "1") as base:
        result = probe(f"{base}/api/v1/ws/chat/hang", "session", "--ai-deadline", "1")
    assert result["outcome"] == "hang (no ai_done in time)"
    assert failures(result["events"]) == ["ai total: AiHang(no ai_done within 1 s)"]
    assert [e["name"] for e in result["events"]][:2] == ["connect", "ai ttft"]


def test_lost_broadcasts_are_counted_as_missing_deliveries() -> None:
    """Every 3rd delivery is dropped: members see seq gaps, each lost room event is one failure."""
    with room_server("--drop-every", "3") as base:
        result = probe(f"{base}/api/v1/ws/chat/lossy", "quiet", "--users", "6", "--wait", "0.2", "--limit", "5")
    gaps = [f for f in result["failures"] if f == "fanout: MissingDelivery(seq gap: room event lost)"]
    assert gaps and len(gaps) + result["received"] >= 6 - 1  # lost or delivered, every broadcast is accounted
    assert result["failures"] == gaps or all("MissingDelivery" in f for f in result["failures"])
