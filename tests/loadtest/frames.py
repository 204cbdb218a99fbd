"""Server frames for the load-test unit tests, built with the spec's own dataclasses so they stay valid."""

from __future__ import annotations

from roomwire.spec.codes import AiStatus, ErrorCode, SystemEvent
from roomwire.spec.limits import DEFAULT_LIMITS
from roomwire.spec.messages import AiChunk, AiDone, ServerUserMsg, System, encode
from roomwire.spec.texts import Lang


def welcome(seq: int = 0) -> str:
    return encode(
        System.welcome(room="r", nickname="me", seq=seq, members=("me",), limits=DEFAULT_LIMITS, capabilities=("ping",))
    )


def broadcast(seq: int, id: str | None, content: str = "hi") -> str:
    return encode(ServerUserMsg(nickname="someone", content=content, seq=seq, ts=1_764_069_600_000, id=id))


def join(seq: int) -> str:
    return encode(System.presence(SystemEvent.JOIN, nickname="other", seq=seq, ts=1_764_069_600_000, count=2))


def chunk(id: str | None, content: str = "part ") -> str:
    return encode(AiChunk(content=content, id=id))


def done(id: str | None, status: AiStatus = AiStatus.OK) -> str:
    return encode(AiDone(status=status, id=id))


def error(code: ErrorCode, id: str | None = None, retry_after: int | None = None) -> str:
    return encode(System.error(code, id=id, retry_after=retry_after, lang=Lang.EN))
