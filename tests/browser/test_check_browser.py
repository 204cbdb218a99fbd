"""`roomwire check --browser` (and the plugin's `--chat-browser-url`): the browser scan as conformance checks.

Both ways, as every check must be shown: the bundled reference's own page passes SEC-003/SEC-005's browser side
and CLIENT-001/002/004/005 (exit 0); a deliberately leaky deployment (leaky_site.py) fails SEC-003 and SEC-005
with the places in every report (exit 1); each deliberately broken page (broken_page.py) fails exactly its CLIENT
requirement. Chromium missing is exit 3 (tests/conformance/test_cli.py, no browser needed).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from roomwire.cli import main

from .broken_page import DEFECTS
from .conftest import canary_key, require_chromium
from .leaky_site import LEAK_PLACES, LeakySite

pytestmark = pytest.mark.browser

pytest_plugins = ["pytester"]

BROWSER_CHECKED = ("CLIENT-001", "CLIENT-002", "CLIENT-004", "CLIENT-005")
BROWSER_CHECKS = {
    "SEC-003": "the_browser_receives_no_key_in_frames_or_responses",
    "SEC-005": "the_browser_holds_no_key_in_page_scripts_storage_or_cookies",
}


@pytest.fixture(autouse=True)
def _chromium() -> None:
    require_chromium()


def report(path: Path) -> dict[str, dict[str, object]]:
    return {str(r["id"]): r for r in json.loads(path.read_text(encoding="utf-8"))["requirements"]}


def check(requirement: dict[str, object], name: str) -> dict[str, object]:
    checks = requirement["checks"]
    assert isinstance(checks, list)
    [found] = [c for c in checks if c["check"] == name]
    return dict(found)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_bundled_reference_page_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --browser: a run of the bundled reference uses its page in chromium by default (issue 16)."""
    path = tmp_path / "r.json"
    code = main(["check", "--only", "SEC-003,SEC-005,CLIENT-*", "--report-json", str(path)])
    out = capsys.readouterr().out
    assert code == 0, out[-4000:]
    found = report(path)
    for rid in ("SEC-003", "SEC-005", *BROWSER_CHECKED):
        assert found[rid]["status"] == "pass", (rid, found[rid]["detail"])
    for rid in BROWSER_CHECKED:  # every check of the requirement judged: nothing partial
        assert "partial" not in str(found[rid]["detail"]), found[rid]["detail"]
    for rid, name in BROWSER_CHECKS.items():
        assert check(found[rid], name)["status"] == "pass"
    assert found["CLIENT-003"]["status"] == "skip" and "not covered" in str(found["CLIENT-003"]["detail"])
    assert "browser: http://127.0.0.1:" in out
    assert "the wait shown beside error/upstream_rate_limited" in str(found["CLIENT-002"]["detail"])


# The whole suite with the browser against the reference, on the spec's default AI budget (the browser checks take
# their turn after the restart, RECON-002, and before the budget is drained) is `tox -e conformance`: the main job,
# which then requires CLIENT-001/002/004/005 and SEC-005 to have passed (tools/require_passed.py).


def test_a_leaky_deployment_fails_with_the_places_in_every_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {"--report-json": tmp_path / "r.json", "--junit": tmp_path / "r.xml", "--html": tmp_path / "r.html"}
    with LeakySite(canary_key(), frozenset(LEAK_PLACES)).in_thread() as site:
        argv = ["check", site.chat_url, "--browser", site.url, "--canary-key", site.secret, "--only", "SEC-003,SEC-005"]
        code = main([*argv, *(str(x) for pair in files.items() for x in pair)])
    out = capsys.readouterr().out
    assert code == 1, out[-4000:]
    found = report(files["--report-json"])
    places: dict[str, set[str]] = {}
    for rid, name in BROWSER_CHECKS.items():
        assert found[rid]["status"] == "fail"
        result = check(found[rid], name)
        assert result["status"] == "fail"
        evidence = result["evidence"]
        assert isinstance(evidence, dict)
        scan = evidence["browser_scan"]
        places[rid] = {f["place"] for f in scan["findings"] if f["requirement"] == rid}
        assert "[SECRET]" in str(evidence["actual"])
    assert {"ws_frame_received", "response_header", "response_body"} <= places["SEC-003"]
    assert {"dom", "script", "cookie", "local_storage", "session_storage", "global", "console"} <= places["SEC-005"]
    # the frame checks need the double to prove the canary; without it they skip, and say why
    assert check(found["SEC-005"], "the_page_and_its_assets_hold_no_key")["status"] == "skip"
    for path in files.values():
        text = path.read_text(encoding="utf-8")
        assert site.secret not in text
        assert "local_storage" in text and "ws_frame_received" in text
    assert site.secret not in out and "local_storage [base64]" in out


