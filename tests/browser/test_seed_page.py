"""`--bundled seed-fixed --profile seed` with its page in chromium: the seed's design, fixed, holds all nine items, and
its page with the seed's defect put back (`page_inserts_html`) fails exactly CLIENT-004.

Two suite runs in all (and one scan of a page without the ids), each shared by the assertions about it (whole-suite runs
are the suite's most expensive tests): the whole suite on `seed-fixed` (its page used by default, as the bundled
reference's is), and the page checks alone on the page defect. The non-browser side is
tests/conformance/test_seed_profile.py.
"""

from __future__ import annotations

import asyncio

import pytest

from roomwire.conformance.browser import scan_page_for_secret
from roomwire.conformance.bundled import bundled_target
from roomwire.conformance.checklist import ItemStatus, checklist
from roomwire.conformance.outcomes import Status
from roomwire.conformance.profiles import SEED, profile
from roomwire.conformance.registry import NOT_COVERED
from roomwire.conformance.runner import RunResult
from roomwire.conformance.suite import OWN_PAGE, SuiteConfig, run_suite
from roomwire.targets.seed_fixed import DEFECTS, judged_in_browser
from tests.conformance.test_seed_profile import explain, statuses

from .conftest import html_site, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The page's requirements under the seed profile (CLIENT-003 and CLIENT-006 are roomwire/1's).
PAGE = ("CLIENT-001", "CLIENT-002", "CLIENT-004", "CLIENT-005")
#: The seed has no AI budget: pace by a large one, as tests/conformance/test_seed_profile.py does.
AI_BUDGET_RPM = 120


def run(variant: str, only: tuple[str, ...] = (), browser: str | None = None) -> RunResult:
    config = SuiteConfig(variant=variant, only=only, profile=SEED, ai_budget_rpm=AI_BUDGET_RPM, browser=browser)
    return asyncio.run(run_suite(config))


@pytest.fixture(scope="module")
def fixed_seed() -> RunResult:
    """The whole suite on `--bundled seed-fixed --profile seed`, with no --browser: its page is used by default."""
    require_chromium()
    return run("seed-fixed")


@pytest.mark.timeout(600)
def test_the_fixed_seed_with_its_page_holds_all_nine_items(fixed_seed: RunResult) -> None:
    bad = statuses(fixed_seed, Status.FAIL) | statuses(fixed_seed, Status.ERROR)
    assert not bad, explain(fixed_seed, bad)
    assert str(fixed_seed.facts["browser"]).startswith("http://127.0.0.1:"), fixed_seed.facts
    items = checklist(fixed_seed)
    assert [i.item for i in items.items if i.status is ItemStatus.PASS] == list(range(1, 10)), [
        (i.item, i.status.value, i.reason) for i in items.items
    ]
    assert items.headline().startswith("seed · 9/9 checklist items hold"), items.headline()


@pytest.mark.timeout(600)
def test_the_fixed_seeds_page_passes_every_page_requirement(fixed_seed: RunResult) -> None:
    assert statuses(fixed_seed, Status.PASS) >= {*PAGE, "SEC-005"}, explain(fixed_seed, {*PAGE, "SEC-005"})
    for rid in PAGE:  # every check of the requirement under the profile judged: nothing partial, nothing skipped
        assert "partial" not in fixed_seed.results[rid].detail, fixed_seed.results[rid].detail
    skipped = statuses(fixed_seed, Status.SKIP)
    assert skipped <= {"CONN-005", "FLOW-001", *NOT_COVERED}, explain(fixed_seed, skipped)
    # the retry_after half of CLIENT-002 is roomwire/1's (SPEC.md §17), the rest of §14 is the seed's
    assert {"CLIENT-003", "CLIENT-006"} <= set(profile(SEED).not_applicable)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("defect", sorted(d for d in DEFECTS if judged_in_browser(d)))
def test_the_seed_page_defect_fails_exactly_its_requirement(defect: str) -> None:
    require_chromium()
    fails = frozenset(DEFECTS[defect][1].split())
    result = run(f"seed-fixed:{defect}", (*PAGE, "SEC-005"), browser=OWN_PAGE)
    failed, errors = statuses(result, Status.FAIL), statuses(result, Status.ERROR)
    assert not errors, explain(result, errors)
    assert failed == fails, f"unexpected: {explain(result, failed - fails)}; missing: {sorted(fails - failed)}"
    assert statuses(result, Status.PASS) == {*PAGE, "SEC-005"} - fails, explain(result, set(result.results))


@pytest.mark.timeout(120)
async def test_a_page_without_the_ids_is_used_over_the_seed_protocol() -> None:
    """Any other page is used through a socket opened inside it: without a welcome to wait for, it sends once the
    socket is open, with the nickname in its user_msg (a roomwire/1 wait would time out)."""
    require_chromium()
    async with bundled_target("seed-fixed") as bundle:
        with html_site("<!doctype html><title>not a chat page</title>") as page_url:
            result = await scan_page_for_secret(
                page_url, bundle.canary, chat_url=bundle.url, double_url=bundle.double_url, welcome=False
            )
    assert result.steps[2:4] == ("sent a chat message", "asked the AI and saw the answer end"), result.notes
    assert not result.findings and not [n for n in result.notes if "did not finish" in n], result.notes
