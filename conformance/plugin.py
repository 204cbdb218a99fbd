"""The conformance suite as a pytest plugin (entry point `pytest11: roomwire`), for a team's own pytest/tox/CI.

    pytest --chat-url ws://127.0.0.1:8000/api/v1/ws/chat/{room_id} [--gemini-double-url URL] [--canary-key KEY]
           [--chat-target-log PATH]  # the target's log file: SEC-003's and UP-008's log side
    pytest --chat-bundled            # the bundled reference server and Gemini double
    pytest ... --chat-browser-url [PAGE_URL]   # also load and use the chat page in chromium (bare: the target's /)
    pytest ... --chat-markdown summary.md --chat-badge badge.svg   # the checklist summary, also printed at the end

Inert unless one of those options is given (the plugin is installed with roomwire, and most pytest runs are
not conformance runs). Then the session holds one item per requirement ID, named by the ID (`-k` selects, e.g.
`-k "CHAT or PRES"`), grouped under one collector; JUnit XML comes from pytest's own `--junitxml`.

The suite runs once, concurrently, for the items left after selection, when the first of them is set up; each
item then reports its requirement: PASS passes, FAIL fails with the evidence, SKIP skips with the reason, and a
harness ERROR is raised during setup, so pytest shows it as an error, not a failure of the target.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

ITEMS_KEY = pytest.StashKey[list[str]]()
RESULT_KEY = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("roomwire", "roomwire conformance suite")
    group.addoption("--chat-url", action="append", default=[], metavar="URL", help="chat endpoint template(s) to check")
    group.addoption("--chat-bundled", action="store_true", help="check the bundled reference server")
    group.addoption("--gemini-double-url", metavar="URL", help="the Gemini double the target is wired to")
    group.addoption("--canary-key", metavar="KEY", help="the fake key configured in the target")
    group.addoption(
        "--chat-target-log",
        action="append",
        default=[],
        metavar="PATH",
        help="a file the target writes its log to, read after the run (SEC-003, UP-008; repeatable)",
    )
    group.addoption("--chat-timeout-factor", type=float, default=1.0, metavar="F", help="scale every wait")
    group.addoption("--chat-ca-file", metavar="PATH", help="trust this CA for wss://")
    group.addoption("--chat-level", choices=("must", "should"), help="must: MUSTs only")
    group.addoption(
        "--chat-browser-url",
        nargs="?",
        const="/",
        metavar="PAGE_URL",
        help="load and use this chat page in chromium (key leaks, CLIENT-*); bare: the page the target serves at /",
    )
    group.addoption(
        "--chat-no-browser", action="store_true", help="--chat-bundled: do not use the reference's page in chromium"
    )
    group.addoption("--chat-markdown", metavar="PATH", help="write the checklist summary as Markdown here")
    group.addoption("--chat-badge", metavar="PATH", help="write the SVG badge (profile, checklist items held) here")


def pytest_configure(config: pytest.Config) -> None:
    """A bad --chat-browser-url (or --chat-target-log) is a usage error before anything runs."""
    value = config.getoption("chat_browser_url", None)
    if value is not None and _enabled(config):
        from roomwire.conformance.suite import check_browser_page
        from roomwire.spec.errors import UsageError

        try:
            check_browser_page(value)
        except UsageError as exc:
            raise pytest.UsageError(str(exc).replace("--browser", "--chat-browser-url")) from exc
    _check_target_logs(config)


def _check_target_logs(config: pytest.Config) -> None:
    """A --chat-target-log that names no file is a usage error before anything runs."""
    logs = tuple(config.getoption("chat_target_log", None) or ())
    if logs and _enabled(config):
        from roomwire.conformance.suite import check_target_logs
        from roomwire.spec.errors import UsageError

        try:
            check_target_logs(tuple(config.getoption("chat_url")), logs)
        except UsageError as exc:
            raise pytest.UsageError(str(exc).replace("--target-log", "--chat-target-log")) from exc


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("chat_url") or config.getoption("chat_bundled"))


class RequirementItem(pytest.Item):
    """One requirement of SPEC.md; its verdict comes from the one suite run of the session."""

    def __init__(self, *, requirement_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.requirement_id = requirement_id

    def setup(self) -> None:
        result = _run_once(self.config)
        verdict = result.results.get(self.requirement_id)
        if verdict is not None and verdict.status.value == "error":
            raise HarnessErrorInSuite(f"{self.requirement_id}: {verdict.detail}")

    def runtest(self) -> None:
        from roomwire.conformance.outcomes import Status

        verdict = self.config.stash[RESULT_KEY].results.get(self.requirement_id)
        if verdict is None or verdict.status is Status.SKIP:
            pytest.skip(verdict.detail if verdict is not None else "not run")
        if verdict.status is Status.FAIL:
            raise RequirementFailed(self.requirement_id, verdict)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, RequirementFailed):
            return excinfo.value.report()
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return "roomwire-conformance", None, self.requirement_id


class RequirementFailed(AssertionError):
    """The target broke the requirement; the message is the console report's evidence block."""

    def __init__(self, requirement_id: str, verdict: Any) -> None:
        super().__init__(f"{requirement_id}: {verdict.detail}")
        self.verdict = verdict

    def report(self) -> str:
        from roomwire.conformance.outcomes import Status
        from roomwire.conformance.report import _evidence

        req = self.verdict.requirement
        lines = [f"{req.id} ({req.level.value}): {req.text}", self.verdict.detail]
        for check in self.verdict.checks:
            if check.status is Status.FAIL:
                lines += _evidence(check)
        return "\n".join(lines)


