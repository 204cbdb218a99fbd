"""Hypothesis strategies: valid frames from the JSON Schemas, and near misses labelled with their verdict.

Valid frames come from the schemas themselves (`roomwire.spec.schema_strategies`, on hypothesis-jsonschema;
its docstring says what had to be done around it), so a schema change changes what is generated. A "near miss"
is a valid client frame with exactly one thing broken, paired with the verdict SPEC.md demands for it
(`LabelledPayload`: requirement, error code or close code). They serve three kinds of tests: the spec's
own (`roomwire.spec.validate` gives every near miss exactly its label), the reference server's, and the
conformance suite's fuzzing of a live server.

    client_frames(type=None)         dicts a server must accept (valid and within max_frame_bytes)
    server_frames(type=None)         dicts valid against server-frame.schema.json
    near_miss_client_payloads(kinds) LabelledPayload, one mutation away from a valid client frame
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import cache
from typing import Any

from hypothesis import strategies as st

from roomwire.spec.cases import LabelledPayload
from roomwire.spec.codes import CLIENT_FRAME_TYPES, SERVER_FRAME_TYPES, CloseCode, ErrorCode, FrameType
from roomwire.spec.errors import LocalProtocolError
from roomwire.spec.limits import DEFAULT_LIMITS, MAX_HISTORY_ITEMS_IN_FRAME, MAX_NICKNAME_CHARS
from roomwire.spec.schema_strategies import bundled, schema_strategy
from roomwire.spec.schemas import frame_schema_name, schema, validator

Frame = dict[str, Any]

#: Near misses start from frames at most this large, so that a mutation never reaches max_frame_bytes by accident.
_BASE_FRAME_BYTES = 16384


def encoded(frame: Any) -> str:
    """A frame as compact JSON text, the way `roomwire.spec.messages.encode` and the seed's page send it."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def size(frame: Frame) -> int:
    return len(encoded(frame).encode("utf-8"))


@cache
def _typed(direction: str, frame_type: str) -> st.SearchStrategy[Frame]:
    name = frame_schema_name(direction, frame_type)
    return schema_strategy(bundled(name)).filter(validator(name).is_valid)


def _types(frame_type: str | None, allowed: frozenset[FrameType], direction: str) -> list[str]:
    if frame_type is None:
        return sorted(allowed)
    if frame_type not in allowed:
        raise LocalProtocolError(f"{frame_type!r} is not a {direction} frame type ({', '.join(sorted(allowed))})")
    return [frame_type]


def client_frames(
    frame_type: str | None = None, *, max_frame_bytes: int = DEFAULT_LIMITS.max_frame_bytes
) -> st.SearchStrategy[Frame]:
    """Client frames a server must accept: valid against the schemas and no larger than `max_frame_bytes`."""
    strategies = [_typed("client", name) for name in _types(frame_type, CLIENT_FRAME_TYPES, "client")]
    return st.one_of(strategies).filter(lambda frame: size(frame) <= max_frame_bytes)


def server_frames(frame_type: str | None = None) -> st.SearchStrategy[Frame]:
    """Server frames valid against server-frame.schema.json (FRAME-001); `system` frames of every `event`."""
    return st.one_of([_typed("server", name) for name in _types(frame_type, SERVER_FRAME_TYPES, "server")])


class NearMiss(StrEnum):
    """The kinds of near miss; each names the one thing broken."""

    MISSING_TYPE = "missing_type"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    EMPTY_CONTENT = "empty_content"
    BAD_ID = "bad_id"
    BAD_ROLE = "bad_role"
    UNKNOWN_TYPE = "unknown_type"
    BAD_NICKNAME = "bad_nickname"
    CONTENT_TOO_LONG = "content_too_long"
    HISTORY_TOO_LONG = "history_too_long"
    NOT_OBJECT = "not_object"
    BROKEN_JSON = "broken_json"
    NAN = "nan"
    OVERSIZED = "oversized"
    INVALID_UTF8 = "invalid_utf8"
    BINARY = "binary"


def _bad_frame(kind: NearMiss, frame: Frame, requirement: str, what: str, code: ErrorCode) -> LabelledPayload:
    return LabelledPayload(
        name=f"near-miss/{kind.value}",
        payload=encoded(frame),
        requirement_id=requirement,
        error_code=code,
        description=what,
    )


