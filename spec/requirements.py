"""SPEC.md as a catalog: every requirement with its ID, level, checklist items, section and text.

SPEC.md is the source; this module only reads it (the format is in SPEC.md §0), so a requirement exists in
code exactly when it exists in the document. The conformance registry refuses checks for IDs not found here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.resources import files


class Level(StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


#: The seed's nine checklist items (체크리스트), numbered as SPEC.md §15 numbers them.
CHECKLIST: dict[int, str] = {
    1: "API key configured on the server (GEMINI_API_KEY in backend/.env)",
    2: "WebSocket connects at wss://…/api/v1/ws/chat/{room_id}",
    3: "A's message shows up for B in the same room in real time",
    4: "AI answer streams with a typing effect",
    5: "Korean in, Korean out",
    6: "Closing a tab removes the connection and shows a leave notice",
    7: "Chat recovers after a network drop and reconnect",
    8: "Exceeding Gemini's free tier shows an AI error in the chat",
    9: "The API key is visible nowhere in the browser's developer tools",
}

_REQUIREMENT = re.compile(
    r"^- \*\*(?P<id>[A-Z]+-\d{3})\*\* · (?P<level>MUST|SHOULD|MAY) · items? (?P<items>[\d, ]+) — (?P<text>.+)$"
)
_SECTION = re.compile(r"^## (?P<title>.+)$")
_TABLE_ROW = re.compile(r"^\| (?P<item>\d) \| (?P<seed>.+?) \| (?P<ids>[A-Z0-9, -]+?) \|$")
_CHECKLIST_SECTION = "15."
_SEED_FORM = re.compile(
    r"^- \*\*(?P<id>[A-Z]+-\d{3})\*\* · seed: (?P<kind>applies|seed form|not part of the seed protocol) — (?P<text>.+)$"
)


@dataclass(frozen=True)
class Requirement:
    id: str
    level: Level
    items: tuple[int, ...]
    text: str
    section: str
    notes: str = ""  # the indented Why:/Seed: lines

    @property
    def area(self) -> str:
        return self.id.split("-", 1)[0]


def spec_text() -> str:
    return files("roomwire.spec").joinpath("SPEC.md").read_text(encoding="utf-8")


def parse_requirements(text: str) -> dict[str, Requirement]:
    """Requirements in document order; a duplicate ID is an error in the document."""
    found: dict[str, Requirement] = {}
    section = ""
    last: Requirement | None = None
    for line in text.splitlines():
        if heading := _SECTION.match(line):
            section, last = heading["title"], None
            continue
        if match := _REQUIREMENT.match(line):
            if match["id"] in found:
                raise ValueError(f"SPEC.md defines {match['id']} twice")
            items = tuple(int(part) for part in match["items"].replace(" ", "").split(",") if part)
            last = Requirement(match["id"], Level(match["level"]), items, match["text"].strip(), section)
            found[last.id] = last
        elif last is not None and line.startswith("    ") and line.strip():
            last = Requirement(
                last.id, last.level, last.items, last.text, last.section, f"{last.notes} {line.strip()}".strip()
            )
            found[last.id] = last
        else:
            last = None
    return found


def parse_checklist_table(text: str) -> dict[int, tuple[str, ...]]:
    """SPEC.md §15: checklist item -> the requirement IDs the table lists for it (rows of other sections, the seed
    profile's generated table, are not read)."""
    table: dict[int, tuple[str, ...]] = {}
    lines = text.splitlines()
    whole = not any((h := _SECTION.match(line)) and h["title"].startswith(_CHECKLIST_SECTION) for line in lines)
    section = ""
    for line in lines:  # a fragment without §15's heading is read whole
        if heading := _SECTION.match(line):
            section = heading["title"]
        elif (whole or section.startswith(_CHECKLIST_SECTION)) and (match := _TABLE_ROW.match(line.strip())):
            table[int(match["item"])] = tuple(part.strip() for part in match["ids"].split(",") if part.strip())
    return table


class SeedKind(StrEnum):
    """How a requirement stands in the seed profile (SPEC.md §17)."""

    APPLIES = "applies"  # judged as written
    SEED_FORM = "seed form"  # judged as its §17 line says
    NOT_APPLICABLE = "not part of the seed protocol"


@dataclass(frozen=True)
class SeedForm:
    """One requirement's line of SPEC.md §17."""

    id: str
    kind: SeedKind
    text: str

    @property
    def applies(self) -> bool:
        return self.kind is not SeedKind.NOT_APPLICABLE


def parse_seed_profile(text: str) -> dict[str, SeedForm]:
    """SPEC.md §17: requirement ID -> its seed-profile form; a duplicate ID is an error in the document."""
    found: dict[str, SeedForm] = {}
    for line in text.splitlines():
        if match := _SEED_FORM.match(line):
            if match["id"] in found:
                raise ValueError(f"SPEC.md states the seed form of {match['id']} twice")
            found[match["id"]] = SeedForm(match["id"], SeedKind(match["kind"]), match["text"].strip())
    return found


@cache
def seed_profile() -> dict[str, SeedForm]:
    """Every requirement's seed-profile form (SPEC.md §17), by ID."""
    return parse_seed_profile(spec_text())


@cache
def catalog() -> dict[str, Requirement]:
    """Every requirement of the installed SPEC.md, by ID, in document order."""
    return parse_requirements(spec_text())


@cache
def checklist_table() -> dict[int, tuple[str, ...]]:
    return parse_checklist_table(spec_text())


def requirement(requirement_id: str) -> Requirement:
    """One requirement; KeyError names an ID SPEC.md does not define."""
    return catalog()[requirement_id]


def by_item(item: int) -> list[Requirement]:
    """Requirements serving one checklist item, in document order."""
    return [r for r in catalog().values() if item in r.items]
