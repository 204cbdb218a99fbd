"""The pytest plugin, tested with pytester: inert by default, one item per requirement when asked, verdicts
mapped to pass/fail/skip/error, JUnit XML from pytest itself."""

from __future__ import annotations

import socket

import pytest

from roomwire.spec.requirements import catalog
from tests.conformance.toy import Toy, toy_in_thread

pytest_plugins = ["pytester"]

TRIVIAL = "def test_ok():\n    assert True\n"
ALL = len(catalog())
#: Options of the inner runs: no cache directory, and pytest-asyncio told its loop scope (it warns otherwise).
QUIET = ("-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")


def test_inert_without_its_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TRIVIAL)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=1)


def test_one_item_per_requirement_selected_by_k(pytester: pytest.Pytester) -> None:
    with toy_in_thread() as url:
        result = pytester.runpytest(
            *QUIET, "--chat-url", url, "--chat-timeout-factor", "0.5",
            "-k", "CHAT-001 or FRAME-003 or PRES-001", "-rs", "--junitxml", "junit.xml",
        )  # fmt: skip
    result.assert_outcomes(passed=2, skipped=1, deselected=ALL - 3)
    result.stdout.fnmatch_lines(["*a client requirement*browser*"])
    assert (pytester.path / "junit.xml").read_text().count("<testcase") == 3


def test_the_session_ends_with_the_checklist_and_writes_the_summaries(pytester: pytest.Pytester) -> None:
    with toy_in_thread() as url:
        result = pytester.runpytest(
            *QUIET, "--chat-url", url, "--chat-timeout-factor", "0.5", "-k", "CHAT-001",
            "--chat-markdown", "summary.md", "--chat-badge", "badge.svg",
        )  # fmt: skip
    result.assert_outcomes(passed=1, deselected=ALL - 1)
    result.stdout.fnmatch_lines(["*roomwire checklist*", "roomwire/1 · 0/9 checklist items hold*", "*NOT JUDGED 3.*"])
    assert (pytester.path / "summary.md").read_text().startswith("### roomwire check: roomwire/1")
    assert "0/9" in (pytester.path / "badge.svg").read_text()


def test_a_failed_requirement_fails_with_its_evidence(pytester: pytest.Pytester) -> None:
    with toy_in_thread(Toy(no_broadcast=True)) as url:
        result = pytester.runpytest(*QUIET, "--chat-url", url, "--chat-timeout-factor", "0.3", "-k", "CHAT-001")
    result.assert_outcomes(failed=1, deselected=ALL - 1)
    result.stdout.fnmatch_lines(["*CHAT-001 (MUST)*", "*expected: *", "*connection A*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_an_unreachable_target_is_an_error_not_a_failure(pytester: pytest.Pytester) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    url = f"ws://127.0.0.1:{port}/api/v1/ws/chat"
    result = pytester.runpytest(*QUIET, "--chat-url", url, "-k", "CHAT-001 or CHAT-002")
    result.assert_outcomes(errors=2, deselected=ALL - 2)
    result.stdout.fnmatch_lines(["*could not run*"])


def test_level_must_collects_only_musts(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        *QUIET, "--chat-url", "ws://127.0.0.1:1/x", "--chat-level", "must", "--collect-only", "-q"
    )
    assert "CHAT-005" not in result.stdout.str() and "CHAT-001" in result.stdout.str()


def test_without_chat_browser_url_the_page_requirements_skip(pytester: pytest.Pytester) -> None:
    with toy_in_thread() as url:
        result = pytester.runpytest(*QUIET, "--chat-url", url, "-k", "CLIENT-001 or CLIENT-005", "-rs")
    result.assert_outcomes(skipped=2, deselected=ALL - 2)
    result.stdout.fnmatch_lines(["*needs --browser PAGE_URL*--chat-browser-url*"])


def test_a_bad_chat_browser_url_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*QUIET, "--chat-url", "ws://127.0.0.1:1/x", "--chat-browser-url", "ws://127.0.0.1:1/")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--chat-browser-url takes the chat page's http(s) URL*"])


def test_chromium_missing_is_an_error_not_a_failure(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOMWIRE_CHROMIUM", "/nonexistent/chromium")
    with toy_in_thread() as url:
        result = pytester.runpytest(
            *QUIET, "--chat-url", url, "--chat-browser-url", "http://127.0.0.1:1/", "-k", "CLIENT-004 or CHAT-001"
        )
    result.assert_outcomes(passed=1, errors=1, deselected=ALL - 2)
    result.stdout.fnmatch_lines(["*chromium not found*/nonexistent/chromium*"])
