"""Where Hypothesis keeps its files while the suite runs: never in the directory the suite was started from.

Hypothesis writes caches (its Unicode table, the constants it finds in local modules) under its home directory,
`./.hypothesis` unless `HYPOTHESIS_STORAGE_DIRECTORY` says otherwise, even with `database=None`: every
`roomwire check` used to leave a `.hypothesis/` folder in the user's project. During a run the suite points that
home at roomwire's cache directory (`$XDG_CACHE_HOME/roomwire/hypothesis`, else `~/.cache/roomwire/hypothesis`;
a cache: deleting it only costs the next run a second) and gives the previous home back afterwards, so a pytest
session that also runs the project's own Hypothesis tests keeps its own `.hypothesis` and settings. A user who chose
a home (`HYPOTHESIS_STORAGE_DIRECTORY`, or `set_hypothesis_home_dir` in a conftest) asked for that place: the suite
uses it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

STORAGE_ENV = "HYPOTHESIS_STORAGE_DIRECTORY"


def cache_home(environ: Mapping[str, str]) -> Path:
    """roomwire's Hypothesis directory for this user (XDG base directory spec, with its ~/.cache default)."""
    base = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "roomwire" / "hypothesis"


@contextlib.contextmanager
def suite_hypothesis_home(environ: Mapping[str, str] | None = None) -> Iterator[Path]:
    """Hypothesis' home is roomwire's cache directory inside the block (unless the user chose one), then what it was."""
    from hypothesis import configuration

    env = os.environ if environ is None else environ
    previous = configuration.storage_directory(intent_to_write=False).home_directory
    # Hypothesis' own default (`.hypothesis` in the directory it was imported from); anything else was chosen
    default = getattr(configuration, "__hypothesis_home_directory_default", Path.cwd() / ".hypothesis")
    if env.get(STORAGE_ENV):
        home = Path(env[STORAGE_ENV])
    else:
        home = previous if previous != default else cache_home(env)
    configuration.set_hypothesis_home_dir(home)
    try:
        yield home
    finally:
        configuration.set_hypothesis_home_dir(previous)
