"""Broken variants of issue 13's hardening rules: each breaks exactly one of them, as `connections` does for the
others (a `Connection` subclass overriding one seam, or a process-wide patch undone by its return value).
"""

from __future__ import annotations

import contextlib
import json

from roomwire.reference.connection import Connection
from roomwire.reference.frames import WireFrame
from roomwire.spec.messages import ClientPing
from roomwire.targets.broken.patches import Undo, _config_patch

#: ~1,000 levels of arrays: what the variant below sends, and what made the suite's parser recurse.
_DEEP = "[" * 1000 + "]" * 1000


class ParsesDeepFrames(Connection):
    """INPUT-009: every frame goes through a parser without a depth limit first, so ~1,000 levels of nesting
    raise `RecursionError` and the connection is closed with 1011 (the reference before issue 13)."""

    async def on_text(self, text: str) -> None:
        with contextlib.suppress(ValueError):  # bad JSON is the reference's to answer; RecursionError is not
            json.loads(text)
        await super().on_text(text)


class SendsDeepFrames(Connection):
    """FRAME-001 (nesting): before each pong, a frame nested ~1,000 levels deep, which the suite must report as a
    FRAME-001 failure, not crash on. The pong itself follows, so every check that pings still gets its answer."""

    def on_ping(self, frame: ClientPing) -> None:
        self.outbox.push(WireFrame('{"type":"pong","x-deep":' + _DEEP + "}", "pong"))
        super().on_ping(frame)


def no_control_budget() -> Undo:
    """LIMIT-007: pings, pongs and fragments are read and answered without limit (Hypercorn's own behaviour)."""
    return _config_patch(roomwire_control_rate=None)