def _base(*types: str) -> st.SearchStrategy[Frame]:
    return st.one_of([_typed("client", name) for name in types]).filter(lambda f: size(f) <= _BASE_FRAME_BYTES)


_NON_STRINGS: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.just([]), st.just({})
)
_NON_ARRAYS: st.SearchStrategy[Any] = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
#: Known fields each client type defines, with the requirement a wrongly typed value breaks.
_FIELDS = {
    "user_msg": {"type": "INPUT-002", "content": "INPUT-003", "nickname": "IDENT-004", "id": "INPUT-003"},
    "ai_msg": {"type": "INPUT-002", "content": "INPUT-003", "nickname": "IDENT-004", "id": "INPUT-003"}
    | {"history": "INPUT-003"},
    "ping": {"type": "INPUT-002", "id": "INPUT-003"},
}


@st.composite
def _wrong_type(draw: st.DrawFn) -> LabelledPayload:
    frame = dict(draw(_base(*_FIELDS)))
    frame_type = frame["type"]
    field, requirement = draw(st.sampled_from(sorted(_FIELDS[frame_type].items())))
    frame[field] = draw(_NON_ARRAYS if field == "history" else _NON_STRINGS)
    what = f"{frame_type} whose {field} is {type(frame[field]).__name__}"
    return _bad_frame(NearMiss.WRONG_TYPE, frame, requirement, what, ErrorCode.BAD_FRAME)


@st.composite
def _missing(draw: st.DrawFn) -> LabelledPayload:
    frame = dict(draw(_base("user_msg", "ai_msg")))
    if frame["type"] == "ai_msg" and draw(st.booleans()):
        field = draw(st.sampled_from(["role", "content"]))
        item = {"role": "user", "content": "안녕?"}
        del item[field]
        frame["history"] = [*frame.get("history", [])[:5], item]
        what = f"ai_msg whose last history item has no {field}"
    else:
        del frame["content"]
        what = f"{frame['type']} without content"
    return _bad_frame(NearMiss.MISSING_FIELD, frame, "INPUT-003", what, ErrorCode.BAD_FRAME)


@st.composite
def _missing_type(draw: st.DrawFn) -> LabelledPayload:
    frame = dict(draw(_base(*CLIENT_FRAME_TYPES)))
    del frame["type"]
    return _bad_frame(NearMiss.MISSING_TYPE, frame, "INPUT-002", "frame without type", ErrorCode.BAD_FRAME)


@st.composite
def _empty_content(draw: st.DrawFn) -> LabelledPayload:
    frame = dict(draw(_base("user_msg", "ai_msg")), content="")
    return _bad_frame(NearMiss.EMPTY_CONTENT, frame, "INPUT-003", "empty content", ErrorCode.BAD_FRAME)


_BAD_IDS = st.one_of(
    st.just(""),
    st.just("x" * 65),
    st.sampled_from(["a b", "m-1\n", "메시지", "id/1", "#1", "a\x00"]),
)


@st.composite
def _bad_id(draw: st.DrawFn) -> LabelledPayload:
    frame = dict(draw(_base(*CLIENT_FRAME_TYPES)), id=draw(_BAD_IDS))
    return _bad_frame(NearMiss.BAD_ID, frame, "INPUT-003", f"id {frame['id']!r}", ErrorCode.BAD_FRAME)


@st.composite
def _bad_role(draw: st.DrawFn) -> LabelledPayload:
    frame = dict(draw(_base("ai_msg")))
    other = st.text(max_size=6).filter(lambda role: role not in ("user", "model"))
    role = draw(st.sampled_from(["assistant", "system", "User", "MODEL", ""]) | other)
    frame["history"] = [*frame.get("history", [])[:5], {"role": role, "content": "안녕?"}]
    return _bad_frame(NearMiss.BAD_ROLE, frame, "INPUT-003", "history item with an unknown role", ErrorCode.BAD_FRAME)


_SERVER_ONLY = sorted(SERVER_FRAME_TYPES - CLIENT_FRAME_TYPES)