class HarnessErrorInSuite(Exception):
    """The suite could not judge this requirement (a harness error, never the target's failure)."""


class ConformanceCollector(pytest.Collector):
    """Holds one RequirementItem per requirement ID of SPEC.md."""

    def collect(self) -> Iterator[pytest.Item]:
        from roomwire.spec.requirements import Level, catalog

        level = self.config.getoption("chat_level")
        for req in catalog().values():
            if level == "must" and req.level is not Level.MUST:
                continue
            yield RequirementItem.from_parent(self, name=req.id, requirement_id=req.id)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add the requirement items first, so that pytest's own `-k`/`-m` deselection applies to them too."""
    if _enabled(config):
        items.extend(ConformanceCollector.from_parent(session, name="roomwire-conformance").collect())


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[ITEMS_KEY] = [i.requirement_id for i in session.items if isinstance(i, RequirementItem)]


def _run_once(config: pytest.Config) -> Any:
    """Run the suite for the selected requirement IDs (once per session) and keep the result."""
    if RESULT_KEY in config.stash:
        if isinstance(config.stash[RESULT_KEY], HarnessErrorInSuite):
            raise config.stash[RESULT_KEY]
        return config.stash[RESULT_KEY]
    import asyncio

    from roomwire.conformance.suite import SuiteConfig, run_suite
    from roomwire.spec.errors import HarnessError
    from roomwire.spec.requirements import Level

    selected: list[str] = config.stash[ITEMS_KEY] if ITEMS_KEY in config.stash else []
    suite = SuiteConfig(
        urls=tuple(config.getoption("chat_url")),
        double_url=config.getoption("gemini_double_url"),
        canary_key=config.getoption("canary_key"),
        only=tuple(selected),
        level=Level.MUST if config.getoption("chat_level") == "must" else None,
        ca_file=config.getoption("chat_ca_file"),
        timeout_factor=config.getoption("chat_timeout_factor"),
        browser=config.getoption("chat_browser_url"),
        default_browser=not config.getoption("chat_no_browser"),
        target_logs=tuple(config.getoption("chat_target_log")),
    )
    try:
        result = asyncio.run(run_suite(suite))
    except HarnessError as exc:
        config.stash[RESULT_KEY] = HarnessErrorInSuite(f"the conformance suite could not run: {exc}")
        raise config.stash[RESULT_KEY] from exc
    config.stash[RESULT_KEY] = result
    return result


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The answer first, at the end where pytest puts summaries: the nine checklist items and the run's facts;
    `--chat-markdown` and `--chat-badge` write the same answer to files."""
    result = config.stash.get(RESULT_KEY, None)
    if result is None or isinstance(result, HarnessErrorInSuite):
        return
    from pathlib import Path

    from roomwire.conformance import summary_files
    from roomwire.conformance.report import answer_first

    terminalreporter.section("roomwire checklist")
    for line in answer_first(result):
        terminalreporter.write_line(line)
    if config.getoption("chat_markdown"):
        summary_files.write_markdown(result, Path(config.getoption("chat_markdown")))
    if config.getoption("chat_badge"):
        summary_files.write_badge(result, Path(config.getoption("chat_badge")))
