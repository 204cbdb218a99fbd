"""Which chromium the browser checks use, and what a run says when it has none (Playwright or chromium missing)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from roomwire.conformance import chromium
from roomwire.spec.errors import HarnessError


def test_roomwire_chromium_wins_and_a_missing_one_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(chromium.CHROMIUM_ENV, str(tmp_path / "nope"))
    assert chromium.chromium_executable() == str(tmp_path / "nope")
    with pytest.raises(HarnessError, match="nope.*ROOMWIRE_CHROMIUM"):
        chromium.resolve_chromium()
    absent = chromium.unavailable()
    assert absent is not None and absent.startswith(chromium.HOW_TO_GET) and "nope" in absent


def test_nothing_on_path_says_apt_get(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(chromium.CHROMIUM_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert chromium.chromium_executable() is None
    with pytest.raises(HarnessError, match="apt-get install chromium"):
        chromium.resolve_chromium()


def test_without_playwright_it_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "playwright" else real(name, *a))
    assert chromium.unavailable() == f"{chromium.HOW_TO_GET}; missing here: Playwright"
    assert "pip install 'roomwire[browser]'" in chromium.HOW_TO_GET and "no `playwright install`" in chromium.HOW_TO_GET


def test_an_executable_found_is_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv(chromium.CHROMIUM_ENV, str(fake))
    assert chromium.resolve_chromium() == str(fake)
    assert chromium.unavailable() is None  # Playwright is installed here (the dev extra)
