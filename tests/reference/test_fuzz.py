"""Generated bad input over a real socket: each gets exactly its verdict, and a second client never notices."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roomwire.spec.cases import LabelledPayload
from roomwire.spec.strategies import client_frames, near_miss_client_payloads
from tests.reference.helpers import Client, serving

FUZZ = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@FUZZ
@given(st.lists(near_miss_client_payloads(max_frame_bytes=16384), min_size=1, max_size=4))
async def test_near_misses_get_their_verdict_and_nothing_else_changes(cases: list[LabelledPayload]) -> None:
    async with serving(max_frame_bytes=16384, no_limits=False, rate_per_s=100, burst=100) as server:
        async with Client.connect(server.ws("r")) as bystander:
            await bystander.joined()
            for case in cases:
                async with Client.connect(server.ws("r")) as fuzzer:
                    await fuzzer.joined()
                    await bystander.event("join")
                    payload = case.payload
                    if case.binary:
                        await fuzzer.ws.send(payload if isinstance(payload, bytes) else payload.encode())
                    else:  # bytes: a text frame whose bytes are not UTF-8
                        await fuzzer.ws.send(payload, text=True)
                    if case.close_code is not None:
                        assert (await fuzzer.closed())[0] == case.close_code, case.name
                    else:
                        error = await fuzzer.expect(lambda f: f.get("event") == "error")
                        assert error["code"] == case.error_code, case.name
                        await fuzzer.say("alive")
                        await fuzzer.expect(lambda f: f["type"] == "user_msg")
                        await bystander.expect(lambda f: f["type"] == "user_msg")
                await bystander.event("leave")
            await bystander.say("bystander fine")
            await bystander.expect(lambda f: f.get("content") == "bystander fine")
            bystander.check()


@FUZZ
@given(st.lists(client_frames(max_frame_bytes=16384), min_size=1, max_size=5))
async def test_valid_frames_are_accepted(frames: list[dict[str, object]]) -> None:
    async with serving(no_limits=True) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        for frame in frames:
            if frame["type"] == "ai_msg":
                continue  # answers are tested in test_ai.py; the budget would refuse most of these
            await a.send(frame)
        expected = sum(1 for f in frames if f["type"] != "ai_msg")
        got = [await a.expect(lambda f: f["type"] in ("user_msg", "pong", "system")) for _ in range(expected)]
        assert not [f for f in got if f.get("event") == "error"], got
