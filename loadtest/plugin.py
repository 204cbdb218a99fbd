"""Wires roomwire's load-test rules into Locust's event hooks; importing this module installs them.

    init_command_line_parser  roomwire's options (roomwire.loadtest.scenarios)
    init                      master/local: refuse unsafe or malformed runs (exit 2), choose the scenario's user
                              classes, bound the run time; worker: answer drain requests
    test_start                clear the drain flag and the AI tally; check a host typed into the web UI
    spawning_complete         refuse a user count above --max-users set from the web UI
    test_stopping             graceful stop (roomwire.loadtest.lifecycle)
    report_to_master /        carry the AI-outcome tally from workers to the master
      worker_report
    quitting                  master/local: thresholds -> exit code, AI-outcome summary (+ CSV next to --csv)

Two Locust behaviours are worked around here, both measured on this project's machine: --run-time is armed
from gevent's cached loop time, stale by the start-up time (a `-t 3s` run lasted 1.8 s), so `init` refreshes
it; and the --csv files are rewritten once a second but not at exit, so `quitting` waits for one more write.

The locustfile imports this module and the users, nothing else.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import gevent
import locust
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC

from roomwire.loadtest import lifecycle, outcomes, safety, scenarios, thresholds
from roomwire.loadtest.metrics import AGGREGATED, REQUEST_TYPE
from roomwire.loadtest.users import SCENARIOS, AskerUser, ChatUser
from roomwire.spec.errors import UsageError

logger = logging.getLogger("roomwire.loadtest")
console = logging.getLogger("locust.stats_logger")  # Locust's plain stdout logger: our report joins its tables

EXIT_BREACH = 1
EXIT_USAGE = 2

#: The environment of this process's run; `spawning_complete` is fired without it.
_current: dict[str, Any] = {}


def _add_arguments(parser: Any, **_: Any) -> None:
    scenarios.add_arguments(parser)


def _problems(options: Any, host: str | None) -> list[str]:
    problems = safety.target_problems(host, allow_remote=options.allow_remote_target)
    problems += safety.size_problems(
        users=options.num_users, room_size=options.room_size, max_users=options.max_users, max_rooms=options.max_rooms
    )
    problems += safety.run_time_problems(options.run_time, max_run_time=options.max_run_time)
    problems += safety.rate_problems(msg_rate=options.msg_rate, ai_rate=options.ai_rate, ask_share=options.ask_share)
    try:
        thresholds.parse_options(options)
    except UsageError as exc:
        problems.append(str(exc))
    return problems


def _choose_users(environment: Any, options: Any) -> None:
    """The scenario's user classes, unless user classes were named on the command line (they win)."""
    if options.user_classes:
        return
    environment.user_classes[:] = list(SCENARIOS[options.scenario])
    share = round(options.ask_share * 100)
    AskerUser.weight, ChatUser.weight = max(share, 1), max(100 - share, 1)
    if options.scenario == "mixed" and share in (0, 100):
        environment.user_classes[:] = [ChatUser] if share == 0 else [AskerUser]


def _on_init(environment: Any, **_: Any) -> None:
    options, runner = environment.parsed_options, environment.runner
    _current["environment"] = environment
    # gevent's loop caches "now" and has not run since Locust started importing; Locust arms --run-time right
    # after this event from that stale time, and a `-t 3s` run then lasted 1.8 s here. Refresh it.
    gevent.get_hub().loop.update_now()
    if options is None:
        return  # an Environment built by a test or a library caller: nothing to validate
    if isinstance(runner, WorkerRunner):
        runner.register_message(lifecycle.DRAIN_MESSAGE, lifecycle.on_drain_request)
        return
    host = options.host if options.headless or options.host else "ws://127.0.0.1"  # web UI: checked at start
    problems = _problems(options, host)
    if problems:
        for problem in problems:
            logger.error("roomwire load: %s", problem)
        sys.exit(EXIT_USAGE)
    for warning in thresholds.unknown_names(thresholds.parse_options(options)):
        logger.warning("roomwire load: threshold on an unknown name will fail: %s", warning)
    _choose_users(environment, options)
    if options.headless and not options.run_time:
        options.run_time = options.max_run_time
        logger.info("roomwire load: no --run-time given; stopping after --max-run-time %d s", options.max_run_time)
    if isinstance(runner, MasterRunner):
        runner.register_message(lifecycle.DRAINED_MESSAGE, lifecycle.on_drained)


