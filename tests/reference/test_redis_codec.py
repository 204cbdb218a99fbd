"""The Redis encoding of room events and the broker's URL options, without Redis."""

from __future__ import annotations

import asyncio
import json

import pytest

from roomwire.reference.rooms.broker import EventDraft, EventKind
from roomwire.reference.rooms.redis.codec import body, decode, decode_all, nickname_json, rename_message
from roomwire.reference.rooms.redis.config import RedisOptions, redact
from roomwire.reference.rooms.redis.link import Link
from roomwire.reference.rooms.redis.scripts import Keys
from roomwire.spec.codes import LeaveReason
from roomwire.spec.errors import ConfigError


def wrap(fragment: bytes, seq: int = 7, count: int | None = None) -> bytes:
    """What the Lua scripts add around a fragment."""
    head = f'{{"s":{seq},"t":1700000000000' + (f',"c":{count}' if count is not None else "")
    return head.encode() + b"," + fragment + b"}"


def test_a_user_message_survives_the_round_trip_exactly() -> None:
    content = '<b>안녕</b> "quoted" \\ \u2028 end '
    draft = EventDraft(EventKind.USER_MSG, nickname="철수", content=content, id="m-1")
    item = decode("lobby", wrap(body(draft, None, "inst")))
    event = item.event
    assert event is not None and event.kind is EventKind.USER_MSG
    assert (event.room, event.seq, event.ts, event.nickname, event.content, event.id) == (
        "lobby", 7, 1700000000000, "철수", content, "m-1",
    )  # fmt: skip
    assert event.count is None and item.origin == "inst" and not item.quiet


def test_an_unpaired_surrogate_a_client_may_send_survives_as_its_escape() -> None:
    content, nickname = "lone \ud800 and \udfff, 한", "n\udc00"
    fragment = body(EventDraft(EventKind.USER_MSG, nickname=nickname, content=content), None, "inst")
    assert b"\\ud800" in fragment and fragment.decode("utf-8")  # valid UTF-8 for Redis, the JSON escape inside
    event = decode("r", wrap(fragment)).event
    assert event is not None and (event.content, event.nickname) == (content, nickname)
    assert json.loads(nickname_json(nickname)) == nickname and nickname_json(nickname).encode()


def test_a_batch_is_an_array_of_events_in_seq_order() -> None:
    drafts = [EventDraft(EventKind.USER_MSG, nickname="a", content=str(n)) for n in range(3)]
    data = b"[" + b",".join(wrap(body(d, None, "inst"), seq=5 + n) for n, d in enumerate(drafts)) + b"]"
    items = decode_all("r", data)
    assert [(i.seq, i.event.content if i.event else None) for i in items] == [(5, "0"), (6, "1"), (7, "2")]
    assert [i.seq for i in decode_all("r", wrap(body(drafts[0], None, "inst")))] == [7]


def test_presence_carries_member_count_reason_and_quiet_flag() -> None:
    draft = EventDraft(EventKind.LEAVE, nickname=None, reason=LeaveReason.TIMEOUT)
    item = decode("r", wrap(body(draft, "inst.4", "inst", quiet=True), count=2))
    assert item.event is not None and item.event.count == 2 and item.event.reason is LeaveReason.TIMEOUT
    assert item.event.nickname is None and item.member == "inst.4" and item.quiet


def test_a_rename_is_a_control_message_without_seq() -> None:
    item = decode("r", rename_message("inst.1", "late"))
    assert item.event is None and item.seq == 0 and item.member == "inst.1" and item.nickname == "late"


def test_what_is_not_our_encoding_is_refused() -> None:
    for data in ("not json", "{}", '{"k":"?","s":1,"t":1}'):
        with pytest.raises((ValueError, KeyError)):
            decode("r", data)


def test_nicknames_are_stored_as_json_for_the_reaper_script() -> None:
    assert json.loads(nickname_json('a"b')) == 'a"b' and nickname_json(None) == "null"


def test_keys_name_rooms_and_recognise_only_room_channels() -> None:
    keys = Keys("rw")
    assert keys.room_keys("r") == [
        "rw:room:r:seq", "rw:room:r:history", "rw:room:r:members",
        "rw:empty_rooms", "rw:history_bytes", "rw:history_total", "rw:history_oldest",
    ]  # fmt: skip
    assert keys.room_of(keys.channel("a-b_c").encode()) == "a-b_c"
    assert keys.room_of(keys.ping("abc").encode()) is None


def test_options_come_from_the_url_and_the_rest_goes_to_redis_py() -> None:
    options = RedisOptions.from_url(
        "rediss://:pw@cache:6380/2?prefix=game1&lease=9&timeout=1&backoff=3&db=2&room_ttl=60"
    )
    assert (options.prefix, options.lease_s, options.timeout_s, options.backoff_s, options.room_ttl_s) == (
        "game1", 9.0, 1.0, 3.0, 60,
    )  # fmt: skip
    assert options.url == "rediss://:pw@cache:6380/2?db=2" and options.shown == "rediss://:***@cache:6380/2?db=2"
    assert RedisOptions.from_url("redis://h").lease_s == 15.0


@pytest.mark.parametrize(
    "url",
    [
        "memory://",
        "redis://",
        "redis://h?lease=soon",
        "redis://h?lease=0.1",
        "redis://h?lease=4&backoff=3",
        "redis://h?lease=4&timeout=3",
        "redis://h?prefix=no spaces",
        "redis://h?room_ttl=0",
    ],
)
def test_bad_options_are_one_line_config_errors(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RedisOptions.from_url(url)
    assert str(caught.value).startswith("ROOMWIRE_BROKER_URL: ") and "\n" not in str(caught.value)


def test_passwords_never_show() -> None:
    assert redact("redis://user:secret@h:1/0") == "redis://user:***@h:1/0"
    assert redact("redis://h:1/0") == "redis://h:1/0"
    with pytest.raises(ConfigError) as caught:
        RedisOptions.from_url("redis://:secret@h?lease=x")
    assert "secret" not in str(caught.value)


async def test_closing_a_link_does_not_swallow_its_callers_cancellation() -> None:
    """The reconnect loop closes the lost link before opening a new one; cancelled there (the broker closing), it
    must stop, not go on to open a link nobody closes. The link's connections are released either way."""

    async def reader_slow_to_stop() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await asyncio.sleep(0.2)
            raise

    link = Link(RedisOptions(url="redis://127.0.0.1:9/0", timeout_s=1.0, lease_s=5.0, backoff_s=1.0),
                lambda channel, data: None, lambda exc: None, "t")  # fmt: skip
    reader = link._reader = asyncio.ensure_future(reader_slow_to_stop())
    await asyncio.sleep(0)
    closing = asyncio.ensure_future(link.close())
    await asyncio.sleep(0.05)  # close() now waits for the reader
    closing.cancel()
    await asyncio.wait([closing])
    assert closing.cancelled() and link.closed and link._sub is None
    await asyncio.wait([reader])
    assert reader.cancelled()
