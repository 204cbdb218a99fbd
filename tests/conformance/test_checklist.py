"""How a checklist item's status follows from its requirements (conformance/checklist.py's rules, docs/conformance.md):
fail over not judged over warn over pass; a SHOULD only warns (fails under --strict); a skipped or unselected MUST
or any error leaves the item not judged; what no black-box check can observe never decides."""

from __future__ import annotations

import pytest

from roomwire.conformance.checklist import (
    DEFAULT_PROFILE,
    TABLES,
    ItemStatus,
    checklist,
    judge_item,
    run_facts,
)
from roomwire.conformance.outcomes import Status
from roomwire.conformance.registry import NOT_COVERED
from roomwire.conformance.runner import RequirementResult, RunResult
from roomwire.spec.requirements import catalog, checklist_table


def run_of(statuses: dict[str, Status], **facts: object) -> RunResult:
    results = {
        rid: RequirementResult(catalog()[rid], status, f"{rid} {status.value}") for rid, status in statuses.items()
    }
    return RunResult(results, 12.5, dict(facts))


def everything(status: Status = Status.PASS, **overrides: Status) -> dict[str, Status]:
    statuses = {rid: status for rid in catalog()}
    for rid in NOT_COVERED:
        statuses[rid] = Status.SKIP
    statuses.update({rid.replace("_", "-"): s for rid, s in overrides.items()})
    return statuses


ITEM_1 = ("SEC-001", "SEC-002")  # both MUST
ITEM_2 = ("CONN-001", "CONN-005")  # a MUST and a SHOULD


@pytest.mark.parametrize(
    ("statuses", "strict", "expected"),
    [
        ({"SEC-001": Status.PASS, "SEC-002": Status.PASS}, False, ItemStatus.PASS),
        ({"SEC-001": Status.PASS, "SEC-002": Status.FAIL}, False, ItemStatus.FAIL),
        ({"SEC-001": Status.FAIL, "SEC-002": Status.ERROR}, False, ItemStatus.FAIL),  # a failure wins
        ({"SEC-001": Status.PASS, "SEC-002": Status.ERROR}, False, ItemStatus.NOT_JUDGED),
        ({"SEC-001": Status.PASS, "SEC-002": Status.SKIP}, False, ItemStatus.NOT_JUDGED),
        ({"SEC-001": Status.PASS}, False, ItemStatus.NOT_JUDGED),  # SEC-002 was not selected
        ({}, False, ItemStatus.NOT_JUDGED),
    ],
)
def test_musts_decide(statuses: dict[str, Status], strict: bool, expected: ItemStatus) -> None:
    assert judge_item(1, ITEM_1, run_of(statuses), strict).status is expected


def test_a_should_warns_fails_under_strict_and_does_not_matter_when_skipped() -> None:
    warned = run_of({"CONN-001": Status.PASS, "CONN-005": Status.FAIL})
    assert judge_item(2, ITEM_2, warned, strict=False).status is ItemStatus.WARN
    assert judge_item(2, ITEM_2, warned, strict=True).status is ItemStatus.FAIL
    skipped = run_of({"CONN-001": Status.PASS, "CONN-005": Status.SKIP})
    assert judge_item(2, ITEM_2, skipped, strict=False).status is ItemStatus.PASS
    unjudged = run_of({"CONN-001": Status.SKIP, "CONN-005": Status.FAIL})
    assert judge_item(2, ITEM_2, unjudged, strict=False).status is ItemStatus.NOT_JUDGED
    errored = run_of({"CONN-001": Status.PASS, "CONN-005": Status.ERROR})
    assert judge_item(2, ITEM_2, errored, strict=False).status is ItemStatus.NOT_JUDGED


def test_what_no_black_box_check_can_observe_never_decides() -> None:
    item = judge_item(7, checklist_table()[7], run_of(everything()), strict=False)
    assert item.status is ItemStatus.PASS and "RECON-005" in item.reason and "out of reach" in item.reason
    unreachable = [rid for rid in checklist_table()[7] if rid in NOT_COVERED]  # from the registry, not written in
    assert unreachable and item.counts()["out_of_reach"] == len(unreachable)
    assert item.counts()["pass"] == len(checklist_table()[7]) - len(unreachable)


def test_a_whole_passing_run_holds_nine_of_nine() -> None:
    items = checklist(run_of(everything(), profile=DEFAULT_PROFILE))
    assert [i.status for i in items.items] == [ItemStatus.PASS] * 9
    assert items.held == 9 and items.headline() == "roomwire/1 · 9/9 checklist items hold (9 pass)"


def test_reasons_name_the_deciding_requirements_and_why() -> None:
    run = run_of(everything(CHAT_001=Status.FAIL, UP_001=Status.SKIP, SEC_004=Status.ERROR, CONN_005=Status.FAIL))
    items = {i.item: i for i in checklist(run).items}
    assert items[3].status is ItemStatus.FAIL and items[3].reason == "failed: CHAT-001"
    assert items[8].status is ItemStatus.NOT_JUDGED and "UP-001 skipped: UP-001 skip" in items[8].reason
    assert items[2].status is ItemStatus.NOT_JUDGED and "could not judge SEC-004" in items[2].reason
    assert items[2].deciding() == ["SEC-004"] and items[3].deciding() == ["CHAT-001"]
    assert items[5].status is ItemStatus.PASS and items[5].deciding() == []
    assert checklist(run).counts() == {"pass": 5, "fail": 1, "warn": 0, "not_judged": 3}  # 2, 8 and 9


def test_the_profile_comes_from_the_runs_facts_and_brings_its_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile (a later --profile seed) registers its own table; the report only reads the run's facts."""
    monkeypatch.setitem(TABLES, "seed", lambda: {n: ("CHAT-001",) for n in range(1, 10)})
    run = run_of({"CHAT-001": Status.PASS}, profile="seed")
    items = checklist(run)
    assert items.profile == "seed" and items.held == 9
    assert checklist(run_of({"CHAT-001": Status.PASS})).profile == "roomwire/1"
    assert ("profile", "seed") in run_facts(run) and ("duration", "12.5 s") in run_facts(run)
    assert dict(run_facts(run))["double"].startswith("none")
