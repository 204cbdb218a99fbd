"""Options, settings and room placement (roomwire.loadtest.scenarios)."""

from __future__ import annotations

import argparse
import re

import pytest

from roomwire.loadtest.scenarios import (
    PROCESS_TAG,
    SCENARIO_NAMES,
    LoadSettings,
    add_arguments,
    next_slot,
    user_tag,
)
from roomwire.spec.limits import ROOM_ID_PATTERN


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_are_a_mixed_run_in_rooms_of_ten() -> None:
    settings = LoadSettings.from_options(_parse())
    assert (settings.scenario, settings.room_size, settings.msg_rate, settings.ai_rate) == ("mixed", 10, 1.0, 0.2)
    assert settings.drain_s == 61.0  # the longer deadline plus one second
    assert settings.validate_every == 100


def test_ratelimit_asks_faster_unless_told() -> None:
    assert LoadSettings.from_options(_parse("--scenario", "ratelimit")).ai_rate == 2.0
    assert LoadSettings.from_options(_parse("--scenario", "ratelimit", "--ai-rate", "0.5")).ai_rate == 0.5


def test_options_locust_did_not_define_keep_their_defaults() -> None:
    assert LoadSettings.from_options(argparse.Namespace()) == LoadSettings(drain_s=61.0)
    assert LoadSettings.from_options(None).room_prefix == "loadtest"


def test_thresholds_repeat_and_scenarios_are_checked() -> None:
    options = _parse("--max-p95-ms", "fanout=200", "--max-p95-ms", "500", "--scenario", "chat")
    assert options.max_p95_ms == ["fanout=200", "500"]
    assert set(SCENARIO_NAMES) == {"chat", "ai", "ratelimit", "mixed"}
    with pytest.raises(SystemExit):
        _parse("--scenario", "nope")


def test_consecutive_slots_fill_a_room_and_rooms_are_bounded() -> None:
    settings = LoadSettings(room_size=3, max_rooms=2, room_prefix="lt")
    assert [settings.room_of(slot) for slot in range(7)] == ["lt-0"] * 3 + ["lt-1"] * 3 + ["lt-0"]
    assert re.match(ROOM_ID_PATTERN, settings.room_of(10**9))


def test_slots_interleave_workers_so_rooms_mix_processes() -> None:
    a, b = next_slot(0, 2), next_slot(1, 2)
    assert a % 2 == 0 and b % 2 == 1
    assert next_slot(0, 1) > a
    tag = user_tag(12)
    assert tag == f"{PROCESS_TAG}-12" and len(tag) <= 24
