"""Loading the double's data from `fixtures/gemini/`: the sentence bank and the recorded real responses.

The only module of the double that reads files; it reads through `importlib.resources`, so it works the same
from the source tree, an editable install and a wheel.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import cast

from .answers import SentenceBank


def _gemini_fixtures() -> Traversable:
    return resources.files("roomwire.fixtures").joinpath("gemini")


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
