"""One exception root for all of roomwire, split by whose fault it is.

    RoomwireError
    ├── SpecViolation          the target broke a requirement of SPEC.md (an AssertionError: a check failed)
    ├── ProtocolError          raised by the sans-I/O core (roomwire.spec.protocol)
    │   ├── LocalProtocolError     we (the harness or the client code) misused the protocol: a bug on our side
    │   └── RemoteProtocolError    the peer sent something the spec forbids; carries the requirement id
    ├── UsageError             bad arguments or settings given by a person; nothing ran
    │   └── ConfigError            a setting is missing or invalid at start-up (names the setting)
    └── HarnessError           the harness could not do its job; results are incomplete
        └── TargetUnreachable      the server under test could not be reached

The conformance runner reports SpecViolation as FAIL and anything else raised by a check as ERROR, so a
harness bug is never reported as a failure of the server under test (exit codes: 1 vs 3).
"""

from __future__ import annotations


class RoomwireError(Exception):
    """Root of every exception roomwire raises on purpose."""


class SpecViolation(RoomwireError, AssertionError):
    """The target broke requirement `requirement_id`; `expected` and `actual` are the evidence in words."""

    def __init__(self, requirement_id: str, expected: str, actual: str) -> None:
        super().__init__(f"{requirement_id}: expected {expected}; got {actual}")
        self.requirement_id = requirement_id
        self.expected = expected
        self.actual = actual


class ProtocolError(RoomwireError):
    """Raised by the sans-I/O protocol core."""


class LocalProtocolError(ProtocolError):
    """Our side misused the protocol (a harness or client bug, never the target's fault)."""


class RemoteProtocolError(ProtocolError):
    """The peer broke requirement `requirement_id`."""

    def __init__(self, requirement_id: str, detail: str) -> None:
        super().__init__(f"{requirement_id}: {detail}")
        self.requirement_id = requirement_id
        self.detail = detail

    def to_violation(self, expected: str) -> SpecViolation:
        return SpecViolation(self.requirement_id, expected, self.detail)


class UsageError(RoomwireError):
    """Bad arguments or settings given by a person."""


class ConfigError(UsageError):
    """A setting is missing or invalid at start-up; the message names the setting and never its secret value."""


class HarnessError(RoomwireError):
    """The harness could not do its job; the results are incomplete."""


class TargetUnreachable(HarnessError):
    """The server under test could not be reached (connection refused, DNS, TLS, timeout on connect)."""
