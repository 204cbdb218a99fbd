"""Evidence: a timestamped transcript of every frame each connection sent and received, and a leak watch.

Each client connection of a check gets a `Transcript`. Times are seconds since the run started (one
monotonic clock for the whole run, so frames of different connections interleave correctly in a report).
Texts are kept up to `KEEP_CHARS` (head and tail) so that a flood of 64 KB frames stays cheap; the full text
of every received frame and close reason is searched once, on arrival, for the watched secrets (`LeakWatch`),
which is how SEC-003 can say "the canary key appeared in frame #7 of connection B of check X".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

KEEP_CHARS = 600


class Clock:
    """Seconds since the run started, plus the wall-clock start for humans."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.started_wall = datetime.now(UTC)

    def now(self) -> float:
        return time.monotonic() - self.started


def clip(text: str, keep: int = KEEP_CHARS) -> str:
    """Head and tail of a long text, with how much was left out."""
    if len(text) <= keep:
        return text
    half = keep // 2
    return f"{text[:half]}…[{len(text) - 2 * half} chars]…{text[-half:]}"


@dataclass(frozen=True)
class Event:
    """One line of a transcript: `>` sent by the suite, `<` received from the target, `*` a note."""

    at: float
    direction: str
    text: str

    def to_json(self) -> dict[str, object]:
        return {"t": round(self.at, 4), "dir": self.direction, "text": self.text}

    def render(self) -> str:
        return f"{self.at:9.3f}s {self.direction} {self.text}"


@dataclass
class Transcript:
    """What one connection of one check saw, in order."""

    label: str
    url: str
    clock: Clock
    events: list[Event] = field(default_factory=list)
    frames_in: int = 0  # every frame the target sent on this connection (bulk ones are counted, not written)

    def _add(self, direction: str, text: str) -> None:
        self.events.append(Event(self.clock.now(), direction, clip(text)))

    def sent(self, text: str) -> None:
        self._add(">", text)

    def received(self, text: str) -> None:
        self._add("<", text)

    def note(self, text: str) -> None:
        self._add("*", text)

    def to_json(self, limit: int | None = None) -> dict[str, object]:
        events = self.events if limit is None else self.events[-limit:]
        return {
            "connection": self.label,
            "url": self.url,
            "omitted": len(self.events) - len(events),
            "events": [e.to_json() for e in events],
        }

    def render(self, limit: int = 40) -> list[str]:
        events = self.events[-limit:]
        lines = [f"connection {self.label} ({self.url})"]
        if len(events) < len(self.events):
            lines.append(f"  … {len(self.events) - len(events)} earlier events omitted")
        lines += [f"  {event.render()}" for event in events]
        return lines


@dataclass(frozen=True)
class Sighting:
    """A watched secret seen somewhere the spec forbids it."""

    secret_name: str
    where: str  # "frame", "close reason", "HTTP GET /healthz body", ...
    check: str
    connection: str
    excerpt: str


class LeakWatch:
    """Secrets (the canary key, upstream error markers) searched for in everything the target sends us."""

    def __init__(self) -> None:
        self._secrets: dict[str, str] = {}
        self.sightings: list[Sighting] = []
        self.searched = 0

    def watch(self, name: str, secret: str) -> None:
        if secret:
            self._secrets[name] = secret

    def secrets(self) -> dict[str, str]:
        return dict(self._secrets)

    def scan(self, text: str, *, where: str, check: str, connection: str) -> list[Sighting]:
        """Record and return the sightings of any watched secret in `text`."""
        self.searched += 1
        found = []
        for name, secret in self._secrets.items():
            position = text.find(secret)
            if position >= 0:
                start = max(0, position - 40)
                excerpt = text[start : position + len(secret) + 40].replace(secret, f"«{name}»")
                found.append(Sighting(name, where, check, connection, excerpt))
        self.sightings.extend(found)
        return found

    def mask(self, text: str) -> str:
        """`text` with every watched secret replaced by its name: reports never carry the secret itself."""
        for name, secret in self._secrets.items():
            text = text.replace(secret, f"«{name}»")
        return text
