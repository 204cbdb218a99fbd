"""A client payload together with the verdict SPEC.md demands for it.

Invalid frames come from two places, the hand-written fixtures (`roomwire.fixtures`) and the generated near
misses (`roomwire.spec.strategies`), and go to three: the spec's own tests, the reference server's tests and
the conformance suite, which replays them against a live server. All of them need the same record: the bytes
to send, whether they go in a binary frame, and the answer the server owes: an error notice with a `code`, or
a close with a code (never both). `LabelledPayload` is that record, and `mismatch` compares it with what
`roomwire.spec.validate` says, so a label and the validator can never drift apart unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass

from roomwire.spec.codes import CloseCode, ErrorCode
from roomwire.spec.limits import DEFAULT_LIMITS
from roomwire.spec.validate import Verdict, validate_client_payload


@dataclass(frozen=True, kw_only=True)
class LabelledPayload:
    """One client payload and its expected verdict: `requirement_id` plus exactly one of the two codes.

    `payload` is what goes on the wire: `str` for a text frame, `bytes` for a text frame whose bytes matter
    (invalid UTF-8) or for a binary frame (`binary=True`).
    """

    name: str
    payload: str | bytes
    requirement_id: str
    error_code: ErrorCode | None = None
    close_code: CloseCode | None = None
    binary: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if (self.error_code is None) == (self.close_code is None):
            raise ValueError(f"{self.name}: give exactly one of error_code and close_code")

    @property
    def expected(self) -> str:
        """The expected verdict in words, e.g. `INPUT-001, error bad_json` or `INPUT-004, close 1003`."""
        if self.error_code is not None:
            return f"{self.requirement_id}, error {self.error_code.value}"
        return f"{self.requirement_id}, close {int(self.close_code or 0)}"

    @property
    def data(self) -> bytes:
        """The frame's data as bytes (text payloads in UTF-8; lone surrogates kept as the wire would carry them)."""
        if isinstance(self.payload, bytes):
            return self.payload
        return self.payload.encode("utf-8", "surrogatepass")

    def verdict(self, *, max_frame_bytes: int = DEFAULT_LIMITS.max_frame_bytes) -> Verdict:
        """What `roomwire.spec.validate` says about this payload: a text frame goes through
        `classify_client_frame`, the step a server takes (the reference's `on_text` calls it too)."""
        return validate_client_payload(self.payload, binary=self.binary, max_frame_bytes=max_frame_bytes)

    def mismatch(self, verdict: Verdict) -> str | None:
        """None when `verdict` is exactly the labelled one; otherwise Expected vs Actual in one line."""
        actual = describe(verdict)
        return None if actual == self.expected else f"{self.name}: expected {self.expected}; got {actual}"


def describe(verdict: Verdict) -> str:
    """A verdict in the words of `LabelledPayload.expected` (`valid` for a valid frame)."""
    if verdict.valid:
        return "valid"
    parts = [verdict.requirement_id or "?"]
    if verdict.error_code is not None:
        parts.append(f"error {verdict.error_code.value}")
    if verdict.close_code is not None:
        parts.append(f"close {int(verdict.close_code)}")
    return ", ".join(parts)