def test_a_clean_page_without_the_double_is_no_verdict_on_the_key(tmp_path: Path) -> None:
    """No find, but nothing proves the target uses the canary: SKIP with the reason, never a pass."""
    path = tmp_path / "r.json"
    with LeakySite(canary_key()).in_thread() as site:
        argv = ["check", site.chat_url, "--browser", site.url, "--canary-key", site.secret, "--only", "SEC-005"]
        assert main([*argv, "--report-json", str(path)]) == 0
    result = check(report(path)["SEC-005"], BROWSER_CHECKS["SEC-005"])
    assert result["status"] == "skip" and "cannot prove" in str(result["detail"])


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_a_broken_page_fails_exactly_its_requirement(defect: str, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    broken = DEFECTS[defect][0]
    with LeakySite(canary_key(), defects=frozenset({defect})).in_thread() as site:
        argv = ["check", site.chat_url, "--browser", site.url, "--only", "CLIENT", "--report-json", str(path)]
        assert main(argv) == 1
    found = report(path)
    statuses = {rid: found[rid]["status"] for rid in BROWSER_CHECKED}
    assert statuses[broken] == "fail", found[broken]["detail"]
    assert {rid for rid, status in statuses.items() if status == "fail"} == {broken}, statuses
    checks = found[broken]["checks"]
    assert isinstance(checks, list)
    failed = [c for c in checks if c["status"] == "fail"]
    assert failed and "browser_page" in failed[0]["evidence"]


def test_a_page_without_the_reference_ids_is_scanned_but_not_judged(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    with LeakySite(canary_key()).in_thread() as site:
        argv = ["check", site.chat_url, "--browser", site.url + "plain", "--only", "CLIENT-004", "--report-json"]
        assert main([*argv, str(path)]) == 0
    detail = str(report(path)["CLIENT-004"]["detail"])
    assert "lacks the reference page's element ids" in detail and "#ai-spinner" in detail


def test_a_page_that_does_not_load_is_a_harness_error(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    with socket.socket() as probe:  # a port nothing listens on: the page cannot load (a 404 would)
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    with LeakySite(canary_key()).in_thread() as site:
        argv = ["check", site.chat_url, "--browser", closed, "--only", "CLIENT-005", "--report-json", str(path)]
        assert main(argv) == 3
    result = report(path)["CLIENT-005"]
    assert result["status"] == "error" and "did not load" in str(result["detail"])


def test_the_plugin_fails_the_leak_with_its_places(pytester: pytest.Pytester) -> None:
    quiet = ("-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")
    with LeakySite(canary_key(), frozenset({"local_storage", "ws_frame"})).in_thread() as site:
        result = pytester.runpytest(
            *quiet, "--chat-url", site.chat_url, "--canary-key", site.secret, "--chat-browser-url", site.url,
            "-k", "SEC-003 or SEC-005 or CLIENT-004",
        )  # fmt: skip
    result.assert_outcomes(failed=2, passed=1, deselected=result.parseoutcomes()["deselected"])
    result.stdout.fnmatch_lines(["*SEC-003 (MUST)*", "*ws_frame_received*", "*SEC-005 (MUST)*", "*local_storage*"])
    assert site.secret not in result.stdout.str()
