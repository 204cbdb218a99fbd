"""Class 2 against the reference (each flood cut off with 1008) and without a control budget (never cut off)."""

from __future__ import annotations

from roomwire.attacks import control_flood
from roomwire.attacks.report import Verdict
from roomwire.targets.broken.hardening import no_control_budget
from tests.attacks.conftest import attacked


async def test_every_flood_is_cut_off_with_1008() -> None:
    async with attacked() as (_, target):
        report = await control_flood.run(target)
    assert report.verdict is Verdict.HELD, report.render()
    assert [report.figures[f"{what}: close"] for what in control_flood.FLOODS] == [1008, 1008, 1008]


async def test_a_server_without_a_control_budget_is_caught() -> None:
    undo = no_control_budget()
    try:
        async with attacked() as (_, target):
            report = await control_flood.run(target)
    finally:
        undo()
    assert report.verdict is Verdict.HURT, report.render()
    assert report.figures["pings: close"] == "none"
