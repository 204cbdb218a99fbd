"""`roomwire attack`: usage errors exit 2 before anything runs; a run prints its verdict, writes --report-json
and exits with the verdict's code; `all` runs every class; an attack that cannot finish is inconclusive."""

from __future__ import annotations

import asyncio
import importlib
import json
import re
from pathlib import Path

import pytest

from roomwire.attacks import ATTACKS
from roomwire.attacks.runner import run_attack
from roomwire.cli import main
from tests.attacks.conftest import target_of
from tests.reference.helpers import serving


def test_a_remote_target_is_refused_without_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attack", "nesting", "ws://192.0.2.10:8000"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_bounds_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attack", "nesting", "ws://127.0.0.1:1", "--max-seconds", "0"]) == 2


async def test_a_run_prints_and_writes_its_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "nesting.json"
    async with serving() as server:
        argv = ["attack", "nesting", server.url, "--scale", "0.1", "--report-json", str(report)]
        code = await asyncio.to_thread(main, argv)
    assert code == 0
    assert capsys.readouterr().out.rstrip().endswith("HELD: nesting")
    data = json.loads(report.read_text())
    assert data["verdict"] == "held" and data["figures"]["frames"] >= 3 and data["actions"]


async def test_an_attack_that_cannot_finish_is_inconclusive_not_a_traceback() -> None:
    async with serving() as server:
        target = target_of(server)
    report = await run_attack("presence-churn", target)  # the server is gone
    assert report.verdict.value == "inconclusive" and "the attack stopped" in report.observations[0]


def test_every_class_has_a_module_with_a_summary_and_the_package_maps_it() -> None:
    package = importlib.import_module("roomwire.attacks")
    for name, module_name in ATTACKS.items():
        module = importlib.import_module(module_name)
        assert module.NAME == name and module.SUMMARY and callable(module.run)
        assert re.search(rf"(?m)^ +{module_name.rsplit('.', 1)[1]} ", package.__doc__ or ""), module_name
    folder = Path(package.__path__[0])
    mapped = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    assert all(re.search(rf"(?m)^ +{stem} ", package.__doc__ or "") for stem in mapped)
