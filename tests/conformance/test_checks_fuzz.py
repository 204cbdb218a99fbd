"""The labelled-frames check gives no verdict on a frame it never sent (issue 16, "verdicts on dead connections"):
once a bad frame kills a target's handler and breaks its room, as the seed's does, the check goes on in fresh
rooms, and a payload that still cannot be sent is not judged, never a failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import roomwire.conformance.checks  # noqa: F401 - registers the checks
from roomwire.cli import main
from roomwire.conformance.outcomes import Status
from roomwire.conformance.registry import REGISTRY
from roomwire.conformance.runner import Runner, RunResult, Selection
from roomwire.conformance.session import Session, Timeouts
from roomwire.conformance.target import parse_target
from tests.conformance.toy import Toy, toy_server

CHECK = "labelled_and_generated_bad_frames_get_the_specs_answer"


async def run_check(toy: Toy) -> RunResult:
    async with toy_server(toy) as url:
        session = Session(target=parse_target([url]), timeouts=Timeouts(0.5))
        try:
            return await Runner(session, REGISTRY, Selection((CHECK,))).run()
        finally:
            await session.aclose()


def verdicts(result: RunResult) -> dict[str, tuple[Status, str]]:
    return {
        rid: (check.status, check.detail)
        for rid, r in result.results.items()
        for check in r.checks
        if check.check == CHECK
    }


async def test_a_room_broken_by_bad_json_does_not_fail_the_payloads_sent_after_it() -> None:
    """The toy breaks a room as the seed does (the first bad JSON aborts the connection and every later frame in
    that room aborts its sender's; no welcome or join notice, so joining takes a probe that the broken room
    answers with a drop): INPUT-001 fails on its own payload, and the payloads the toy answers right once they
    reach it (binary 1003, invalid UTF-8 1007, a missing type) pass instead of failing with 'not sent'."""
    found = verdicts(await run_check(Toy(breaks_room_on_bad_json=True, no_welcome=True, no_presence=True)))
    assert found["INPUT-001"][0] is Status.FAIL and "bad_json" in found["INPUT-001"][1]
    # the toy answers these right when they reach it in a room of their own
    assert {rid: found[rid][0] for rid in ("INPUT-002", "INPUT-004", "INPUT-005")} == dict.fromkeys(
        ("INPUT-002", "INPUT-004", "INPUT-005"), Status.PASS
    ), found
    assert not [rid for rid, (status, detail) in found.items() if status is Status.FAIL and "sent" in detail]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_the_seeds_copy_passes_input_005_once_its_room_is_broken(tmp_path: Path) -> None:
    """The bundled seed copy: its handler dies on bad JSON and leaves its dead socket in the room (failures 1 and
    4); it closes invalid UTF-8 with 1007 (uvicorn), so INPUT-005 passes, and no verdict is about a frame never
    sent."""
    report = tmp_path / "seed.json"
    code = main(["check", "--bundled", "seed", "--only", "INPUT-003,INPUT-005", "--report-json", str(report)])
    assert code == 1
    requirements = {r["id"]: r for r in json.loads(report.read_text())["requirements"]}
    assert requirements["INPUT-005"]["status"] == "pass", requirements["INPUT-005"]
    assert requirements["INPUT-001"]["status"] == "fail"
    for requirement in requirements.values():
        for check in requirement["checks"]:
            assert check["status"] != "fail" or "never sent" not in check["detail"], check
            evidence = check.get("evidence") or {}
            assert check["status"] != "fail" or "not sent" not in json.dumps(evidence.get("actual", "")), check
