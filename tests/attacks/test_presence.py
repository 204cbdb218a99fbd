"""Class 6 against the reference (the churn is refused) and without a join limit (every cycle announced)."""

from __future__ import annotations

import math
from dataclasses import replace

from roomwire.attacks import presence
from roomwire.attacks.report import Verdict
from roomwire.targets.broken.hardening import NoJoinLimit
from tests.attacks.conftest import CHEAP, attacked, target_of


async def test_join_churn_is_refused_past_the_rooms_budget() -> None:
    # 12 s at most (it stops once refused): on a loaded machine 2 s gave fewer cycles than the join burst
    async with attacked() as (server, _):
        report = await presence.run(target_of(server, replace(CHEAP, max_seconds=12.0)))
    assert report.verdict is Verdict.HELD, report.render()
    assert report.figures["refused"] == presence.REFUSALS_ENOUGH
    churned_s = report.figures["cycles"] / report.figures["cycles_per_s"]
    # join_burst (30), then one a second (join_rate_per_min 60) while the churn lasted
    assert 30 <= report.figures["welcomed"] <= 30 + math.ceil(churned_s) + 1


async def test_a_server_without_a_join_limit_is_caught() -> None:
    # a longer churn than CHEAP's: on a loaded machine 2 s gave fewer cycles than it takes to call it unthrottled
    async with attacked(connection_class=NoJoinLimit) as (server, _):
        report = await presence.run(target_of(server, replace(CHEAP, max_seconds=12.0)))
    assert report.verdict is Verdict.HURT, report.render()
    assert report.figures["refused"] == 0 and report.figures["presence_frames_per_member"] >= 2 * 60
