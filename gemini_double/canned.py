"""Loading the double's data from `fixtures/gemini/`: the sentence bank and the recorded real responses.

The only module of the double that reads files. It finds the `roomwire.fixtures` folder with `find_spec`, which
works the same from the source tree, an editable install and a wheel, without importing `roomwire.fixtures`
(whose `__init__` loads the frame fixtures and, through them, the JSON Schema validator: the double needs none
of that).
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import cast

from .answers import SentenceBank


def _gemini_fixtures() -> Path:
    spec = importlib.util.find_spec("roomwire.fixtures")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - roomwire is always installed whole
        raise FileNotFoundError("roomwire.fixtures is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "gemini"


@cache
def sentence_bank() -> SentenceBank:
    """The canned sentences answers are built from (`fixtures/gemini/canned/sentences.json`)."""
    data = json.loads(_gemini_fixtures().joinpath("canned", "sentences.json").read_text(encoding="utf-8"))
    return SentenceBank(en=tuple(data["en"]), ko=tuple(data["ko"]))


@cache
def recorded_index() -> dict[str, dict[str, object]]:
    """`fixtures/gemini/recorded/index.json`: name -> file, kind, status, source cassette, commit."""
    text = _gemini_fixtures().joinpath("recorded", "index.json").read_text(encoding="utf-8")
    return cast(dict[str, dict[str, object]], json.loads(text))


def recorded_body(name: str) -> str:
    """The recorded real body called `name` (see the folder's README), exactly as Google sent it.

    Raises:
        FileNotFoundError: no recorded response has that name.
    """
    entry = recorded_index().get(name)
    if entry is None:
        raise FileNotFoundError(f"known: {', '.join(sorted(recorded_index()))}")
    raw = _gemini_fixtures().joinpath("recorded", str(entry["file"])).read_bytes()
    return raw.decode("utf-8")
