"""Transcripts, the leak watch, frame predicates and the verdict arithmetic."""

from __future__ import annotations

import json

from roomwire.conformance import frames
from roomwire.conformance.outcomes import Blocked, CheckResult, Evidence, Status, combine
from roomwire.conformance.transcript import Clock, LeakWatch, Transcript, clip
from roomwire.spec.protocol import Received


def received(frame: object, index: int = 0) -> Received:
    text = json.dumps(frame, ensure_ascii=False)
    return Received(index=index, raw=text, frame=None, at=1.0, data=frame if isinstance(frame, dict) else None)


def test_clip_keeps_head_and_tail() -> None:
    assert clip("short") == "short"
    clipped = clip("a" * 500 + "b" * 500, keep=100)
    assert clipped.startswith("a" * 50) and clipped.endswith("b" * 50) and "[900 chars]" in clipped


def test_transcript_records_in_order_with_times() -> None:
    transcript = Transcript("A", "ws://x/r", Clock())
    transcript.note("connect")
    transcript.sent('{"type":"ping"}')
    transcript.received('{"type":"pong"}')
    data = transcript.to_json(limit=2)
    events = data["events"]
    assert data["omitted"] == 1 and isinstance(events, list) and [e["dir"] for e in events] == [">", "<"]
    assert transcript.render(limit=2)[1].startswith("  … 1 earlier")


def test_leak_watch_finds_and_masks() -> None:
    watch = LeakWatch()
    watch.watch("canary key", "AIzaCANARY-test-0000")  # canary, FAKE
    watch.watch("empty", "")
    found = watch.scan("error: key AIzaCANARY-test-0000 suspended", where="frame", check="c", connection="A")
    assert len(found) == 1 and "«canary key»" in found[0].excerpt and "AIza" not in found[0].excerpt
    assert watch.scan("nothing here", where="frame", check="c", connection="A") == []
    assert watch.mask("x AIzaCANARY-test-0000 y") == "x «canary key» y"
    assert watch.searched == 2 and list(watch.secrets()) == ["canary key"]


def test_predicates_are_lenient_about_schema_but_exact_about_meaning() -> None:
    msg = received({"type": "user_msg", "nickname": "A", "content": "hi there", "seq": "not-an-int"})
    assert frames.user_msg("hi there")(msg) and frames.user_msg(containing="there")(msg)
    assert not frames.user_msg("hi")(msg) and frames.room_event()(msg) and frames.mentions("there")(msg)
    err = received({"type": "system", "event": "error", "code": "bad_json", "content": "x"})
    assert frames.error("bad_json")(err) and not frames.error("bad_frame")(err) and frames.any_error()(err)
    assert frames.ai_frame()(received({"type": "ai_done"})) and frames.ai_chunk()(received({"type": "ai_chunk"}))
    assert frames.kind(received([1])) is None and frames.either(frames.ai_done(), frames.any_frame())(msg)


def test_presence_names_from_events_and_from_the_seeds_bare_texts() -> None:
    spec_leave = received({"type": "system", "event": "leave", "nickname": "Bob", "content": "Bob가 퇴장했습니다."})
    seed_leave = received({"type": "system", "content": "Bob가 퇴장했습니다."})
    english = received({"type": "system", "content": "Bob left."})
    other = received({"type": "system", "content": "Welcome!"})
    assert frames.presence_name(spec_leave, "leave") == "Bob" == frames.presence_name(seed_leave, "leave")
    assert frames.presence_name(english, "leave") == "Bob" and frames.presence_name(other, "leave") is None
    assert frames.leave("Bob")(seed_leave) and not frames.leave("Ann")(seed_leave) and not frames.join()(seed_leave)
    assert frames.join("Cy")(received({"type": "system", "content": "Cy joined."}))
    assert frames.presence_name(received({"type": "user_msg", "content": "Bob left."}), "leave") is None


def test_summaries_for_evidence() -> None:
    item = received({"type": "system", "event": "error", "code": "bad_json", "id": "x", "content": "c" * 80}, 3)
    assert frames.summary(item).startswith("#3 system/error code='bad_json'") and "…" in frames.summary(item)
    assert frames.summarize([]) == "nothing"
    many = [received({"type": "pong"}, n) for n in range(15)]
    assert frames.summarize(many, limit=2).startswith("13 earlier frames and #13")
    assert frames.summary(Received(index=0, raw="garbage", frame=None, at=None)) == "#0 'garbage'"


def result(status: Status, detail: str = "d", check: str = "c") -> CheckResult:
    return CheckResult(check, "CHAT-001", status, detail)


def test_combine_prefers_failure_then_error_and_says_when_a_pass_is_partial() -> None:
    assert combine([]) == (Status.SKIP, "no check ran")
    assert combine([result(Status.PASS, "ok"), result(Status.FAIL, "bad", "f")])[0] is Status.FAIL
    assert combine([result(Status.PASS), result(Status.ERROR, "boom", "e")]) == (Status.ERROR, "e: boom")
    status, detail = combine([result(Status.PASS, "ok"), result(Status.SKIP, "needs --double", "s")])
    assert status is Status.PASS and "partial: s skipped: needs --double" in detail
    assert combine([result(Status.SKIP, "x"), result(Status.SKIP, "x")]) == (Status.SKIP, "x")


def test_results_and_evidence_as_json() -> None:
    evidence = Evidence(expected="e", actual="a", traceback="tb", notes=["n"])
    data = CheckResult("c", "CHAT-001", Status.FAIL, "d", 1.23456, evidence).to_json()
    assert data["status"] == "fail" and data["duration_s"] == 1.235
    assert data["evidence"] == {"expected": "e", "actual": "a", "traceback": "tb", "notes": ["n"], "transcripts": []}
    assert Blocked("CONN-003", "no welcome").reason == "blocked by CONN-003: no welcome"
