"""roomwire.spec.limits: SPEC.md §10's defaults and bounds, and the wire form of welcome.limits."""

from __future__ import annotations

import dataclasses

from roomwire.spec.limits import BOUNDS, DEFAULT_LIMITS, OPTIONAL_MEMBERS, REQUIRED_MEMBERS, Limits
from roomwire.spec.schemas import schema


def test_the_defaults_are_within_the_bounds_and_advertise_every_member() -> None:
    assert DEFAULT_LIMITS.out_of_bounds() == []
    assert set(DEFAULT_LIMITS.to_json()) == set(BOUNDS) == {f.name for f in dataclasses.fields(Limits)}
    welcome_required = schema("server/system.schema.json")["allOf"][0]["then"]["properties"]["limits"]["required"]
    assert set(welcome_required) == set(REQUIRED_MEMBERS) == set(BOUNDS) - OPTIONAL_MEMBERS


def test_the_schemas_content_limit_is_the_default() -> None:
    content = schema("common.schema.json")["$defs"]["content"]
    assert content["allOf"][0]["maxLength"] == DEFAULT_LIMITS.max_content_chars


def test_out_of_bounds_names_each_broken_member() -> None:
    limits = Limits(max_frame_bytes=8191, ping_interval_s=31, max_content_chars=199, rate_per_s=30, burst=20)
    assert limits.out_of_bounds() == [
        "max_frame_bytes=8191 (allowed 8192..1048576)",
        "max_content_chars=199 (allowed 200..2000)",
        "ping_interval_s=31 (allowed 1..30)",
        "burst=20 (must be >= rate_per_s=30)",
    ]
    assert Limits(max_frame_bytes=8192, max_history_items=50, ping_timeout_s=30).out_of_bounds() == []


def test_from_json_keeps_defaults_for_absent_or_non_integer_members() -> None:
    read = Limits.from_json({"max_frame_bytes": 9000, "burst": True, "rate_per_s": "5", "unknown": 3})
    assert read == Limits(max_frame_bytes=9000)
    assert Limits.from_json(DEFAULT_LIMITS.to_json()) == DEFAULT_LIMITS
