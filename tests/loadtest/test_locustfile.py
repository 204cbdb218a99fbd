"""Locust runs of the locustfile against the test room server: names, thresholds, safety, graceful stop.

The server is `tests/loadtest/roomserver.py`, whose faults produce the failures some tests expect. A few quick
runs stay in the default suite (they are what covers the users, the plugin and the drain); the rest are
`loadtest` tests (`tox -e loadtest-smoke`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.loadtest.servers import LocustRun, room_server, run_locust

FAST = "--ai-deadline-s 3 --fanout-deadline-s 3"


def locust(host: str, prefix: Path, args: str) -> LocustRun:
    """One run; `args` as typed on a command line (no quoting needed by these tests)."""
    return run_locust(host, prefix, *f"{args} {FAST}".split())


def test_chat_run_records_connect_and_fanout_without_failures(tmp_path: Path) -> None:
    with room_server() as host:
        run = locust(host, tmp_path / "chat", "-u 6 -r 6 -t 4s --scenario chat --room-size 3 --msg-rate 2")
    assert run.returncode == 0, run.output
    stats = run.stats()
    assert run.count("connect") == 6 and run.count("fanout") > 0
    assert set(stats) == {"connect", "fanout", "Aggregated"}
    assert stats["Aggregated"]["Failure Count"] == "0" and run.failures() == []
    assert {row["Type"] for name, row in stats.items() if name != "Aggregated"} == {"WS"}


def test_an_impossible_threshold_fails_the_run_and_says_which(tmp_path: Path) -> None:
    with room_server("--chunk-delay", "0.02") as host:
        args = "-u 2 -r 2 -t 3s --scenario ai --ai-rate 2 --max-p95-ms ai-ttft=0 --max-p99-ms fanout=100000"
        run = locust(host, tmp_path / "ai", args)
    assert run.returncode == 1, run.output
    assert "threshold breached: FAIL p95 of 'ai ttft' <= 0 ms" in run.output
    assert "FAIL p99 of 'fanout' <= 100000 ms: no samples named 'fanout'" in run.output  # the ai scenario has none
    assert run.count("ai ttft") > 0


@pytest.mark.loadtest
def test_a_misspelt_name_fails_instead_of_passing_silently(tmp_path: Path) -> None:
    with room_server() as host:
        run = locust(host, tmp_path / "typo", "-u 2 -r 2 -t 2s --scenario chat --max-p95-ms fanuot=1000")
    assert run.returncode == 1, run.output
    assert "threshold on an unknown name will fail" in run.output
    assert "no samples named 'fanuot' (recorded: Aggregated, connect, fanout)" in run.output


@pytest.mark.loadtest
def test_passing_thresholds_keep_exit_code_zero(tmp_path: Path) -> None:
    with room_server() as host:
        args = "-u 2 -r 2 -t 2s --scenario chat --max-p95-ms fanout=60000 --max-p99-ms 60000 --max-error-ratio 0"
        run = locust(host, tmp_path / "pass", args)
    assert run.returncode == 0, run.output
    assert "PASS p95 of 'fanout' <= 60000 ms" in run.output


@pytest.mark.parametrize(
    ("host", "args", "message"),
    [
        ("ws://192.0.2.1:8000", "", "is not loopback; pass --allow-remote-target"),
        pytest.param("ws://127.0.0.1:9", "-u 5000", "5000 users exceed --max-users 1000", marks=pytest.mark.loadtest),
        pytest.param("ws://127.0.0.1:9", "-t 2h", "exceeds --max-run-time 600 s", marks=pytest.mark.loadtest),
        pytest.param("ws://127.0.0.1:9", "--max-p95-ms fast", "is not [NAME=]NUMBER", marks=pytest.mark.loadtest),
        pytest.param("ws://127.0.0.1:9", "--room-size 1", "at least 2 members", marks=pytest.mark.loadtest),
    ],
)
def test_unsafe_or_malformed_runs_exit_2_before_anything_runs(
    tmp_path: Path, host: str, args: str, message: str
) -> None:
    run = locust(host, tmp_path / "refused", f"-u 1 -t 1s {args}")
    assert run.returncode == 2, run.output
    assert message in run.output
    assert "Ramping to" not in run.output


@pytest.mark.loadtest
def test_expected_failures_are_counted_by_code_and_the_error_ratio_decides(tmp_path: Path) -> None:
    """Past the server's AI budget every question gets ai_quota: counted, named, and summarised per user."""
    with room_server("--ai-budget", "3") as host:
        strict = locust(host, tmp_path / "strict", "-u 3 -r 3 -t 3s --scenario ratelimit")
        lenient = locust(host, tmp_path / "lenient", "-u 3 -r 3 -t 3s --scenario ratelimit --max-error-ratio 1")
    assert strict.returncode == 1  # Locust's rule: any failure fails the run...
    assert lenient.returncode == 0, lenient.output  # ...unless a total error-ratio threshold says how many may
    errors = strict.failure_errors()
    assert set(errors) == {"ai error: ErrorNotice(ai_quota)"}
    assert "friendly wait (ai_quota)" in strict.output
    outcomes = (tmp_path / "strict_ai_outcomes.csv").read_text(encoding="utf-8")
    assert f"friendly wait (ai_quota),{errors['ai error: ErrorNotice(ai_quota)']},3" in outcomes


def test_answers_in_flight_at_the_end_land_before_the_users_stop(tmp_path: Path) -> None:
    """Answers take ~1 s; askers keep asking until --run-time. The drain lets the last ones finish: none lost."""
    with room_server("--ai-chunks", "4", "--chunk-delay", "0.25") as host:
        run = locust(host, tmp_path / "drain", "-u 4 -r 4 -t 3s --scenario ai --ai-rate 5")
    assert run.returncode == 0, run.output
    assert run.failures() == []
    assert run.count("ai total") == int(run.output.split("AI outcomes (")[1].split(" ")[0])


@pytest.mark.loadtest
def test_a_hang_is_a_failure_even_when_the_run_ends_first(tmp_path: Path) -> None:
    with room_server("--hang-ai") as host:
        args = "-u 2 -r 2 -t 2s --scenario ai --ai-rate 5 --exit-code-on-error 0"
        run = run_locust(host, tmp_path / "hang", *args.split(), "--ai-deadline-s", "1")
    assert run.returncode == 0
    assert set(run.failure_errors()) == {"ai total: AiHang(no ai_done within 1 s)"}
    assert "hang (no ai_done in time)" in run.output
