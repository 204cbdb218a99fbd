"""How the benchmark starts a Python process of its own (`python -m bench.<module>`) wherever it was run from.

`bench/` is a folder of the repository, not part of the installed `roomwire` (issue 14: benchmarks apart from what
users install, as h11's `bench/`). A child finds it only with the repository's root on its path: `environment`
puts it on PYTHONPATH, and `-P` keeps the child's working directory off the path, so a `bench` folder wherever
the caller happens to stand is never the one that runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

#: The repository's root: the folder that holds `bench/`.
ROOT = Path(__file__).resolve().parent.parent


def command(module: str, *args: str) -> list[str]:
    """The command line that runs `bench.<module>` (or `bench` itself) under this interpreter."""
    return [sys.executable, "-P", "-m", module, *args]


def environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) with the repository's root first on PYTHONPATH."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    return env
