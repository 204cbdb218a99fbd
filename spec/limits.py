"""The limits of SPEC.md §10: defaults the reference ships, bounds every server must keep, and their wire form.

`Limits` is what `welcome.limits` carries (CONN-006). The reference builds its settings from these defaults;
the conformance suite reads a target's advertised values and checks them against `BOUNDS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

#: Spec limits that are not advertised because they are not configurable.
MAX_HISTORY_ITEMS_IN_FRAME = 50  # LIMIT-002
MAX_NICKNAME_CHARS = 32  # SPEC.md §4
ROOM_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # SPEC.md §1
CLIENT_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"  # SPEC.md §2.1
ENDPOINT_PATH = "/api/v1/ws/chat/{room_id}"  # CONN-001
LEAVE_DEADLINE_S = 5.0  # PRES-002, PRES-003
HALF_OPEN_DEADLINE_S = 60.0  # PRES-004
RESUME_HISTORY_DEFAULT = 100  # RECON-004
FLOOD_WINDOW_S = 10.0  # LIMIT-004
MAX_PENDING_PER_ADDRESS = 64  # LIMIT-009: connections of one address that are not (yet) WebSockets
MAX_REQUEST_TIMEOUT_S = 30.0  # LIMIT-009: the longest a server may wait for a complete request
MAX_JSON_DEPTH = 32  # SPEC.md §2 "Nesting": arrays and objects, the frame itself is level 1 (INPUT-009)


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Values a server enforces and advertises in `welcome.limits` (SPEC.md §10)."""

    max_frame_bytes: int = 65536
    max_content_chars: int = 2000
    max_history_items: int = 10
    rate_per_s: int = 10
    burst: int = 20
    ai_budget_rpm: int = 10
    ping_interval_s: int = 20
    ping_timeout_s: int = 20
    ai_timeout_s: int = 30
    send_queue_bytes: int = 1048576
    room_capacity: int = 500
    control_per_s: int = 5
    control_burst: int = 50
    join_burst: int = 30
    join_rate_per_min: int = 60

    def to_json(self) -> dict[str, int]:
        # Every welcome carries these (CONN-003); `dataclasses.asdict` deep-copies each int: 13 µs against 1.
        return {field.name: getattr(self, field.name) for field in _FIELDS}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Limits:
        """Read advertised limits; members that are absent or not integers keep their defaults."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known and isinstance(v, int) and not isinstance(v, bool)}
        return cls(**values)

    def out_of_bounds(self) -> list[str]:
        """Members that break SPEC.md §10's bounds, as `name=value (bound)` texts; empty when all are within."""
        problems = []
        for name, (low, high) in BOUNDS.items():
            value = getattr(self, name)
            if (low is not None and value < low) or (high is not None and value > high):
                problems.append(f"{name}={value} (allowed {low if low is not None else '-'}..{high or '-'})")
        if self.burst < self.rate_per_s:
            problems.append(f"burst={self.burst} (must be >= rate_per_s={self.rate_per_s})")
        if self.control_burst < self.control_per_s:
            problems.append(f"control_burst={self.control_burst} (must be >= control_per_s={self.control_per_s})")
        return problems


DEFAULT_LIMITS = Limits()

#: (lowest, highest) allowed value of each member; None means unbounded on that side (SPEC.md §10).
BOUNDS: dict[str, tuple[int | None, int | None]] = {
    "max_frame_bytes": (8192, 1048576),
    "max_content_chars": (200, 2000),  # the schemas hard-code 2000: a larger limit would make valid frames invalid
    "max_history_items": (1, 50),
    "rate_per_s": (1, None),
    "burst": (1, None),
    "ai_budget_rpm": (1, None),
    "ping_interval_s": (1, 30),
    "ping_timeout_s": (1, 30),
    "ai_timeout_s": (1, 60),
    "send_queue_bytes": (65536, None),
    "room_capacity": (2, None),
    "control_per_s": (1, None),
    "control_burst": (10, None),
    "join_burst": (30, None),
    "join_rate_per_min": (1, None),
}

_FIELDS = dataclasses.fields(Limits)
#: Members added in protocol 1.1 (issue 13): a welcome may lack them, and then a client assumes the defaults.
OPTIONAL_MEMBERS = frozenset({"control_per_s", "control_burst", "join_burst", "join_rate_per_min"})
#: Members every welcome carries (CONN-006).
REQUIRED_MEMBERS = tuple(name for name in BOUNDS if name not in OPTIONAL_MEMBERS)
