"""`roomwire gemini-double`: arguments, help, and a real foreground run stopped by SIGINT."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest

from roomwire.cli import build_parser, main
from roomwire.gemini_double.cli import EPILOG, config_from_args
from roomwire.gemini_double.config import ConfigError
from roomwire.gemini_double.keys import FAKE_API_KEY


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["gemini-double", *argv])


def test_defaults_and_flags() -> None:
    config = config_from_args(_args())
    assert config.latency == "fast" and config.quota_for("gemini-2.5-flash") == 10 and config.valid_keys is None
    config = config_from_args(
        _args("--latency", "zero", "--chunk-interval-ms", "4", "--quota", "off", "--seed", "9", "--key", FAKE_API_KEY)
    )
    assert (config.latency, config.chunk_interval_ms, config.quota_rpm, config.seed) == ("zero", 4.0, None, 9)
    assert config.valid_keys == frozenset({FAKE_API_KEY})
    assert config_from_args(_args("--quota", "3", "--retry-after-header")).quota_for("gemini-2.5-pro") == 3
    with pytest.raises(ConfigError):
        config_from_args(_args("--quota", "lots"))
    assert main(["gemini-double", "--quota", "-1"]) == 2


def test_help_documents_the_control_api(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["gemini-double", "--help"])
    out = capsys.readouterr().out
    for route in ("POST   /_double/faults", "GET    /_double/journal?match=TEXT", "POST   /_double/reset"):
        assert route in out and route in EPILOG
    assert "[[chunks=N]]" in out


def _run(*argv: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "roomwire", "gemini-double", *argv]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_runs_in_the_foreground_until_sigint() -> None:
    process = _run("--port", "0", "--latency", "zero")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "serving Gemini on http://127.0.0.1:" in line
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        assert httpx.get(url + "_double/health", trust_env=False, timeout=5).json() == {"status": "ok"}
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=15)
        assert process.returncode == 0 and "stopped" in out
    finally:
        if process.poll() is None:  # pragma: no cover - only when the test already failed
            process.kill()
            process.communicate()


def test_a_busy_port_exits_3() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = _run("--port", str(taken.getsockname()[1]))
        _, err = process.communicate(timeout=30)
    assert process.returncode == 3 and "cannot serve on 127.0.0.1" in err