def _refuse(environment: Any, problems: list[str]) -> None:
    for problem in problems:
        logger.error("roomwire load: %s", problem)
    environment.process_exit_code = EXIT_USAGE
    gevent.spawn(environment.runner.stop if environment.web_ui else environment.runner.quit)


def _on_test_start(environment: Any, **_: Any) -> None:
    lifecycle.reset()
    outcomes.TALLY.clear()
    options, runner = environment.parsed_options, environment.runner
    if options is None or isinstance(runner, WorkerRunner):
        return
    problems = safety.target_problems(environment.host, allow_remote=options.allow_remote_target)
    problems += safety.size_problems(
        users=runner.target_user_count,
        room_size=options.room_size,
        max_users=options.max_users,
        max_rooms=options.max_rooms,
    )
    if problems:
        _refuse(environment, problems)
    elif environment.web_ui is not None:
        gevent.spawn_later(options.max_run_time, _stop_if_running, runner)  # the web UI has no run-time bound


def _stop_if_running(runner: Any) -> None:
    if runner.state in ("spawning", "running"):
        logger.warning("roomwire load: --max-run-time reached, stopping the test")
        runner.stop()


def _on_spawning_complete(user_count: int, **_: Any) -> None:
    environment = _current.get("environment")
    if environment is None or environment.parsed_options is None or isinstance(environment.runner, WorkerRunner):
        return
    options = environment.parsed_options
    if user_count <= options.max_users:
        return
    _refuse(environment, [f"{user_count} users exceed --max-users {options.max_users}"])


def _on_test_stopping(environment: Any, **_: Any) -> None:
    settings = scenarios.LoadSettings.from_options(environment.parsed_options)
    if isinstance(environment.runner, MasterRunner):
        lifecycle.drain_workers(environment.runner, settings.drain_s)
    else:
        lifecycle.drain_local(settings.drain_s)


def stats_rows(stats: Any) -> dict[str, Any]:
    """Locust's stats rows keyed by request name (ours are all of type WS), plus `Aggregated` for the total."""
    rows: dict[str, Any] = {AGGREGATED: stats.total}
    for entry in sorted(stats.entries.values(), key=lambda e: e.method != REQUEST_TYPE):
        rows.setdefault(entry.name, entry)
    return rows


def _on_quitting(environment: Any, **_: Any) -> None:
    options = environment.parsed_options
    if options is None or isinstance(environment.runner, WorkerRunner):
        return
    if options.csv_prefix:
        # Locust rewrites its CSV files once a second and only closes them at exit, so samples of the last
        # second (the drain's, typically) would be missing from them. Let the writer run once more.
        gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.2)
    for line in outcomes.TALLY.summary():
        console.info(line)
    if outcomes.TALLY.total and options.csv_prefix:
        outcomes.TALLY.write_csv(Path(f"{options.csv_prefix}_ai_outcomes.csv"))
    chosen = thresholds.parse_options(options)
    if not chosen:
        return
    verdicts = thresholds.evaluate(chosen, stats_rows(environment.stats))
    console.info("roomwire thresholds:")
    for verdict in verdicts:
        console.info("  %s", verdict.line())
    failed = [v for v in verdicts if not v.passed]
    for verdict in failed:
        logger.error("roomwire load: threshold breached: %s", verdict.line())
    if failed:
        environment.process_exit_code = EXIT_BREACH
    elif thresholds.decides_errors(chosen) and environment.process_exit_code is None:
        environment.process_exit_code = 0  # the total error ratio is within its threshold: that is the gate


def install(events: Any) -> None:
    """Add roomwire's listeners to Locust's event hooks (done once, when this module is imported)."""
    events.init_command_line_parser.add_listener(_add_arguments)
    events.init.add_listener(_on_init)
    events.test_start.add_listener(_on_test_start)
    events.spawning_complete.add_listener(_on_spawning_complete)
    events.test_stopping.add_listener(_on_test_stopping)
    events.report_to_master.add_listener(outcomes.on_report_to_master)
    events.worker_report.add_listener(outcomes.on_worker_report)
    events.quitting.add_listener(_on_quitting)


install(locust.events)