@st.composite
def _unknown_type(draw: st.DrawFn) -> LabelledPayload:
    frame = dict(draw(_base(*CLIENT_FRAME_TYPES)))
    spelled = st.sampled_from(["User_msg", "user_msg ", "AI_MSG", "", "chat", *_SERVER_ONLY])
    frame["type"] = draw((spelled | st.text(max_size=12)).filter(lambda t: t not in CLIENT_FRAME_TYPES))
    what = f"unknown type {frame['type']!r}"
    return _bad_frame(NearMiss.UNKNOWN_TYPE, frame, "INPUT-002", what, ErrorCode.UNKNOWN_TYPE)


@cache
def _nicknames() -> st.SearchStrategy[str]:
    return schema_strategy(schema("common.schema.json")["$defs"]["nickname"])


@st.composite
def _bad_nickname(draw: st.DrawFn) -> LabelledPayload:
    frame = dict(draw(_base("user_msg", "ai_msg")))
    name = draw(_nicknames())
    how = draw(st.sampled_from(["empty", "lead", "trail", "control", "long"]))
    if how == "empty":
        name = ""
    elif how in ("lead", "trail"):
        space = draw(st.sampled_from([" ", "\t", "\u3000"]))
        name = space + name if how == "lead" else name + space
    elif how == "control":
        at = draw(st.integers(0, len(name)))
        name = name[:at] + draw(st.sampled_from(["\x00", "\n", "\x1b", "\x7f", "\x85"])) + name[at:]
    else:
        name = name + "x" * (MAX_NICKNAME_CHARS + 1 - len(name))
    frame["nickname"] = name
    return _bad_frame(NearMiss.BAD_NICKNAME, frame, "IDENT-004", f"nickname {name!r} ({how})", ErrorCode.BAD_FRAME)


def _max_content_chars() -> int:
    return int(schema("common.schema.json")["$defs"]["content"]["allOf"][0]["maxLength"])


_FILL = st.sampled_from(["x", "가", "😀", "ab"])


@st.composite
def _content_too_long(draw: st.DrawFn) -> LabelledPayload:
    frame = dict(draw(_base("user_msg", "ai_msg")))
    chars = _max_content_chars() + draw(st.integers(1, 50))
    text = (draw(_FILL) * chars)[:chars]
    if frame["type"] == "ai_msg" and draw(st.booleans()):
        frame["history"] = [*frame.get("history", [])[:5], {"role": "model", "content": text}]
        what = f"history item of {chars} characters"
    else:
        frame["content"] = text
        what = f"content of {chars} characters"
    return _bad_frame(NearMiss.CONTENT_TOO_LONG, frame, "LIMIT-002", what, ErrorCode.TOO_LONG)


@st.composite
def _history_too_long(draw: st.DrawFn) -> LabelledPayload:
    frame = dict(draw(_base("ai_msg")))
    count = MAX_HISTORY_ITEMS_IN_FRAME + draw(st.integers(1, 20))
    roles = ("user", "model")
    frame["history"] = [{"role": roles[i % 2], "content": f"턴 {i}"} for i in range(count)]
    return _bad_frame(NearMiss.HISTORY_TOO_LONG, frame, "LIMIT-002", f"{count} history items", ErrorCode.TOO_LONG)


def _bad_json(kind: NearMiss, text: str, what: str) -> LabelledPayload:
    return LabelledPayload(
        name=f"near-miss/{kind.value}",
        payload=text,
        requirement_id="INPUT-001",
        error_code=ErrorCode.BAD_JSON,
        description=what,
    )


@st.composite
def _not_object(draw: st.DrawFn) -> LabelledPayload:
    frame = draw(_base(*CLIENT_FRAME_TYPES))
    value = draw(st.one_of(st.just([frame]), st.just(encoded(frame)), _NON_STRINGS.filter(lambda v: v != {})))
    return _bad_json(NearMiss.NOT_OBJECT, encoded(value), f"JSON {type(value).__name__}, not an object")


@st.composite
def _broken_json(draw: st.DrawFn) -> LabelledPayload:
    text = encoded(draw(_base(*CLIENT_FRAME_TYPES)))
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(text) - 1))
        return _bad_json(NearMiss.BROKEN_JSON, text[:cut], f"frame cut after {cut} characters")
    junk = draw(st.sampled_from(["}", ",", "x", "{}", "]", "\x00"]))
    return _bad_json(NearMiss.BROKEN_JSON, text + junk, f"frame followed by {junk!r}")


