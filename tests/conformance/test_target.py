"""URL templates: the placeholder, appended when absent, ws and wss, query kept, several endpoints."""

from __future__ import annotations

import pytest

from roomwire.conformance.target import parse_endpoint, parse_target
from roomwire.spec.errors import UsageError


def test_template_with_placeholder() -> None:
    endpoint = parse_endpoint("ws://127.0.0.1:8000/api/v1/ws/chat/{room_id}")
    assert endpoint.url("r1") == "ws://127.0.0.1:8000/api/v1/ws/chat/r1"
    assert endpoint.url("r1", {"nickname": "철수", "lang": "en"}).endswith("r1?nickname=%EC%B2%A0%EC%88%98&lang=en")
    assert endpoint.http_base == "http://127.0.0.1:8000"
    assert endpoint.own_origin == "http://127.0.0.1:8000"


def test_placeholder_appended_and_query_kept() -> None:
    endpoint = parse_endpoint("wss://chat.example.com/api/v1/ws/chat/?token=abc")
    assert endpoint.secure and endpoint.port == 443 and endpoint.netloc == "chat.example.com"
    assert endpoint.url("r") == "wss://chat.example.com/api/v1/ws/chat/r?token=abc"
    assert endpoint.http_base == "https://chat.example.com"


def test_invalid_room_is_percent_encoded_only_when_asked() -> None:
    endpoint = parse_endpoint("ws://[::1]:9/chat")
    assert endpoint.url("a b/c", raw_room=True) == "ws://[::1]:9/chat/a%20b%2Fc"
    assert endpoint.path_for("a b") == "/chat/a%20b"


@pytest.mark.parametrize(
    "url", ["http://host/chat", "ws:///chat", "ws://host:99999/chat", "ws://host/{room_id}/{room_id}", "chat"]
)
def test_bad_templates_are_usage_errors(url: str) -> None:
    with pytest.raises(UsageError):
        parse_endpoint(url)


def test_several_endpoints_are_used_in_turn(tmp_path: object) -> None:
    target = parse_target(["ws://a:1/x", "ws://b:2/x"])
    assert [target.endpoint(n).host for n in range(4)] == ["a", "b", "a", "b"]
    assert target.ssl_context() is None
    with pytest.raises(UsageError, match="no target"):
        parse_target([])


def test_ca_file_is_checked_at_once(tmp_path: pytest.TempPathFactory) -> None:
    with pytest.raises(UsageError, match="ca-file"):
        parse_target(["wss://a/x"], ca_file="/nonexistent/ca.pem")
    assert parse_target(["wss://a/x"]).ssl_context() is not None
