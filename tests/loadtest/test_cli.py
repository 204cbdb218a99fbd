"""`roomwire load`: Locust on the packaged locustfile, every argument passed through (roomwire.loadtest.cli)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from roomwire.cli import build_parser
from roomwire.loadtest.cli import LOCUSTFILE, locust_command, roomwire_options_help, run
from tests.loadtest.servers import CLEAN_ENV, PYTHON, room_server


def test_the_packaged_locustfile_is_added_unless_one_was_given() -> None:
    assert locust_command(["-H", "ws://127.0.0.1:1"]) == [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "-H",
        "ws://127.0.0.1:1",
    ]
    assert LOCUSTFILE.is_file()
    for given in (["-f", "mine.py"], ["--locustfile", "mine.py"], ["--locustfile=mine.py"]):
        assert locust_command(given) == [sys.executable, "-m", "locust", *given]


def test_every_argument_reaches_locust_options_included() -> None:
    args = build_parser().parse_args(["load", "--version", "-H", "ws://127.0.0.1:1", "--scenario", "chat"])
    assert args.locust_args == ["--version", "-H", "ws://127.0.0.1:1", "--scenario", "chat"]


def test_roomwire_options_are_listed_for_help() -> None:
    text = roomwire_options_help()
    for option in ("--scenario", "--room-size", "--max-p95-ms", "--allow-remote-target", "--max-run-time"):
        assert option in text


def test_help_shows_locust_s_options_then_roomwire_s() -> None:
    result = subprocess.run(
        [PYTHON, "-m", "roomwire", "load", "--help"], capture_output=True, text=True, env=CLEAN_ENV, timeout=120
    )
    assert result.returncode == 0
    assert result.stdout.index("--headless") < result.stdout.index("--scenario {chat,ai,ratelimit,mixed}")


def test_run_returns_locust_s_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def call(command: list[str]) -> int:
        calls.append(command)
        return 3

    monkeypatch.setattr(subprocess, "call", call)
    assert run(argparse.Namespace(locust_args=["--headless"])) == 3
    assert calls[0][-1] == "--headless"


def test_roomwire_load_runs_the_packaged_locustfile(tmp_path: Path) -> None:
    with room_server() as host:
        command = [PYTHON, "-m", "roomwire", "load", "-H", host, "--headless", "-u", "2", "-t", "2s"]
        result = subprocess.run(
            [*command, "--scenario", "chat", "--csv", str(tmp_path / "run")],
            capture_output=True,
            text=True,
            env=CLEAN_ENV,
            cwd=tmp_path,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run_stats.csv").read_text(encoding="utf-8").count("WS,connect,2,0") == 1
