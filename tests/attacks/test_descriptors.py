"""Class 3 against the reference (at most 64 held, /healthz answered) and without the per-address bound."""

from __future__ import annotations

from roomwire.attacks import descriptors
from roomwire.attacks.report import Verdict
from roomwire.attacks.target import Bounds
from roomwire.targets.broken.hardening import no_pending_limit
from tests.attacks.conftest import target_of
from tests.reference.helpers import serving


async def test_half_sent_requests_are_bounded_and_healthz_answers_another_address() -> None:
    async with serving(request_timeout_s=2.0) as server:
        report = await descriptors.run(target_of(server))
    assert report.verdict is Verdict.HELD, report.render()
    assert report.figures["held_open_after_1s"] <= 64 < report.figures["attempted"]
    assert report.figures["other_address_failures"] == 0


async def test_a_server_that_holds_them_all_is_caught() -> None:
    undo = no_pending_limit()
    try:
        async with serving() as server:
            # 4 s to open its 200: on a loaded machine 1 s opened fewer than the 64 a bounded server would hold
            report = await descriptors.run(target_of(server, Bounds(max_seconds=4.0, scale=0.1)))
    finally:
        undo()
    assert report.verdict is Verdict.HURT, report.render()
    assert report.figures["held_open_after_1s"] > 64
