"""roomwire.reference.peers: the client's address behind trusted proxies (SEC-007) and the per-address counts."""

from __future__ import annotations

import pytest

from roomwire.reference.peers import AddressBook, TrustedProxies, parse_networks


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "client"),
    [
        ((), "203.0.113.7", "198.51.100.1", "203.0.113.7"),  # no trusted proxy: the header is never read
        (("127.0.0.1",), "203.0.113.7", "198.51.100.1", "203.0.113.7"),  # not from the proxy: ignored
        (("127.0.0.1",), "127.0.0.1", "198.51.100.1", "198.51.100.1"),
        (("127.0.0.1",), "127.0.0.1", None, "127.0.0.1"),
        (("127.0.0.1",), "127.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client wrote 6.6.6.6
        (("10.0.0.0/8",), "10.0.0.2", "198.51.100.1, 10.0.0.9", "198.51.100.1"),  # two trusted hops
        (("10.0.0.0/8",), "10.0.0.2", "10.0.0.7, 10.0.0.9", "10.0.0.7"),  # all trusted: the leftmost
        (("10.0.0.0/8",), "10.0.0.2", "garbage, 198.51.100.1", "198.51.100.1"),
        (("10.0.0.0/8",), "10.0.0.2", "198.51.100.1, garbage", "10.0.0.2"),  # a broken hop ends the walk
        (("::1",), "::1", "2001:db8::5", "2001:db8::5"),
    ],
)
def test_the_client_address_is_believed_only_from_trusted_proxies(
    trusted: tuple[str, ...], peer: str, forwarded: str | None, client: str
) -> None:
    assert TrustedProxies(trusted).client_address(peer, forwarded) == client


def test_networks_parse_or_say_which_entry_is_wrong() -> None:
    assert [str(n) for n in parse_networks(["10.0.0.1", " 10.0.0.0/8", "", "::1"])] == [
        "10.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
    ]
    with pytest.raises(ValueError, match="proxy.example"):
        parse_networks(["proxy.example"])


def test_connections_per_address_are_counted_and_released() -> None:
    book = AddressBook(max_connections=2, join_burst=30, join_rate_per_min=60, exempt=("10.9.9.9",))
    assert book.take_connection("a") and book.take_connection("a") and not book.take_connection("a")
    book.release_connection("a")
    assert book.take_connection("a")
    assert all(book.take_connection("10.9.9.9") for _ in range(5))  # exempt
    book.release_connection("a")
    book.release_connection("a")
    assert book.tracked[0] == 1  # only the exempt address is still open


def test_joins_of_a_room_per_address_spend_a_bucket_that_refills() -> None:
    book = AddressBook(max_connections=0, join_burst=3, join_rate_per_min=60)
    assert [book.take_join("a", "r", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert book.take_join("a", "r", 0.0) == pytest.approx(1.0)  # LIMIT-008: one a second
    assert book.take_join("a", "other", 0.0) == 0.0  # per room
    assert book.take_join("b", "r", 0.0) == 0.0  # per address
    assert book.take_join("a", "r", 1.0) == 0.0  # refilled one


def test_refilled_buckets_are_forgotten_so_the_book_stays_small() -> None:
    book = AddressBook(max_connections=0, join_burst=2, join_rate_per_min=60)
    for n in range(1000):
        book.take_join(f"10.0.{n // 256}.{n % 256}", "r", float(n) * 0.001)
    assert book.tracked[1] == 1000
    book.take_join("a", "r", 10.0)  # 2 s refill each: everything older has refilled
    assert book.tracked[1] == 1


def test_exempt_addresses_never_wait() -> None:
    book = AddressBook(max_connections=1, join_burst=1, join_rate_per_min=1, exempt=("127.0.0.1",))
    assert all(book.take_join("127.0.0.1", "r", 0.0) == 0.0 for _ in range(100))
