"""Validate a frame as it arrives on the wire and say which requirement a bad one breaks.

A verdict answers the question a server (and the conformance suite) needs answered: is this frame valid, and
if not, which SPEC.md requirement does it break, which error `code` must the server answer with, or which close
code must it close with. The checks run in the order a server meets them on the wire:

    binary frame?            -> INPUT-004, close 1003
    over max_frame_bytes?    -> LIMIT-001, close 1009 (a WebSocket stack refuses the frame before decoding it)
    not UTF-8?               -> INPUT-005, close 1007
    nested over 32 levels?   -> INPUT-009, error bad_json (measured without recursion, before any parser recurses)
    not a JSON object?       -> INPUT-001, error bad_json
    schema (client-frame)    -> INPUT-002 / INPUT-003 / IDENT-004 / LIMIT-002, from the schemas' `x-requirement`

`classify_client_frame` is the one way through a client text frame, for a server and for the suite alike: it
decides once whether the frame is bad JSON, a bad frame, of an unknown type, too long, or a typed message
(`ClientUserMsg`, `ClientAiMsg`, `ClientPing`), taking the microsecond fast path (fastcheck.py) for the
common valid frame and the schemas for everything else. `validate_client_payload` adds the WebSocket-level
rules in front of it (binary, size, UTF-8) and answers with a `Verdict`.

Server frames are checked against `server-frame.schema.json` only (FRAME-001); the stricter per-requirement
checks on server frames (seq, event, ...) live in `roomwire.spec.protocol`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from jsonschema import ValidationError

from roomwire.spec.codes import CLIENT_FRAME_TYPES, CloseCode, ErrorCode
from roomwire.spec.fastcheck import fast_client_frame, may_hold_surrogate, over_length
from roomwire.spec.limits import DEFAULT_LIMITS, MAX_JSON_DEPTH
from roomwire.spec.messages import ClientFrame, parse_client_frame
from roomwire.spec.schemas import CLIENT_FRAME, SERVER_FRAME, validator

#: When several requirements are broken at once, the verdict names the first of these that applies.
_PRECEDENCE = (
    *("INPUT-004", "INPUT-005", "LIMIT-001", "INPUT-009", "INPUT-001"),
    *("INPUT-002", "IDENT-004", "INPUT-003", "LIMIT-002"),
)


@dataclass(frozen=True)
class Violation:
    """One way in which a frame breaks the spec."""

    requirement_id: str
    message: str
    path: str = ""  # JSON pointer into the frame, "" for the frame itself


@dataclass(frozen=True)
class Verdict:
    """The outcome of validating one frame. `frame` is the parsed object when the payload was a JSON object."""

    violations: tuple[Violation, ...] = ()
    frame: dict[str, Any] | None = None
    error_code: ErrorCode | None = None
    close_code: CloseCode | None = None

    @property
    def valid(self) -> bool:
        return not self.violations

    @property
    def requirement_id(self) -> str | None:
        """The requirement the frame breaks first (see `_PRECEDENCE`); None for a valid frame."""
        if not self.violations:
            return None
        broken = {v.requirement_id for v in self.violations}
        for requirement in _PRECEDENCE:
            if requirement in broken:
                return requirement
        return self.violations[0].requirement_id


def _decode(payload: str | bytes) -> str | Verdict:
    if isinstance(payload, str):
        return payload
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Verdict(
            violations=(Violation("INPUT-005", f"text frame is not valid UTF-8 ({exc.reason})"),),
            close_code=CloseCode.INVALID_PAYLOAD,
        )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259)")


#: One decoder for every frame: `json.loads(text, parse_constant=...)` builds a `JSONDecoder` (and scanner) per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_BOM = "\ufeff"


class NotJsonObject(ValueError):
    """A text frame that is not one JSON object (INPUT-001, FRAME-001); the message says why, in one line."""


class TooDeep(NotJsonObject):
    """A text frame nested deeper than `MAX_JSON_DEPTH` (INPUT-009): refused before a recursive parser sees it."""


#: A JSON string (skipped whole: brackets inside it do not nest) or one bracket.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def nests_deeper(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the arrays and objects of `text` nest deeper than `limit` (SPEC.md §2, "Nesting").

    Python's JSON decoder, jsonschema and any walk over the value recurse once per level: ~1,000 levels in a
    3 KB frame raise `RecursionError` (issue 13, finding 1). This scan never recurses. A text with at most
    `limit` opening brackets cannot be deeper, which settles the common frame with two `str.count` calls.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        bracket = match.group()[0]
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        elif bracket != '"':
            depth -= 1
    return False


def load_json_object(text: str) -> dict[str, Any]:
    """The JSON object in `text` (NaN and Infinity are not JSON, RFC 8259), nested at most `MAX_JSON_DEPTH` deep.

    Raises:
        TooDeep: `text` nests deeper than `MAX_JSON_DEPTH` (whether or not it is JSON otherwise).
        NotJsonObject: `text` is not JSON, or JSON but not an object.
    """
    if nests_deeper(text):
        raise TooDeep(f"nested deeper than {MAX_JSON_DEPTH} levels (SPEC.md §2, Nesting)")
    try:
        if text.startswith(_BOM):  # what `json.loads` says, which `JSONDecoder.decode` does not check
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _DECODER.decode(text)
    except ValueError as exc:
        raise NotJsonObject(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise NotJsonObject(f"JSON {type(value).__name__}, not an object")
    return value


def _requirement_of(error: ValidationError, default: str) -> str:
    annotated = error.schema.get("x-requirement") if isinstance(error.schema, dict) else None
    return annotated if isinstance(annotated, str) else default


_MESSAGE_CHARS = 200


def _message(error: ValidationError) -> str:
    """jsonschema quotes the whole instance; a 60 KB frame must not become a 60 KB report line."""
    text = error.message
    return text if len(text) <= _MESSAGE_CHARS else f"{text[: _MESSAGE_CHARS - 20]}… ({error.validator} failed)"


def _pointer(error: ValidationError) -> str:
    return "".join(f"/{part}" for part in error.absolute_path)


def _lone_surrogates(value: Any, path: str = "") -> list[str]:
    """JSON pointers of strings holding an unpaired surrogate (SPEC.md §2: strings are text, I-JSON)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return [path]
        return []
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _lone_surrogates(item, f"{path}/{key}")]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _lone_surrogates(item, f"{path}/{index}")]
    return []


