"""Run `mypy --strict` on the source tree as the `roomwire` package it installs as.

setup.py maps top-level folders (`spec/`, `reference/`, ...) to `roomwire.*`; mypy knows nothing of that
mapping, nor of setuptools' editable import hooks. So this script builds a tree of symlinks
(`.typecheck/roomwire/spec -> ../../spec`, ...) and points mypy at it. `bench/` (the benchmarks, not installed)
is a plain top-level package and is checked as it stands. Usage:

    python tools/typecheck.py            # the whole package, bench/ and tests/
    python tools/typecheck.py tests/spec # only some test paths (the package and bench/ are always checked)
    python tools/typecheck.py --tree     # only build .typecheck/ (editors and pyright read it: pyproject.toml)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / ".typecheck"
sys.path.insert(0, str(ROOT))
from setup import FOLDERS  # noqa: E402 - setup.py holds the one folder mapping


def build_tree() -> Path:
    shutil.rmtree(TREE, ignore_errors=True)
    package = TREE / "roomwire"
    package.mkdir(parents=True)
    for folder, name in FOLDERS.items():
        source = ROOT / folder
        if name == "roomwire":
            for item in source.iterdir():
                if item.suffix in {".py", ".typed"}:
                    (package / item.name).symlink_to(item)
        else:
            (package / name.split(".", 1)[1]).symlink_to(source, target_is_directory=True)
    return TREE


def main(argv: list[str]) -> int:
    tree = build_tree()
    if argv == ["--tree"]:
        return 0
    targets = [target for target in argv or ["tests"] if (ROOT / target).resolve() != ROOT / "bench"]
    env = dict(os.environ, MYPYPATH=str(tree))
    command = [sys.executable, "-m", "mypy", str(tree / "roomwire"), "bench", *targets]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
