"""The registry refuses what would make a requirement silently unchecked, and every server MUST has a check."""

from __future__ import annotations

import pytest

import roomwire.conformance.checks  # noqa: F401 - registers the checks
from roomwire.conformance.context import CheckContext
from roomwire.conformance.registry import (
    NEED_REASONS,
    NOT_COVERED,
    REGISTRY,
    Need,
    Registry,
    RegistryError,
    matches,
    parse_only,
)
from roomwire.spec.requirements import Level, catalog


async def _noop(ctx: CheckContext) -> None:
    """A check that does nothing."""


def test_every_server_must_has_a_check_and_every_should_too() -> None:
    assert REGISTRY.uncovered(Level.MUST) == []
    assert REGISTRY.uncovered() == []


def test_not_covered_lists_client_requirements_and_server_internals_without_checks() -> None:
    for rid, reason in NOT_COVERED.items():
        assert REGISTRY.for_requirement(rid) == []
        if rid.startswith("CLIENT-") or rid == "FRAME-003":
            assert "browser" in reason
        else:  # a server's internals (memory): its reason says so and names the reference's own test
            assert "not observable from outside" in reason and "tests/reference/" in reason


def test_the_browser_checks_cover_the_page_requirements_and_the_keys_browser_side() -> None:
    """`--browser` runs CLIENT-001/002/004/005 and the browser side of SEC-003/SEC-005; without it they skip."""
    browser = {
        rid: [c.name for c in REGISTRY.for_requirement(rid) if Need.BROWSER in c.needs]
        for rid in ("CLIENT-001", "CLIENT-002", "CLIENT-004", "CLIENT-005", "SEC-003", "SEC-005")
    }
    assert all(browser.values()), browser
    assert len(browser["CLIENT-001"]) == 2 and len(browser["CLIENT-002"]) == 2
    for rid in ("SEC-003", "SEC-005"):
        [name] = browser[rid]
        assert REGISTRY.checks[name].needs == {Need.BROWSER, Need.CANARY_KEY}
        assert [c for c in REGISTRY.for_requirement(rid) if Need.BROWSER not in c.needs]  # the HTTP/frame side
    assert {rid for rid in NOT_COVERED if "browser" in NOT_COVERED[rid]} == {"FRAME-003", "CLIENT-003", "CLIENT-006"}
    assert NEED_REASONS[Need.BROWSER].startswith("needs --browser PAGE_URL")


def test_unknown_id_is_refused() -> None:
    registry = Registry()
    with pytest.raises(RegistryError, match="CHAT-999"):
        registry.requirement("CHAT-999")(_noop)


def test_duplicate_name_is_refused_unless_the_same_function_comes_again() -> None:
    registry = Registry()
    registry.requirement("CHAT-001")(_noop)
    registry.requirement("CHAT-001")(_noop)  # its module imported again

    async def shadow(ctx: CheckContext) -> None:
        """Another function of the same name."""

    shadow.__name__ = "_noop"
    with pytest.raises(RegistryError, match="already registered"):
        registry.requirement("CHAT-002")(shadow)


def test_repeated_id_and_not_covered_ids_are_refused() -> None:
    with pytest.raises(RegistryError, match="twice"):
        Registry().requirement("CHAT-001", also=("CHAT-001",))(_noop)
    with pytest.raises(RegistryError, match="not covered"):
        Registry().requirement("CLIENT-003")(_noop)


def test_check_keeps_its_doc_line_and_ids() -> None:
    registry = Registry()
    registry.requirement("CHAT-001", also=("CHAT-004",), slow=True, exclusive=True, order=3)(_noop)
    check = registry.checks["_noop"]
    assert check.requirement_ids == ("CHAT-001", "CHAT-004")
    assert check.doc == "A check that does nothing."
    assert (check.slow, check.exclusive, check.order) == (True, True, 3)
    assert registry.for_requirement("CHAT-004") == []


def test_only_patterns() -> None:
    assert parse_only("CHAT-*, PRES-002 sec") == ["CHAT-*", "PRES-002", "sec"]
    with pytest.raises(ValueError, match="at least one"):
        parse_only(" , ")
    with pytest.raises(ValueError, match="not an ID"):
        parse_only("CHAT/1")
    chat = catalog()["CHAT-001"]
    assert matches(["chat-*"], chat) and matches(["CHAT"], chat) and not matches(["PRES-*"], chat)
    assert matches(["broadcast_*"], chat, "broadcast_reaches_every_member_sender_included")


def test_every_check_is_a_documented_coroutine_named_for_what_must_hold() -> None:
    import inspect

    for check in REGISTRY.checks.values():
        assert inspect.iscoroutinefunction(check.func), check.name
        assert check.doc, check.name
        assert not check.name.startswith("test"), check.name
