"""`roomwire check`: exit codes 0/1/2/3, listing, and the report files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roomwire.cli import main
from tests.conformance.toy import Toy, toy_in_thread
from tests.support.processes import free_port


def test_list_prints_every_requirement_with_its_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--list"]) == 0
    out = capsys.readouterr().out
    assert "CHAT-001" in out and "check broadcast_reaches_every_member_sender_included" in out
    assert "not covered: a client requirement" in out and "needs double" in out


def test_list_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--list-targets"]) == 0
    assert "drops_leave_notice" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "ws://127.0.0.1:1/x", "--only", "CHAT/1"],
        ["check", "ws://127.0.0.1:1/x", "--timeout-factor", "0"],
        ["check", "ws://127.0.0.1:1/x", "--concurrency", "0"],
        ["check", "--bundled", "nope"],
        ["check", "--double", "http://127.0.0.1:1"],
        ["check", "ws://127.0.0.1:1/x", "--bundled", "seed"],
        ["check", "http://127.0.0.1:1/x"],
        ["check", "ws://127.0.0.1:1/x", "--canary-key", "short"],
        ["check", "wss://127.0.0.1:1/x", "--ca-file", "/nonexistent.pem"],
        ["check", "--browser", "ws://127.0.0.1:1/x"],  # the chat URL taken as the page: said so
        ["check", "ws://127.0.0.1:1/x", "--browser", "file:///tmp/page.html"],
        ["check", "ws://127.0.0.1:1/x", "--browser", "--canary-key", "short-key"],  # too short to search for
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_unreachable_target_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", f"ws://127.0.0.1:{free_port()}/api/v1/ws/chat", "--only", "CHAT-001"]) == 3
    assert "could not run" in capsys.readouterr().err


def test_a_passing_target_exits_0_and_writes_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = {"--report-json": tmp_path / "r.json", "--junit": tmp_path / "r.xml", "--html": tmp_path / "r.html"}
    with toy_in_thread() as url:
        argv = ["check", url, "--only", "CHAT-001,PRES-001", "--timeout-factor", "0.5"]
        assert main([*argv, *(str(x) for pair in files.items() for x in pair)]) == 0
    assert "PASS  CHAT-001" in capsys.readouterr().out
    data = json.loads(files["--report-json"].read_text())
    assert {r["id"]: r["status"] for r in data["requirements"]} == {"CHAT-001": "pass", "PRES-001": "pass"}
    assert files["--junit"].read_text().startswith("<?xml") and files["--html"].exists()


def test_a_failed_must_exits_1_and_a_failed_should_only_under_strict(capsys: pytest.CaptureFixture[str]) -> None:
    with toy_in_thread(Toy(no_broadcast=True)) as url:
        assert main(["check", url, "--only", "CHAT-001", "--timeout-factor", "0.3"]) == 1
    with toy_in_thread() as url:
        assert main(["check", url, "--only", "INPUT-006", "--timeout-factor", "0.3"]) == 0
        assert main(["check", url, "--only", "INPUT-006", "--timeout-factor", "0.3", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  CHAT-001" in out and "WARN  INPUT-006" in out


def test_level_must_leaves_shoulds_out(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    with toy_in_thread() as url:
        code = main(["check", url, "--only", "INPUT-006,CHAT-001", "--level", "must", "--report-json", str(report)])
    assert code == 0
    assert [r["id"] for r in json.loads(report.read_text())["requirements"]] == ["CHAT-001"]


def test_progress_total_counts_every_check_of_a_selected_requirement() -> None:
    import roomwire.conformance.checks  # noqa: F401 - registers the checks
    from roomwire.conformance.profiles import profile
    from roomwire.conformance.registry import REGISTRY
    from roomwire.conformance.suite import SuiteConfig, selected_count

    def checks(rid: str) -> list[object]:  # those the default profile runs (a seed-form check runs under its own)
        return [c for c in REGISTRY.for_requirement(rid) if profile(SuiteConfig().profile).allows(c.profiles)]

    assert selected_count(SuiteConfig(only=("CHAT-001",))) == len(checks("CHAT-001"))
    several = checks("INPUT-003")  # counted from the registry: a new check changes no number here
    assert len(several) > 1 and selected_count(SuiteConfig(only=("INPUT-003",))) == len(several)
    first = REGISTRY.for_requirement("INPUT-003")[0].name
    assert selected_count(SuiteConfig(only=(first,))) == len(several)  # a check selects its requirement


def test_without_browser_the_page_requirements_skip_with_the_option_named(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    with toy_in_thread() as url:
        assert main(["check", url, "--only", "CLIENT,SEC-005", "--report-json", str(report)]) == 0
    found = {r["id"]: r for r in json.loads(report.read_text())["requirements"]}
    for rid in ("CLIENT-001", "CLIENT-002", "CLIENT-004", "CLIENT-005"):
        assert found[rid]["status"] == "skip"
        assert found[rid]["detail"].startswith("needs --browser PAGE_URL"), found[rid]["detail"]
    assert found["CLIENT-003"]["detail"].startswith("not covered: a client requirement")
    browser_side = [c for c in found["SEC-005"]["checks"] if c["check"].startswith("the_browser_")]
    assert [c["status"] for c in browser_side] == ["skip"] and "needs --browser PAGE_URL" in browser_side[0]["detail"]


@pytest.mark.timeout(120)
def test_the_bundled_reference_without_chromium_skips_the_page_saying_how_to_get_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The browser is used by default without URL; when it is missing that is a SKIP with the way to get it (a
    newcomer's run is not an ERROR), and --no-browser leaves it out as a URL run does."""
    monkeypatch.setenv("ROOMWIRE_CHROMIUM", str(tmp_path / "no-such-chromium"))
    report = tmp_path / "r.json"
    assert main(["check", "--only", "CLIENT-004", "--report-json", str(report)]) == 0
    data = json.loads(report.read_text())
    [client] = data["requirements"]
    assert client["status"] == "skip" and client["detail"].startswith("needs chromium and Playwright: apt-get install")
    assert "no `playwright install`" in client["detail"] and "no-such-chromium" in client["detail"]
    assert data["facts"]["browser"].startswith("not used; to use the page in chromium: apt-get install chromium")
    assert "browser: not used; to use the page in chromium" in capsys.readouterr().out
    assert main(["check", "--no-browser", "--only", "CLIENT-004", "--report-json", str(report)]) == 0
    [client] = json.loads(report.read_text())["requirements"]
    assert client["detail"].startswith("needs --browser PAGE_URL")


