"""roomwire.spec.errors: one root, split by fault; a peer's protocol error becomes a spec violation."""

from __future__ import annotations

from roomwire.spec.errors import (
    ConfigError,
    HarnessError,
    LocalProtocolError,
    RemoteProtocolError,
    RoomwireError,
    SpecViolation,
    TargetUnreachable,
    UsageError,
)


def test_the_tree() -> None:
    assert issubclass(SpecViolation, AssertionError) and issubclass(SpecViolation, RoomwireError)
    assert issubclass(ConfigError, UsageError) and issubclass(TargetUnreachable, HarnessError)
    assert issubclass(LocalProtocolError, RoomwireError) and not issubclass(LocalProtocolError, AssertionError)


def test_a_remote_protocol_error_becomes_a_violation_with_expected_and_actual() -> None:
    error = RemoteProtocolError("AI-002", "frame #3: ai_chunk after its ai_done")
    assert str(error) == "AI-002: frame #3: ai_chunk after its ai_done"
    violation = error.to_violation("nothing after ai_done")
    assert (violation.requirement_id, violation.expected, violation.actual) == (
        "AI-002",
        "nothing after ai_done",
        "frame #3: ai_chunk after its ai_done",
    )
    assert str(violation) == "AI-002: expected nothing after ai_done; got frame #3: ai_chunk after its ai_done"
