"""The events kept for resume (RECON-004, RECON-005), under a count per room and a byte budget for all rooms.

Resume history is memory a client can make the server hold: every room name is free, every event up to
`max_frame_bytes`, and an emptied room keeps its history so that its members can come back. Without a global
bound one client fills the process (issue 13 finding 4: 1,000 emptied rooms x 100 big events was 3 GiB). So:

- each room keeps at most `per_room` events (its oldest go first);
- all rooms together keep at most `max_bytes` bytes: when an event would pass it, the oldest events of the whole
  process go first, whichever room holds them (a busy room cannot keep another's recent events hostage, and a
  room whose history is gone answers a later `since` with `complete: false`, as RECON-004 asks);
- a room that is forgotten (memory.py: empty too long, or too many empty rooms) releases its bytes at once.

What an event costs is measured, not guessed: `footprint` adds `sys.getsizeof` of the event, its strings and the
frames rendered for it, which the broker renders before keeping it (the frames are what a replay sends, and a
member renders them anyway). tests/reference/test_history.py checks with tracemalloc that the process holds no
more than the ledger says.

The order of eviction is one deque of (room history, seq) in publish order. Entries whose event has already left
its room (the per-room count, a forgotten room) stay in it until they reach its head or the deque is compacted
(when it holds more than twice the live events), so every operation is O(1) amortised. An entry holds the event's
`seq`, not the event: a dead entry that held the event kept it and its frames alive, outside the ledger's count,
until compaction; a reconnect storm that filled its rooms to `per_room` held twice the history the ledger
reported (docs/benchmarks.md, "Memory across reconnect storms").
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator

from roomwire.reference.rooms.broker import RoomEvent

#: What keeping one event adds besides the event itself: its (event, cost) tuple, the order's tuple, two slots.
_ENTRY_OVERHEAD = 2 * sys.getsizeof((None, None)) + 2 * 8


def footprint(event: RoomEvent) -> int:
    """Bytes `event` holds: the object, its strings and every distinct frame rendered for it (text and bytes)."""
    size = sys.getsizeof(event) + sys.getsizeof(event.frames) + _ENTRY_OVERHEAD
    for text in (event.content, event.nickname, event.id):
        if text is not None:
            size += sys.getsizeof(text)
    seen: set[int] = set()
    for frame in event.frames.values():
        if id(frame) not in seen:
            seen.add(id(frame))
            size += sys.getsizeof(frame) + sys.getsizeof(frame.text) + sys.getsizeof(frame.data)
    return size


class RoomHistory:
    """One room's kept events, oldest first, with what they cost."""

    __slots__ = ("entries", "bytes")

    def __init__(self) -> None:
        self.entries: deque[tuple[RoomEvent, int]] = deque()
        self.bytes = 0

    def events(self) -> list[RoomEvent]:
        return [event for event, _ in self.entries]

    def __len__(self) -> int:
        return len(self.entries)


class HistoryLedger:
    """Every room's kept events under `per_room` events each and `max_bytes` bytes together (module docstring)."""

    def __init__(self, *, per_room: int, max_bytes: int) -> None:
        self.per_room = per_room
        self.max_bytes = max_bytes
        self.bytes = 0
        self.events = 0
        self._order: deque[tuple[RoomHistory, int]] = deque()

    def keep(self, history: RoomHistory, event: RoomEvent) -> None:
        """Keep `event` (its frames already rendered) as `history`'s newest, then evict down to the bounds."""
        cost = footprint(event)
        if self.per_room <= 0 or cost > self.max_bytes:  # never kept: a later `since` over it is incomplete
            return
        while len(history.entries) >= self.per_room:
            self._pop_oldest(history)
        history.entries.append((event, cost))
        history.bytes += cost
        self.bytes += cost
        self.events += 1
        self._order.append((history, event.seq))
        while self.bytes > self.max_bytes and self._order:
            self._evict_oldest()
        if len(self._order) > 2 * self.events + 64:
            self._order = deque(entry for entry in self._order if _live(entry))

    def drop(self, history: RoomHistory) -> None:
        """Forget all of `history` (its room is forgotten); its entries in the order are dead from now on."""
        self.bytes -= history.bytes
        self.events -= len(history.entries)
        history.entries.clear()
        history.bytes = 0

    def _pop_oldest(self, history: RoomHistory) -> None:
        _, cost = history.entries.popleft()
        history.bytes -= cost
        self.bytes -= cost
        self.events -= 1

    def _evict_oldest(self) -> None:
        entry = self._order.popleft()
        if _live(entry):
            self._pop_oldest(entry[0])

    def __iter__(self) -> Iterator[tuple[RoomHistory, int]]:
        """Live entries (room history, seq), oldest first (for tests and diagnostics)."""
        return (entry for entry in self._order if _live(entry))


def _live(entry: tuple[RoomHistory, int]) -> bool:
    """Whether `entry`'s event is still kept: a room's events leave only from the front, in `seq` order."""
    history, seq = entry
    return bool(history.entries) and history.entries[0][0].seq <= seq
