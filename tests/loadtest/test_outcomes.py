"""The AI-outcome tally adds up across workers (roomwire.loadtest.outcomes)."""

from __future__ import annotations

import csv
from pathlib import Path

from roomwire.loadtest.metrics import AiOutcome
from roomwire.loadtest.outcomes import REPORT_KEY, Tally, on_report_to_master, on_worker_report


def test_a_worker_s_reports_carry_only_what_is_new_and_merge_on_the_master() -> None:
    worker, master = Tally(), Tally()
    worker.record(AiOutcome.FRIENDLY_WAIT, first_for_user=True)
    worker.record(AiOutcome.FRIENDLY_WAIT, first_for_user=False)
    master.merge(worker.take_report())
    worker.record(AiOutcome.HANG, first_for_user=True)
    master.merge(worker.take_report())
    assert worker.take_report() == {"exchanges": {}, "users": {}}
    assert master.exchanges == {AiOutcome.FRIENDLY_WAIT: 2, AiOutcome.HANG: 1}
    assert master.users == {AiOutcome.FRIENDLY_WAIT: 1, AiOutcome.HANG: 1}
    assert master.total == 3


def test_summary_and_csv_list_every_outcome(tmp_path: Path) -> None:
    tally = Tally()
    assert tally.summary() == []
    tally.record(AiOutcome.UPSTREAM_429, first_for_user=True)
    lines = tally.summary()
    assert lines[0].startswith("roomwire AI outcomes (1 exchanges)")
    assert len(lines) == 1 + len(AiOutcome)
    path = tmp_path / "run_ai_outcomes.csv"
    tally.write_csv(path)
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["outcome", "exchanges", "users"]
    assert ["upstream 429 (upstream_rate_limited)", "1", "1"] in rows
    tally.clear()
    assert tally.total == 0 and tally.take_report() == {"exchanges": {}, "users": {}}


def test_the_locust_hooks_put_and_take_the_report() -> None:
    from roomwire.loadtest import outcomes

    outcomes.TALLY.clear()
    outcomes.TALLY.record(AiOutcome.OK, first_for_user=True)
    data: dict[str, object] = {}
    on_report_to_master("worker-1", data)
    outcomes.TALLY.clear()
    on_worker_report("worker-1", data)
    on_worker_report("worker-2", {"unrelated": 1})
    assert outcomes.TALLY.exchanges == {AiOutcome.OK: 1} and REPORT_KEY in data
    outcomes.TALLY.clear()
