"""Class 7: each probe held against the reference, and caught where a broken server lets it through."""

from __future__ import annotations

from typing import Any

import pytest

from roomwire.attacks import admission
from roomwire.attacks.report import AttackReport, Verdict
from tests.attacks.conftest import attacked


def verdicts(report: AttackReport) -> dict[str, Verdict]:
    return {finding.what.split(":")[0]: finding.verdict for finding in report.findings}


async def test_the_reference_refuses_every_probe() -> None:
    async with attacked() as (_, target):
        report = await admission.run(target)
    found = verdicts(report)
    assert found["room %61 (percent-escaped `a`)"] is Verdict.HELD
    assert found["Origin http"] is Verdict.HELD  # the loopback origin for another host
    assert found["X-Forwarded-For did not reset the join budget (30 welcomed)"] is Verdict.HELD
    assert Verdict.HURT not in found.values(), report.render()
    assert report.verdict is Verdict.INCONCLUSIVE  # 60 connections at this scale find no per-address limit


@pytest.mark.parametrize(
    ("settings", "caught"),
    [
        ({"allowed_hosts": ("*",)}, "Host"),
        ({"trusted_proxies": ("0.0.0.0/0",)}, "all"),
        ({"max_connections_per_address": 0}, None),
    ],
)
async def test_a_broken_server_is_caught(settings: dict[str, Any], caught: str | None) -> None:
    async with attacked(**settings) as (_, target):
        report = await admission.run(target)
    hurt = [f.what for f in report.findings if f.verdict is Verdict.HURT]
    if caught is None:  # no per-address limit: found at scale 1 only (300 connections); here inconclusive
        assert not hurt and report.verdict is Verdict.INCONCLUSIVE
    else:
        assert [what for what in hurt if what.startswith(caught)], report.render()
