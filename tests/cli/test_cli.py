"""The `roomwire` command: help, version, and a usage error without a command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from roomwire import __version__
from roomwire.cli import build_parser, main


def test_help_lists_the_spec_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: roomwire") and "spec" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"roomwire {__version__}"


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert capsys.readouterr().out.startswith("usage: roomwire")


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2


def test_every_sub_command_module_registers() -> None:
    help_text = build_parser().format_help()
    assert "commands:" in help_text and "    spec " in help_text


def test_the_installed_console_script_runs() -> None:
    result = subprocess.run([sys.executable, "-m", "roomwire", "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"roomwire {__version__}"
