"""SEC-003's and UP-008's log side: judged from `--target-log PATH` for a URL target and from the log the suite
keeps of a bundled one; not judged, and said so, without a log. The seed's copy, which logs Google's whole error
body through uvicorn, fails both on its log, and the reference passes both: tests/conformance/test_whole_suite.py
judges that in its whole runs of each."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from roomwire.cli import main
from roomwire.conformance.bundled import DOUBLE_SETTINGS, TEST_AI_BUDGET, ServerProcess, new_canary, target_command
from roomwire.conformance.bundled import target_env as bundled_env
from roomwire.conformance.checks.logs import LOG_CHECKS
from roomwire.conformance.outcomes import Status
from roomwire.conformance.runner import RunResult
from roomwire.conformance.suite import SuiteConfig, run_suite
from roomwire.gemini_double import DoubleConfig, serve_double

pytest_plugins = ["pytester"]
QUIET = ("-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")


def log_side(result: RunResult) -> dict[str, tuple[Status, str]]:
    """SEC-003's and UP-008's log-side verdicts: (status, detail)."""
    found = {}
    for rid, check in LOG_CHECKS.items():
        (mine,) = [c for c in result.results[rid].checks if c.check == check]
        found[rid] = (mine.status, mine.detail)
    return found


@dataclass
class UrlTarget:
    url: str
    double_url: str
    canary: str
    log: Path


@asynccontextmanager
async def url_target(variant: str, tmp_path: Path) -> AsyncIterator[UrlTarget]:
    """A bundled variant served as a subprocess the way a team runs its server: its stderr into a file."""
    canary = new_canary()
    async with serve_double(DoubleConfig(**DOUBLE_SETTINGS)) as double:  # type: ignore[arg-type]
        env = {**bundled_env(double.base_url, canary, variant), **TEST_AI_BUDGET}
        server = ServerProcess(target_command(variant, double.base_url, 0), env, str(tmp_path), log=tmp_path / "t.log")
        try:
            url = await server.start()
            yield UrlTarget(url, double.base_url, canary, server.log)
        finally:
            await server.stop()


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_a_url_targets_log_is_judged_from_target_log_and_not_judged_without(tmp_path: Path) -> None:
    async with url_target("logs_error_details", tmp_path) as target:
        config = SuiteConfig(
            urls=(target.url,), double_url=target.double_url, canary_key=target.canary, only=tuple(LOG_CHECKS)
        )
        without = await run_suite(config)
        (target.log.parent / "other.log").write_text("")
        logs = (str(target.log), str(target.log.parent / "other.log"))
        judged = await run_suite(SuiteConfig(**{**config.__dict__, "target_logs": logs}))
    for rid in LOG_CHECKS:  # the frame side holds; the log side was not judged, and the requirement says so
        assert without.results[rid].status is Status.PASS
        assert "partial" in without.results[rid].detail and "the log side was not judged" in without.results[rid].detail
    verdicts = log_side(judged)
    assert {rid: status for rid, (status, _) in verdicts.items()} == {"SEC-003": Status.FAIL, "UP-008": Status.FAIL}
    sec, up = verdicts["SEC-003"][1], verdicts["UP-008"][1]
    assert f"the canary key in 2 line(s): {target.log} line " in sec and "«canary key»" in sec
    assert "'has been suspended'" in up and f"{target.log} line " in up
    report = json.dumps([r.detail for r in judged.results.values()])
    assert target.canary not in report and target.canary[:16] not in report


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["check", "--target-log", "x.log", "--only", "SEC-003"], "the suite keeps the bundled target's itself"),
        (["check", "ws://127.0.0.1:1/x", "--target-log", "/nonexistent/x.log"], "no such file"),
    ],
)
def test_target_log_usage_errors_exit_2(argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert said in capsys.readouterr().err


def test_the_plugin_refuses_a_target_log_that_is_no_file(pytester: pytest.Pytester) -> None:
    options = ("--chat-url", "ws://127.0.0.1:1/x", "--chat-target-log", "/nonexistent/x.log", "-k", "CHAT-001")
    result = pytester.runpytest(*QUIET, *options)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--chat-target-log /nonexistent/x.log: no such file*"])
