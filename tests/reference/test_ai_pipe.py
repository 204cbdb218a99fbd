"""The server <-> AI worker messages: framing that survives any cut, and failures that classify as at home."""

from __future__ import annotations

import aiohttp
import pytest

from roomwire.reference import ai_pipe
from roomwire.reference.upstream_errors import UpstreamHttpError, UpstreamTimeout, classify

KEY = "AIzaFAKEcanary-test-key-0000000000000000"[:39]


def test_messages_come_out_whole_and_in_order_however_the_bytes_are_cut() -> None:
    messages = [
        ("ask", 1, [{"role": "user", "parts": [{"text": "핀볼"}]}]),
        ("text", 1, "안녕"),
        ("end", 1, "STOP", None, (3, 4)),
    ]
    data = b"".join(ai_pipe.encode(m) for m in messages)
    for cut in range(len(data) + 1):
        decoder = ai_pipe.Decoder()
        got = list(decoder.feed(data[:cut])) + list(decoder.feed(data[cut:]))
        assert got == messages, cut
    one_by_one = ai_pipe.Decoder()
    assert [m for i in range(len(data)) for m in one_by_one.feed(data[i : i + 1])] == messages


def test_an_oversized_or_malformed_message_is_refused() -> None:
    with pytest.raises(ValueError):
        list(ai_pipe.Decoder().feed((ai_pipe.MAX_MESSAGE + 1).to_bytes(4, "big")))
    with pytest.raises(ValueError):
        list(ai_pipe.Decoder().feed(b"\x00\x00\x00\x01\x00"))  # not marshal data
    body = b"\xe9\x01\x00\x00\x00"  # marshal of the int 1: not a tuple
    with pytest.raises(ValueError):
        list(ai_pipe.Decoder().feed(len(body).to_bytes(4, "big") + body))


def test_plain_keeps_marshallable_values_and_turns_others_into_json() -> None:
    value = {"error": {"code": 429, "details": [{"retryDelay": "3s"}], "ok": True, "x": None}}
    assert ai_pipe.plain(value) is value
    assert ai_pipe.plain({"when": object}) == {"when": str(object)}


@pytest.mark.parametrize(
    "exc",
    [
        UpstreamHttpError(
            429,
            "RESOURCE_EXHAUSTED",
            {"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]}},
        ),
        UpstreamHttpError(503, f"UNAVAILABLE {KEY}", {"error": {"message": f"key {KEY} suspended"}}),
        UpstreamTimeout(),
        TimeoutError(),
        aiohttp.ClientPayloadError(f"cut mid-stream {KEY}"),
        ConnectionRefusedError(f"refused {KEY}"),
        ValueError(f"unparsable chunk {KEY}"),
    ],
)
def test_a_failure_from_the_worker_classifies_exactly_as_in_the_server(exc: Exception) -> None:
    message = ai_pipe.failure_message(9, exc)
    (decoded,) = ai_pipe.Decoder().feed(ai_pipe.encode(message))
    assert decoded[1] == 9
    assert classify(ai_pipe.raise_failure(decoded)) == classify(exc)
    if not isinstance(exc, UpstreamHttpError):  # an exception's text never crosses (UP-008)
        assert KEY not in repr(decoded)