@st.composite
def _nan(draw: st.DrawFn) -> LabelledPayload:
    text = encoded(draw(_base(*CLIENT_FRAME_TYPES)))
    constant = draw(st.sampled_from(["NaN", "Infinity", "-Infinity"]))
    return _bad_json(NearMiss.NAN, f'{text[:-1]},"score":{constant}}}', f"{constant} as a value")


def _oversized(max_frame_bytes: int) -> st.SearchStrategy[LabelledPayload]:
    @st.composite
    def build(draw: st.DrawFn) -> LabelledPayload:
        frame = dict(draw(_base(*CLIENT_FRAME_TYPES)), pad="")
        target = max_frame_bytes + draw(st.integers(1, 100))
        missing = target - size(frame)
        wide = draw(st.booleans())  # 3-byte characters: the limit counts bytes, not characters
        frame["pad"] = "가" * (missing // 3) + "x" * (missing % 3) if wide else "x" * missing
        return LabelledPayload(
            name="near-miss/oversized",
            payload=encoded(frame),
            requirement_id="LIMIT-001",
            close_code=CloseCode.MESSAGE_TOO_BIG,
            description=f"frame of {target} bytes (max_frame_bytes={max_frame_bytes})",
        )

    return build()


_BAD_UTF8 = [b"\xff", b"\xfe", b"\x80", b"\xc0\x80", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]


@st.composite
def _invalid_utf8(draw: st.DrawFn) -> LabelledPayload:
    text = encoded(draw(_base(*CLIENT_FRAME_TYPES)))
    at = draw(st.integers(0, len(text)))
    bad = draw(st.sampled_from(_BAD_UTF8))
    return LabelledPayload(
        name="near-miss/invalid_utf8",
        payload=text[:at].encode() + bad + text[at:].encode(),
        requirement_id="INPUT-005",
        close_code=CloseCode.INVALID_PAYLOAD,
        description=f"bytes {bad.hex(' ')} inserted at character {at}",
    )


@st.composite
def _binary(draw: st.DrawFn) -> LabelledPayload:
    return LabelledPayload(
        name="near-miss/binary",
        payload=encoded(draw(_base(*CLIENT_FRAME_TYPES))).encode(),
        binary=True,
        requirement_id="INPUT-004",
        close_code=CloseCode.UNSUPPORTED_DATA,
        description="a valid frame sent as a binary frame",
    )


_BUILDERS: dict[NearMiss, Callable[[], st.SearchStrategy[LabelledPayload]]] = {
    NearMiss.MISSING_TYPE: _missing_type,
    NearMiss.MISSING_FIELD: _missing,
    NearMiss.WRONG_TYPE: _wrong_type,
    NearMiss.EMPTY_CONTENT: _empty_content,
    NearMiss.BAD_ID: _bad_id,
    NearMiss.BAD_ROLE: _bad_role,
    NearMiss.UNKNOWN_TYPE: _unknown_type,
    NearMiss.BAD_NICKNAME: _bad_nickname,
    NearMiss.CONTENT_TOO_LONG: _content_too_long,
    NearMiss.HISTORY_TOO_LONG: _history_too_long,
    NearMiss.NOT_OBJECT: _not_object,
    NearMiss.BROKEN_JSON: _broken_json,
    NearMiss.NAN: _nan,
    NearMiss.INVALID_UTF8: _invalid_utf8,
    NearMiss.BINARY: _binary,
}


def near_miss_client_payloads(
    kinds: Iterable[NearMiss | str] | None = None, *, max_frame_bytes: int = DEFAULT_LIMITS.max_frame_bytes
) -> st.SearchStrategy[LabelledPayload]:
    """Client payloads one mutation away from valid, each labelled with the verdict SPEC.md demands.

    Args:
        kinds: which kinds of near miss (default: all of `NearMiss`).
        max_frame_bytes: the limit `oversized` exceeds; the other kinds stay below it.
    Raises:
        ValueError: a kind that `NearMiss` does not define.
    """
    chosen = list(NearMiss) if kinds is None else [NearMiss(kind) for kind in kinds]
    strategies = [_oversized(max_frame_bytes) if kind is NearMiss.OVERSIZED else _BUILDERS[kind]() for kind in chosen]
    return st.one_of(strategies)
