"""The bundled target's pieces: commands, environment, canary, and a server process that is always stopped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from roomwire.conformance.bundled import BUNDLED_SETTINGS, ServerProcess, new_canary, target_command, target_env
from roomwire.gemini_double.keys import is_plausible
from roomwire.spec.errors import HarnessError
from roomwire.spec.limits import BOUNDS, Limits

FAKE_SERVER = (
    "import sys, time; print('roomwire serve: ws://127.0.0.1:1/api/v1/ws/chat/{room_id}', flush=True); time.sleep(60)"
)


def test_canary_has_a_keys_shape_and_changes() -> None:
    canary = new_canary()
    assert is_plausible(canary) and canary != new_canary() and "CANARY" in canary


def test_bundled_settings_stay_within_the_specs_bounds() -> None:
    values = {k.removeprefix("ROOMWIRE_").lower(): v for k, v in BUNDLED_SETTINGS.items()}
    limits = Limits.from_json({k: int(v) for k, v in values.items() if k in BOUNDS})
    assert limits.out_of_bounds() == []


def test_commands_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-from-the-developer-shell-FAKE")  # FAKE, must not leak into the target
    monkeypatch.setenv("ROOMWIRE_PORT", "1")
    env = target_env("http://double", "AIzaCANARY", None)  # canary, FAKE
    assert env["GEMINI_API_KEY"] == "AIzaCANARY" and "ROOMWIRE_PORT" not in env and "GOOGLE_GEMINI_BASE_URL" not in env
    assert target_env("http://double", "k", "seed")["GOOGLE_GEMINI_BASE_URL"] == "http://double"
    assert target_command(None, "http://d", 0)[2:4] == ["roomwire.targets.broken", "reference"]
    assert target_command("seed", "http://d", 5)[2] == "roomwire.targets.seed_fastapi"


async def test_a_server_process_reports_its_url_and_is_stopped(tmp_path: Path) -> None:
    server = ServerProcess([sys.executable, "-c", FAKE_SERVER], {}, str(tmp_path))
    try:
        assert await server.start() == "ws://127.0.0.1:1/api/v1/ws/chat/{room_id}"
    finally:
        await server.stop()
    assert server.process is not None and server.process.returncode is not None
    await server.stop()  # idempotent


async def test_a_server_that_dies_at_start_is_a_harness_error_with_its_log(tmp_path: Path) -> None:
    server = ServerProcess(
        [sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(4)"], {}, str(tmp_path)
    )
    with pytest.raises(HarnessError, match="boom"):
        await server.start()
    assert server.process is not None and server.process.returncode == 4


async def test_seed_style_listening_line_is_understood(tmp_path: Path) -> None:
    line = "print('seed_fastapi listening on 127.0.0.1:4321', flush=True); import time; time.sleep(60)"
    server = ServerProcess([sys.executable, "-c", line], {}, str(tmp_path))
    try:
        assert await server.start() == "ws://127.0.0.1:4321/api/v1/ws/chat/{room_id}"
    finally:
        await server.stop()