def validate_client_frame(frame: dict[str, Any]) -> Verdict:
    """Validate an already-parsed client frame against `client-frame.schema.json` and SPEC.md §2's text rule."""
    violations = tuple(
        Violation(_requirement_of(error, "INPUT-003"), _message(error), _pointer(error))
        for error in validator(CLIENT_FRAME).iter_errors(frame)
    ) + tuple(
        Violation("INPUT-003", "string holds an unpaired surrogate (not text: I-JSON, RFC 7493)", path)
        for path in _lone_surrogates(frame)
    )
    if not violations:
        return Verdict(frame=frame)
    frame_type = frame.get("type")
    if not isinstance(frame_type, str):
        code = ErrorCode.BAD_FRAME  # INPUT-002: missing or non-string type
    elif frame_type not in CLIENT_FRAME_TYPES:
        code = ErrorCode.UNKNOWN_TYPE
    elif all(v.requirement_id == "LIMIT-002" for v in violations):
        code = ErrorCode.TOO_LONG
    else:
        code = ErrorCode.BAD_FRAME
    return Verdict(violations=violations, frame=frame, error_code=code)


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A client text frame the server must answer with an error notice (and, for an ai_msg, `ai_done` rejected).

    `code` is the notice's: `bad_json` (INPUT-001), `bad_frame` (INPUT-002/003, IDENT-004), `unknown_type`
    (INPUT-002) or `too_long` (LIMIT-002). `data` is the parsed object (None when the text was not one), for the
    frame's `id` (INPUT-006); `verdict` names the requirement it breaks, and why.
    """

    code: ErrorCode
    data: dict[str, Any] | None
    verdict: Verdict


def classify_client_frame(text: str, max_chars: int = DEFAULT_LIMITS.max_content_chars) -> ClientFrame | BadFrame:
    """What one client text frame is, decided once: a typed message, or a `BadFrame` saying why not.

    `max_chars` is the server's `max_content_chars` (at most the schemas' 2000); a longer `content` or history
    item is `too_long` (LIMIT-002) even where the schemas would allow it. The common valid frame takes the fast
    path (fastcheck.py), unless its text escapes a surrogate, which only the schema step's text rule may judge.
    """
    try:
        data = load_json_object(text)
    except NotJsonObject as exc:
        requirement = "INPUT-009" if isinstance(exc, TooDeep) else "INPUT-001"
        return BadFrame(
            ErrorCode.BAD_JSON, None, Verdict((Violation(requirement, str(exc)),), None, ErrorCode.BAD_JSON)
        )
    if not may_hold_surrogate(text):
        frame = fast_client_frame(data, max_chars)
        if frame is not None:
            return frame
    verdict = validate_client_frame(data)  # the schemas' verdict, and its error code
    if verdict.error_code is not None:
        return BadFrame(verdict.error_code, data, verdict)
    if over_length(data, max_chars):  # LIMIT-002 under a configured limit below the schemas'
        violation = Violation("LIMIT-002", f"a content is longer than max_content_chars={max_chars}")
        return BadFrame(ErrorCode.TOO_LONG, data, Verdict((violation,), data, ErrorCode.TOO_LONG))
    return parse_client_frame(data)


def validate_client_payload(
    payload: str | bytes, *, binary: bool = False, max_frame_bytes: int = DEFAULT_LIMITS.max_frame_bytes
) -> Verdict:
    """Validate a client frame as received: `payload` is the frame's data, `binary` its opcode.

    Text-frame data may be given as `bytes` (to test invalid UTF-8) or `str`.
    """
    if binary:
        return Verdict(
            violations=(Violation("INPUT-004", "binary frame; the protocol is JSON text only"),),
            close_code=CloseCode.UNSUPPORTED_DATA,
        )
    size = len(payload) if isinstance(payload, bytes) else len(payload.encode("utf-8", "surrogatepass"))
    if size > max_frame_bytes:
        return Verdict(
            violations=(Violation("LIMIT-001", f"frame of {size} bytes exceeds max_frame_bytes={max_frame_bytes}"),),
            close_code=CloseCode.MESSAGE_TOO_BIG,
        )
    text = _decode(payload)
    if isinstance(text, Verdict):
        return text
    classified = classify_client_frame(text)
    if isinstance(classified, BadFrame):
        return classified.verdict
    return Verdict(frame=load_json_object(text))  # a valid verdict carries the parsed object


def validate_server_frame(frame: dict[str, Any]) -> Verdict:
    """Validate an already-parsed server frame against `server-frame.schema.json` (FRAME-001)."""
    violations = tuple(
        Violation(_requirement_of(error, "FRAME-001"), _message(error), _pointer(error))
        for error in validator(SERVER_FRAME).iter_errors(frame)
    )
    return Verdict(violations=violations, frame=frame)


def validate_server_payload(payload: str | bytes, *, binary: bool = False) -> Verdict:
    """Validate a frame a server sent (FRAME-001: a text frame holding one valid JSON object)."""
    if binary:
        return Verdict(violations=(Violation("FRAME-001", "the server sent a binary frame"),))
    text = _decode(payload)
    if isinstance(text, Verdict):
        return Verdict(violations=(Violation("FRAME-001", "the server sent a text frame that is not UTF-8"),))
    try:
        parsed = load_json_object(text)
    except NotJsonObject as exc:
        return Verdict(violations=(Violation("FRAME-001", f"the server sent a frame that is {exc}"),))
    return validate_server_frame(parsed)
