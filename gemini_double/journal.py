"""The journal: every Gemini request as received and what the double did with it. Pure state.

An entry is opened when a request arrives and completed while it runs, so a reader can see a stream in
progress (chunk times grow, `finished_ms` is None until the end). Entries never hold a key: only where it was
and its fingerprint (`keys.KeyInfo.to_json`). The journal is bounded (`DoubleConfig.journal_limit`); the oldest
entries go first. Times: `received_ms`, `chunk_times_ms` and `finished_ms` are `time.monotonic()` in ms, so a
test in the same process can compare them with its own clock; `time` is wall-clock ISO 8601 for humans.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import asdict, dataclass, field


@dataclass
class JournalEntry:
    """One request. Fields that do not apply stay None.

    `outcome` is one of: ok, quota_exceeded, missing_key, invalid_key, bad_request, not_found, and for queued
    faults the fault's kind (`faults.KINDS`). `thoughts_tokens` is the thinking the double reported (0 for models
    that do not think). `disconnected` is True when the client went away before the
    response ended (SPEC AI-011: the reference must cancel upstream when its user leaves).
    """

    seq: int
    time: str
    received_ms: float
    http_method: str
    path: str
    query: dict[str, str]
    key: dict[str, object]
    headers: dict[str, str]
    api_version: str | None = None
    method: str | None = None
    model: str | None = None
    system_instruction: object = None
    contents: object = None
    generation_config: object = None
    last_user_text: str | None = None
    fault: dict[str, object] | None = None
    status: int | None = None
    outcome: str | None = None
    error_message: str | None = None
    finish_reason: str | None = None
    answer_text: str | None = None
    thoughts_tokens: int = 0
    sent_text: str = ""
    sent_chunks: list[str] = field(default_factory=list)  # the text of each streamed chunk (sent_text, cut up)
    chunks_planned: int = 0
    chunk_times_ms: list[float] = field(default_factory=list)
    disconnected: bool = False
    finished_ms: float | None = None
    held_ms: float | None = None  # a `hold` fault: how long the rest of the stream was held back
    hold_end: str | None = None  # and what ended the hold: released, timeout (its hold_s) or interrupted

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class Journal:
    """Bounded, in arrival order."""

    def __init__(self, limit: int = 10_000) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=limit)
        self._seq = itertools.count(1)

    def open(
        self,
        *,
        time: str,
        received_ms: float,
        http_method: str,
        path: str,
        query: dict[str, str],
        key: dict[str, object],
        headers: dict[str, str],
    ) -> JournalEntry:
        """Record a new request and return its entry, to be completed as the request runs."""
        entry = JournalEntry(
            seq=next(self._seq),
            time=time,
            received_ms=received_ms,
            http_method=http_method,
            path=path,
            query=query,
            key=key,
            headers=headers,
        )
        self._entries.append(entry)
        return entry

    def entries(self, match: str | None = None) -> list[dict[str, object]]:
        """All entries as JSON, oldest first; with `match`, only those whose last user turn contains it."""
        return [
            entry.to_json()
            for entry in list(self._entries)
            if match is None or (entry.last_user_text is not None and match in entry.last_user_text)
        ]

    def clear(self) -> None:
        self._entries.clear()

    def resize(self, limit: int) -> None:
        """Keep at most `limit` entries from now on (the newest, when shrinking)."""
        if limit != self._entries.maxlen:
            self._entries = deque(self._entries, maxlen=limit)
