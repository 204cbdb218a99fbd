"""roomwire.attacks.target: loopback only unless told, the URL forms, the bounds."""

from __future__ import annotations

import pytest

from roomwire.attacks.target import Bounds, is_loopback, resolve
from roomwire.spec.errors import UsageError


@pytest.mark.parametrize(
    ("url", "template"),
    [
        ("ws://127.0.0.1:8000", "ws://127.0.0.1:8000/api/v1/ws/chat/{room_id}"),
        ("127.0.0.1:8000", "ws://127.0.0.1:8000/api/v1/ws/chat/{room_id}"),
        ("ws://localhost:8000/chat/{room_id}", "ws://localhost:8000/chat/{room_id}"),
    ],
)
def test_a_base_url_gets_the_chat_path(url: str, template: str) -> None:
    target = resolve(url)
    assert target.endpoint.template == template and target.loopback


def test_a_remote_target_needs_the_explicit_flag() -> None:
    with pytest.raises(UsageError, match="--allow-remote"):
        resolve("ws://192.0.2.10:8000")
    target = resolve("ws://192.0.2.10:8000", allow_remote=True)
    assert not target.loopback and target.source(0) is None  # no second loopback address for a remote server


def test_loopback_targets_give_bystanders_addresses_of_their_own() -> None:
    target = resolve("ws://127.0.0.1:8000")
    assert target.source(0) == "127.0.1.2" and target.source(251) == "127.0.2.3"
    assert is_loopback("localhost") and not is_loopback("192.0.2.10")


def test_bounds_scale_every_count_but_never_to_nothing() -> None:
    assert Bounds(scale=0.1).count(200) == 20 and Bounds(scale=0.001).count(200, least=3) == 3
