"""Class 1 against the reference (held) and against a server that parses without a depth limit (hurt)."""

from __future__ import annotations

from roomwire.attacks import nesting
from roomwire.attacks.report import Verdict
from roomwire.targets.broken.hardening import ParsesDeepFrames
from tests.attacks.conftest import attacked


async def test_the_reference_answers_every_deep_frame_and_nobody_notices() -> None:
    async with attacked() as (_, target):
        report = await nesting.run(target)
    assert report.verdict is Verdict.HELD, report.render()
    assert report.figures["answer: error bad_json"] == report.figures["frames"] >= 3
    assert report.figures["bystander_lost"] == 0


async def test_a_parser_without_a_depth_limit_is_caught() -> None:
    async with attacked(connection_class=ParsesDeepFrames) as (_, target):
        report = await nesting.run(target)
    assert report.verdict is Verdict.HURT, report.render()
    assert report.figures.get("answer: closed 1011", 0) > 0  # the RecursionError of issue 13
