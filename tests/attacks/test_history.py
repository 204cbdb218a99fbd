"""Class 4: the reference keeps what this short run sends (inconclusive, with memory figures); a server with a
small history shows a bound (held)."""

from __future__ import annotations

import os

from roomwire.attacks import history
from roomwire.attacks.report import Verdict
from roomwire.attacks.target import Bounds
from tests.attacks.conftest import target_of
from tests.reference.helpers import serving


async def test_a_short_run_against_the_reference_reports_what_stays() -> None:
    async with serving() as server:
        report = await history.run(target_of(server, Bounds(max_seconds=3.0, scale=0.05), pid=os.getpid()))
    assert report.verdict is Verdict.INCONCLUSIVE, report.render()
    assert report.figures["rooms_filled"] >= 2 and report.figures["kept_share_of_sent"] == 1.0  # all of it
    assert report.figures["rss_after_mib"] > 0


async def test_a_bounded_history_shows() -> None:
    async with serving(resume_history=5) as server:
        report = await history.run(target_of(server, Bounds(max_seconds=3.0, scale=0.05)))
    assert report.verdict is Verdict.HELD, report.render()
    assert report.figures["kept_share_of_sent"] < 0.5
