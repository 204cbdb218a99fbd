"""A run of the suite leaves nothing in the directory it was started from (issue 16 item 3), and a project's own
Hypothesis home, chosen or default, is what it was once the run is over."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import configuration

from roomwire.conformance.hypothesis_home import STORAGE_ENV, cache_home, suite_hypothesis_home


def test_the_cache_follows_xdg_then_home() -> None:
    assert cache_home({"XDG_CACHE_HOME": "/x", "HOME": "/h"}) == Path("/x/roomwire/hypothesis")
    assert cache_home({"HOME": "/h"}) == Path("/h/.cache/roomwire/hypothesis")


def test_hypothesis_home_is_the_cache_inside_and_the_projects_default_after(tmp_path: Path) -> None:
    before = configuration.storage_directory(intent_to_write=False).home_directory
    with suite_hypothesis_home({"XDG_CACHE_HOME": str(tmp_path)}) as home:
        assert home == tmp_path / "roomwire" / "hypothesis"
        assert configuration.storage_directory("x", intent_to_write=False).path == home / "x"
    assert configuration.storage_directory(intent_to_write=False).home_directory == before


def test_a_home_the_user_chose_is_kept(tmp_path: Path) -> None:
    before = configuration.storage_directory(intent_to_write=False).home_directory
    chosen = tmp_path / "mine"
    configuration.set_hypothesis_home_dir(chosen)
    try:
        with suite_hypothesis_home({"XDG_CACHE_HOME": str(tmp_path / "cache")}) as home:
            assert home == chosen
        with suite_hypothesis_home({STORAGE_ENV: str(tmp_path / "env")}) as home:
            assert home == tmp_path / "env"
        assert configuration.storage_directory(intent_to_write=False).home_directory == chosen
    finally:
        configuration.set_hypothesis_home_dir(before)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_roomwire_check_leaves_the_directory_it_ran_in_empty(tmp_path: Path) -> None:
    """The installed command, in an empty directory, with the checks that draw from Hypothesis (INPUT-003's
    generated frames, the model check's state machine): the directory is still empty afterwards, and Hypothesis'
    caches are in roomwire's cache directory instead (so this test sees the place they would have gone)."""
    cwd, home = tmp_path / "project", tmp_path / "home"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYPOTHESIS", "XDG_"))}
    env["HOME"] = str(home)
    command = Path(sys.executable).with_name("roomwire")
    done = subprocess.run(
        [str(command), "check", "--only", "INPUT-003,CHAT-004"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert list(cwd.iterdir()) == []
    assert any((home / ".cache" / "roomwire" / "hypothesis").iterdir())
