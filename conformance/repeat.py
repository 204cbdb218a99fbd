"""`--repeat N`: the selected checks run N times against one target, and one report says what held every time.

A verdict that differs between runs of the same check against the same target is a flake: either the target
misbehaves sometimes or the check decides from a race. The combined result keeps every run's check results (the
evidence of each failure), gives each requirement the worst status of its runs (a failure in any run fails it),
says in its detail how each run went, and lists the requirements whose status changed under the fact `flaky`.
"""

from __future__ import annotations

from collections.abc import Sequence

from roomwire.conformance.outcomes import Status
from roomwire.conformance.runner import RequirementResult, RunResult

_ORDER = (Status.ERROR, Status.FAIL, Status.PASS, Status.SKIP)


def combine_runs(runs: Sequence[RunResult]) -> RunResult:
    """One RunResult for several runs of the same selection (see the module docstring)."""
    if len(runs) == 1:
        return runs[0]
    results: dict[str, RequirementResult] = {}
    flaky: list[str] = []
    for rid in runs[0].results:
        each = [run.results[rid] for run in runs if rid in run.results]
        statuses = [r.status for r in each]
        worst = min(statuses, key=_ORDER.index)
        chosen = next(r for r in each if r.status is worst)
        if len(set(statuses)) > 1:
            flaky.append(f"{rid} ({', '.join(s.value for s in statuses)})")
        tally = ", ".join(f"{statuses.count(s)} {s.value}" for s in _ORDER if s in statuses)
        detail = f"{len(each)} runs: {tally}; " + chosen.detail
        results[rid] = RequirementResult(chosen.requirement, worst, detail, [c for r in each for c in r.checks])
    facts = dict(runs[-1].facts)
    facts["repeat"] = f"{len(runs)} runs, " + ", ".join(f"{run.duration:.0f} s" for run in runs)
    facts["flaky"] = "; ".join(flaky) if flaky else "none: every requirement had the same verdict in every run"
    facts["run_id"] = ", ".join(str(run.facts.get("run_id")) for run in runs)
    return RunResult(results, sum(run.duration for run in runs), facts)