def test_which_runs_use_the_browser_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from roomwire.conformance import chromium
    from roomwire.conformance.suite import OWN_PAGE, SuiteConfig, browser_page

    monkeypatch.setattr(chromium, "unavailable", lambda: None)
    assert browser_page(SuiteConfig()) == (OWN_PAGE, None)
    assert browser_page(SuiteConfig(variant="reference")) == (OWN_PAGE, None)
    assert browser_page(SuiteConfig(variant="seed")) == (None, None)  # serves no page
    assert browser_page(SuiteConfig(urls=("ws://h/x",))) == (None, None)  # only its owner knows its page
    assert browser_page(SuiteConfig(default_browser=False)) == (None, None)
    assert browser_page(SuiteConfig(urls=("ws://h/x",), browser="/p")) == ("/p", None)
    monkeypatch.setattr(chromium, "unavailable", lambda: "get it")
    assert browser_page(SuiteConfig()) == (None, "get it")


def test_chromium_missing_is_a_harness_error_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never a pass and never the target's failure: ERROR with a clear message, exit 3 (no browser needed)."""
    monkeypatch.setenv("ROOMWIRE_CHROMIUM", str(tmp_path / "no-such-chromium"))
    report = tmp_path / "r.json"
    with toy_in_thread() as url:
        argv = ["check", url, "--browser", "http://127.0.0.1:1/", "--only", "CLIENT-004,CHAT-001"]
        assert main([*argv, "--report-json", str(report)]) == 3
    found = {r["id"]: r for r in json.loads(report.read_text())["requirements"]}
    assert found["CHAT-001"]["status"] == "pass"
    assert found["CLIENT-004"]["status"] == "error"
    assert "chromium not found" in found["CLIENT-004"]["detail"] and "no-such-chromium" in found["CLIENT-004"]["detail"]
    assert "ERROR CLIENT-004" in capsys.readouterr().out


def test_a_bare_browser_option_means_the_targets_own_page() -> None:
    import argparse

    from roomwire.conformance.cli import config_from_args, register
    from roomwire.conformance.suite import OWN_PAGE, browser_page_url
    from roomwire.conformance.target import parse_target

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    config = config_from_args(parser.parse_args(["check", "wss://chat.example/api/v1/ws/chat", "--browser"]))
    assert config.browser == OWN_PAGE
    target = parse_target(["wss://chat.example/api/v1/ws/chat"])
    assert browser_page_url(config.browser, target) == "https://chat.example/"
    assert browser_page_url("/embed.html", target) == "https://chat.example/embed.html"
    given = config_from_args(parser.parse_args(["check", "--browser", "http://127.0.0.1:8000/"]))
    assert given.browser == "http://127.0.0.1:8000/" and given.urls == ()
