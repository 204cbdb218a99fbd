"""Tests mirror modules, and this test says so (python-websockets' `tests/maxi_cov.py` is the model).

Every module of the packages setup.py maps, and of `bench/`, has its own test module: `<folder>/<path>/<name>.py` is
tested by `tests/<folder>/test_<name>.py` (or `test_<path>_<name>.py`, or `test_<parent>_<name>.py` for a module in a
sub-package: `reference/rooms/redis/state.py` -> `tests/reference/test_redis_state.py`). A module that another
test module covers is listed in `ELSEWHERE` with that module; one that no unit test should target is in `EXEMPT`
with the reason. Both lists are checked too, so an entry cannot outlive its module or point at a test that is
gone. A new module therefore comes with its test, or with a line here that a reviewer reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.layout import ROOT, modules

TESTS = ROOT / "tests"

#: Test folders besides `tests/<folder>/` whose tests count for a package.
ALSO_TESTED_IN = {"conformance": ("browser",)}

#: Modules whose tests live in a test module of another name: module -> (test modules, why).
ELSEWHERE: dict[str, tuple[tuple[str, ...], str]] = {
    "roomwire.reference.app": (
        ("reference/test_http.py", "reference/test_handshake.py"),
        "create_app's routes, driven through running_server over real sockets",
    ),
    "roomwire.reference.ai_worker_process": (
        ("reference/test_ai_worker.py",),
        "the worker's side, run by WorkerAiClient in a process and in a thread against the double",
    ),
    "roomwire.reference.endpoint": (("reference/test_seams.py", "reference/test_connection.py"), "the chat route"),
    "roomwire.reference.metrics": (("reference/test_http.py",), "read through /metrics"),
    "roomwire.reference.rooms.broker": (
        ("reference/test_memory.py", "reference/test_redis_broker.py"),
        "the broker protocol, held to by both brokers' tests",
    ),
    "roomwire.reference.rooms.factory": (("reference/test_memory.py", "reference/test_settings.py"), "create_broker"),
    "roomwire.reference.rooms.redis.config": (("reference/test_redis_codec.py",), "the redis:// URL's options"),
    "roomwire.reference.rooms.redis.scripts": (
        ("reference/test_redis_broker.py", "reference/test_redis_state.py"),
        "the Lua scripts, run by a real redis-server",
    ),
    **{
        f"roomwire.reference.rooms.redis.{part}": (
            ("reference/test_redis_broker.py", "reference/test_redis_instances.py"),
            "a part of RedisBroker, driven through it against a real redis-server",
        )
        for part in ("link", "outage", "presence", "shared", "store")
    },
    "roomwire.conformance.browser": (
        ("browser/test_browser_scan.py", "browser/test_with_reference.py"),
        "the scan in real chromium",
    ),
    "roomwire.conformance.page_drivers": (
        ("browser/test_browser_scan.py", "browser/test_check_browser.py"),
        "how the scan uses a page, in real chromium",
    ),
    "roomwire.conformance.client": (("conformance/test_driver.py",), "the connection a driver hands out"),
    "roomwire.conformance.context": (("conformance/test_runner.py", "conformance/test_shared.py"), "CheckContext"),
    "roomwire.conformance.frames": (("conformance/test_evidence.py", "conformance/test_driver.py"), "frame matching"),
    "roomwire.conformance.http_probe": (("conformance/test_report.py",), "the probe the report quotes"),
    "roomwire.conformance.listing": (("conformance/test_cli.py",), "`roomwire check --list`, --list-targets"),
    "roomwire.conformance.outcomes": (("conformance/test_runner.py", "conformance/test_report.py"), "statuses"),
    "roomwire.conformance.preflight": (("conformance/test_upstream.py", "conformance/test_cli.py"), "exit 3"),
    "roomwire.conformance.report_files": (
        ("conformance/test_report.py", "conformance/test_summary_files.py"),
        "JUnit, HTML, summaries",
    ),
    "roomwire.conformance.session": (("conformance/test_plan.py", "conformance/test_prepare.py"), "a run's state"),
    "roomwire.conformance.suite": (("conformance/test_cli.py", "conformance/test_broken_variants.py"), "run_suite"),
    "roomwire.conformance.transcript": (("conformance/test_evidence.py",), "transcripts as evidence"),
    "roomwire.conformance.profiles": (("conformance/test_seed_profile.py",), "what each profile carries"),
    "roomwire.targets.seed_fixed": (
        ("targets/test_seed_fixed_page.py", "conformance/test_seed_profile.py"),
        "its page, and its defects judged under --profile seed",
    ),
    "roomwire.attacks.probes": (("attacks/test_admission.py", "attacks/test_presence.py"), "the attacks' probes"),
    "roomwire.attacks.runner": (("attacks/test_cli.py",), "`roomwire attack` runs every attack through it"),
    "roomwire.loadtest.lifecycle": (("loadtest/test_client.py", "loadtest/test_locustfile.py"), "a user's life"),
    "roomwire.loadtest.plugin": (("loadtest/test_locustfile.py", "loadtest/test_outcomes.py"), "Locust's events"),
    "roomwire.loadtest.users": (("loadtest/test_locustfile.py", "loadtest/test_scenarios.py"), "the Locust users"),
}

#: Module prefixes no unit test module targets, and why (`prefix.` covers a sub-package).
EXEMPT = {
    "roomwire.conformance.checks.": "each check is proven both ways, as GUIDE.md asks: PASS against the reference "
    "(tests/conformance/test_whole_suite.py) and FAIL against its broken variant (test_broken_variants.py); "
    "the checks' shared helpers have their own test_checks_<name>.py",
    "roomwire.targets.broken.": "the broken variants are the suite's proof; tests/conformance/test_broken_variants.py "
    "runs each and requires it to fail exactly its requirements",
    "bench.": "the benchmarks (bench/, not installed): tests/loadtest/test_bench_smoke.py runs them briefly, "
    "test_bench_baselines.py their baselines, tests/reference/test_redis_bench.py the scale-out one",
}


def own_tests(path: Path) -> list[Path]:
    """The test modules the naming rule gives `name` that exist."""
    folder = path.relative_to(ROOT).parts[0]
    parts = path.relative_to(ROOT / folder).with_suffix("").parts
    stems = {f"test_{parts[-1]}", "test_" + "_".join(parts), "test_" + "_".join(parts[-2:])}
    places = [TESTS / folder, *(TESTS / other for other in ALSO_TESTED_IN.get(folder, ())), TESTS]
    return [place / f"{stem}.py" for place in places for stem in sorted(stems) if (place / f"{stem}.py").exists()]


def exempt(name: str) -> bool:
    return any(name.startswith(prefix) for prefix in EXEMPT)


def judged() -> dict[str, Path]:
    """Every module this test holds to the rule: not a package's `__init__` (tests/reference/test_module_maps.py
    and tests/test_exports.py hold those) nor a `__main__` (it only calls a cli, tested as the cli)."""
    return {name: path for name, path in modules().items() if path.stem not in ("__init__", "__main__")}


def test_every_module_has_its_own_test_module() -> None:
    untested = [
        name
        for name, path in sorted(judged().items())
        if not own_tests(path) and name not in ELSEWHERE and not exempt(name)
    ]
    assert not untested, f"add tests/<folder>/test_<module>.py, or a reasoned line in ELSEWHERE/EXEMPT: {untested}"


@pytest.mark.parametrize("name", sorted(ELSEWHERE))
def test_a_module_tested_elsewhere_exists_names_existing_tests_and_has_no_own(name: str) -> None:
    found = judged()
    assert name in found, f"{name} is gone: take it off ELSEWHERE"
    assert not own_tests(found[name]), f"{name} has its own test module now: take it off ELSEWHERE"
    places, _ = ELSEWHERE[name]
    assert [place for place in places if not (TESTS / place).exists()] == []


def test_every_exemption_covers_a_module() -> None:
    names = judged()
    assert [prefix for prefix in EXEMPT if not any(name.startswith(prefix) for name in names)] == []


def test_the_rule_finds_a_sub_packages_test_and_misses_an_untested_module() -> None:
    found = judged()
    state = "roomwire.reference.rooms.redis.state"
    assert own_tests(found[state]) == [TESTS / "reference" / "test_redis_state.py"]
    assert own_tests(found["roomwire.spec.exports"]) == [TESTS / "test_exports.py"]
    assert own_tests(found["roomwire.reference.app"]) == []
