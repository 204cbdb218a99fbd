"""Loopback unless told otherwise; users, rooms, run time and rates bounded (roomwire.loadtest.safety)."""

from __future__ import annotations

import pytest

from roomwire.loadtest.safety import (
    is_loopback,
    rate_problems,
    run_time_problems,
    size_problems,
    target_problems,
)


@pytest.mark.parametrize(
    "url", ["ws://127.0.0.1:8000", "ws://127.9.9.9", "wss://localhost:1/x", "http://[::1]:80", "ws://LOCALHOST"]
)
def test_loopback_targets(url: str) -> None:
    assert is_loopback(url)
    assert target_problems(url, allow_remote=False) == []


@pytest.mark.parametrize("url", ["ws://10.0.0.1", "wss://staging.example.com", "ws://127.0.0.1.nip.io", "ws://"])
def test_anything_else_is_remote_and_needs_the_flag(url: str) -> None:
    assert not is_loopback(url)
    [problem] = target_problems(url, allow_remote=False)
    assert "--allow-remote-target" in problem or "not a ws" in problem


def test_the_flag_allows_a_remote_target_but_not_nonsense() -> None:
    assert target_problems("wss://staging.example.com", allow_remote=True) == []
    assert "not a ws://" in target_problems("ftp://127.0.0.1", allow_remote=True)[0]
    assert "no target" in target_problems(None, allow_remote=True)[0]


def test_sizes_are_bounded() -> None:
    assert size_problems(users=100, room_size=10, max_users=100, max_rooms=10) == []
    assert size_problems(users=None, room_size=10, max_users=1, max_rooms=1) == []
    problems = size_problems(users=101, room_size=1, max_users=100, max_rooms=10)
    assert len(problems) == 2 and "at least 2 members" in problems[0] and "--max-users 100" in problems[1]
    assert "--max-rooms 10" in size_problems(users=100, room_size=9, max_users=100, max_rooms=10)[0]


def test_run_time_and_rates_are_bounded() -> None:
    assert run_time_problems(None, max_run_time=10) == run_time_problems(10, max_run_time=10) == []
    assert "--max-run-time 10" in run_time_problems(11, max_run_time=10)[0]
    assert rate_problems(msg_rate=1.0, ai_rate=None, ask_share=0.2) == []
    assert len(rate_problems(msg_rate=0, ai_rate=500, ask_share=1.5)) == 3
