"""roomwire.reference.handshake: the admission rules of an upgrade as pure functions (SEC-004/006/010, CONN-002)."""

from __future__ import annotations

import pytest

from roomwire.reference.handshake import (
    Refusal,
    host_allowed,
    host_name,
    origin_allowed,
    parse_room,
    serialized_origin,
)


@pytest.mark.parametrize(
    ("path", "room"),
    [
        (b"/api/v1/ws/chat/a", "a"),
        (b"/api/v1/ws/chat/%61", None),  # as sent: `%61` is three characters outside the pattern, never room `a`
        (b"/api/v1/ws/chat/a%2Db", None),
        ("/api/v1/ws/chat/lobby_1-x", "lobby_1-x"),
    ],
)
def test_the_room_is_judged_before_percent_decoding(path: str | bytes, room: str | None) -> None:
    got = parse_room(path)
    assert got == room if room is not None else got == Refusal(400, "invalid room_id")


@pytest.mark.parametrize(
    ("host", "allowed", "ok"),
    [
        ("127.0.0.1:8000", (), True),
        ("localhost:8000", (), True),
        ("LOCALHOST", (), True),
        ("[::1]:8000", (), True),
        ("10.1.2.3:8000", (), True),  # an address: a rebinding page can only name a DNS name it controls
        ("evil.example:8000", (), False),  # the DNS-rebinding shape (SEC-006)
        ("evil.localhost:8000", (), False),
        ("chat.example", ("chat.example",), True),
        ("CHAT.example:443", ("chat.example",), True),
        ("evil.example", ("chat.example",), False),
        ("evil.example", ("*",), True),
        (None, (), True),  # no Host: HTTP/1.0, not a browser
        ("chat.example:x", ("chat.example",), False),  # malformed
        ("user@chat.example", ("chat.example",), False),
        ("", (), False),
    ],
)
def test_a_host_is_served_when_it_is_an_address_localhost_or_listed(
    host: str | None, allowed: tuple[str, ...], ok: bool
) -> None:
    assert host_allowed(host, allowed) is ok


def test_host_name_drops_the_port_and_lowers_the_case() -> None:
    assert host_name("Chat.Example:8443") == "chat.example" and host_name("[::1]:80") == "::1"
    assert host_name("chat.example:x") is None and host_name("u@chat.example") is None


@pytest.mark.parametrize(
    ("origin", "serialized"),
    [
        ("https://Game.Example", "https://game.example"),
        ("http://127.0.0.1:5173", "http://127.0.0.1:5173"),
        ("https://game.example/", None),  # a path, even `/`
        ("https://game.example?x", None),
        ("https://game.example#x", None),
        ("http://evil@game.example", None),
        ("null", None),
        ("ws://game.example", None),
        ("http://game.example:99999", None),
    ],
)
def test_only_a_serialized_origin_is_one(origin: str, serialized: str | None) -> None:
    assert serialized_origin(origin) == serialized


@pytest.mark.parametrize(
    ("origin", "host", "allowed", "ok"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", (), True),  # own host
        ("http://localhost:5173", "127.0.0.1:8000", (), True),  # loopback page, loopback server: development
        ("http://127.0.0.1:3000", "localhost:8000", (), True),
        ("http://localhost:5173", "chat.example", (), False),  # SEC-010: a public server takes no loopback page
        ("http://localhost:5173", "10.0.0.5:8000", (), False),
        ("http://chat.example", "chat.example", (), True),
        ("https://game.example", "chat.example", ("https://game.example",), True),
        ("https://game.example", "chat.example", ("https://game.example/",), True),  # a configured slash is forgiven
        ("https://game.example:8443", "chat.example", ("https://game.example",), False),  # exact: the port counts
        ("http://game.example", "chat.example", ("https://game.example",), False),  # exact: the scheme counts
        ("https://game.example.evil", "chat.example", ("https://game.example",), False),
        ("http://localhost:5173", "127.0.0.1:8000", ("https://game.example",), False),  # a list replaces the default
        ("https://any.example", "chat.example", ("*",), True),
        (None, "chat.example", (), True),
        ("http://127.0.0.1:8000", None, (), False),
    ],
)
def test_origins_match_exactly_and_loopback_only_on_a_loopback_host(
    origin: str | None, host: str | None, allowed: tuple[str, ...], ok: bool
) -> None:
    assert origin_allowed(origin, host, allowed) is ok
