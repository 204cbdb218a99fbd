"""`--repeat`: the worst verdict of each requirement over the runs, and the flaky ones named."""

from __future__ import annotations

from roomwire.conformance.outcomes import CheckResult, Status
from roomwire.conformance.repeat import combine_runs
from roomwire.conformance.runner import RequirementResult, RunResult
from roomwire.spec.requirements import catalog

REQS = catalog()


def run(statuses: dict[str, Status], run_id: str) -> RunResult:
    results = {
        rid: RequirementResult(REQS[rid], status, f"{status.value} in {run_id}", [CheckResult("c", rid, status, "")])
        for rid, status in statuses.items()
    }
    return RunResult(results, 10.0, {"run_id": run_id})


def test_one_run_is_itself() -> None:
    single = run({"CHAT-001": Status.PASS}, "a")
    assert combine_runs([single]) is single


def test_the_worst_verdict_wins_and_flakes_are_named() -> None:
    runs = [
        run({"CHAT-001": Status.PASS, "PRES-007": Status.PASS, "CONN-005": Status.SKIP}, "a"),
        run({"CHAT-001": Status.PASS, "PRES-007": Status.FAIL, "CONN-005": Status.SKIP}, "b"),
        run({"CHAT-001": Status.PASS, "PRES-007": Status.PASS, "CONN-005": Status.SKIP}, "c"),
    ]
    combined = combine_runs(runs)
    assert combined.results["PRES-007"].status is Status.FAIL
    assert combined.results["PRES-007"].detail == "3 runs: 1 fail, 2 pass; fail in b"
    assert combined.results["CHAT-001"].status is Status.PASS and len(combined.results["CHAT-001"].checks) == 3
    assert combined.facts["flaky"] == "PRES-007 (pass, fail, pass)"
    assert combined.facts["repeat"] == "3 runs, 10 s, 10 s, 10 s" and combined.facts["run_id"] == "a, b, c"
    assert combined.exit_code(strict=True) == 1 and combined.duration == 30.0  # PRES-007 is a SHOULD
    assert str(combine_runs(runs[:1] + runs[2:]).facts["flaky"]).startswith("none")
