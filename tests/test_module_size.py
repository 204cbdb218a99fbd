"""No Python module of the repository is over 500 lines (GUIDE.md, "Style": small modules with one job each).

Every `.py` file counts: the packages, their tests, tools/ and setup.py; environments and build output do not.
A module that outgrows the limit is split where its jobs meet (issue 14: the browser scan's driving apart from
its recording, the page's observations apart from the verdicts on them), not trimmed of blank lines.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.layout import ROOT

LIMIT = 500

#: Folders that are not the repository's own code: environments, caches, build output.
NOT_OURS = {".git", ".tox", ".typecheck", ".venv", "venv", "build", "dist", "node_modules", "__pycache__"}


def python_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if d not in NOT_OURS and not d.endswith(".egg-info")]
        found += [Path(folder, name) for name in files if name.endswith(".py")]
    return found


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_module_is_over_500_lines() -> None:
    files = python_files(ROOT)
    assert ROOT / "conformance" / "browser.py" in files and ROOT / "setup.py" in files  # it sees the tree
    too_long = {str(path.relative_to(ROOT)): lines(path) for path in files if lines(path) > LIMIT}
    assert not too_long, f"split these modules where their jobs meet (limit {LIMIT} lines): {too_long}"


def test_environments_and_build_output_are_not_counted(tmp_path: Path) -> None:
    for folder in ("venv", ".tox", "pkg.egg-info", "src"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "module.py").write_text("x = 1\n" * (LIMIT + 1))
    assert python_files(tmp_path) == [tmp_path / "src" / "module.py"]
    assert lines(tmp_path / "src" / "module.py") == LIMIT + 1
