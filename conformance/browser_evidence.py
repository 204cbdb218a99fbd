"""What the browser key-leak scan looks for, and how it reports a find, without a browser (SEC-003, SEC-005).

Theory of operation. `roomwire.conformance.browser` collects everything a person could see in DevTools (DOM,
scripts, network bodies and headers, WebSocket frames, cookies, storage, console) as plain text, each piece
labelled with a `Place` and a `where` (a URL, a storage key, a frame number). This module searches those texts
for the secret and turns every hit into a `Finding`:

* The secret is searched for as is, percent-encoded, and base64-encoded at each of the three byte alignments
  (a key inside a base64 blob shows up at any offset), so the usual "it is only encoded" leaks are found.
* Evidence never repeats the secret: the matched text is replaced by `[SECRET]` (or `[SECRET:base64]`), so a
  report can be pasted into an issue even when someone scanned with a real key.
* Each place maps to the requirement it breaks: what the server sent on the wire (frames, API responses,
  headers) is SEC-003; what the deployment gives the browser to keep or run (page, scripts, cookies, storage) is
  SEC-005.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

from roomwire.spec.errors import SpecViolation, UsageError

from .page_behaviour import PageObservations

Place = Literal[
    "dom",
    "form_value",
    "script",
    "response_body",
    "response_header",
    "request",
    "ws_frame_received",
    "ws_frame_sent",
    "ws_url",
    "cookie",
    "local_storage",
    "session_storage",
    "console",
    "global",
]

#: Places whose content came from the server over the wire (SEC-003); every other place is SEC-005.
WIRE_PLACES: frozenset[str] = frozenset({"response_header", "ws_frame_received", "ws_url"})

#: Response bodies of these resource types are the page itself (SEC-005); other bodies are API answers (SEC-003).
PAGE_RESOURCE_TYPES: frozenset[str] = frozenset({"document", "script", "stylesheet", "manifest", "other"})

#: Shorter secrets match by chance in ordinary text; a Google key is 39 characters.
MIN_SECRET_CHARS = 12

CONTEXT_CHARS = 40


@dataclass(frozen=True)
class Needle:
    """One form in which the secret may appear."""

    text: str
    encoding: str


@dataclass(frozen=True)
class Finding:
    """The secret was found: where, in which form, and the text around it (secret masked)."""

    place: Place
    where: str
    encoding: str
    evidence: str
    requirement: str
    count: int = 1

    def describe(self) -> str:
        times = f" ({self.count}x)" if self.count > 1 else ""
        return f"{self.requirement} {self.place} [{self.encoding}]{times} at {self.where}: {self.evidence}"

    def to_json(self) -> dict[str, object]:
        return {
            "place": self.place,
            "where": self.where,
            "encoding": self.encoding,
            "evidence": self.evidence,
            "requirement": self.requirement,
            "count": self.count,
        }


@dataclass(frozen=True)
class BrowserScanResult:
    """The outcome of one scan: the findings, and enough about the run to trust an empty list.

    Attributes:
        page_url: the page scanned.
        findings: every place the secret was found; empty means no leak was seen.
        steps: what the scan did, in order (joined, chatted, asked the AI, set a fault, ...).
        notes: what it could not do; each note weakens an empty `findings` and says why.
        searched: how many items of each place were searched (12 WebSocket frames, 3 scripts, ...).
        page: what the page showed while it was used (SPEC.md §14, roomwire.conformance.page_behaviour); None
            when it was not used through its UI.
    """

    page_url: str
    findings: tuple[Finding, ...]
    steps: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    searched: Mapping[str, int] = field(default_factory=dict)
    page: PageObservations | None = None

    @property
    def leaked(self) -> bool:
        return bool(self.findings)

    @property
    def places(self) -> frozenset[str]:
        return frozenset(f.place for f in self.findings)

    def raise_for_findings(self) -> None:
        """Raise the violation of the first requirement broken (SEC-003 before SEC-005), listing every find.

        Raises:
            SpecViolation: the secret was found somewhere in the browser.
        """
        if not self.findings:
            return
        requirement = min(f.requirement for f in self.findings)
        actual = "; ".join(f.describe() for f in self.findings)
        raise SpecViolation(requirement, "the canary key nowhere in the browser", f"found it: {actual}")

    def describe(self) -> str:
        lines = [
            f"browser scan of {self.page_url}: " + (f"{len(self.findings)} finding(s)" if self.leaked else "no leak")
        ]
        lines += [f"  FOUND {f.describe()}" for f in self.findings]
        lines += [f"  step: {s}" for s in self.steps]
        lines += [f"  note: {n}" for n in self.notes]
        lines.append("  searched: " + ", ".join(f"{k}={v}" for k, v in sorted(self.searched.items())))
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {
            "page_url": self.page_url,
            "leaked": self.leaked,
            "findings": [f.to_json() for f in self.findings],
            "steps": list(self.steps),
            "notes": list(self.notes),
            "searched": dict(self.searched),
            "page": self.page.to_json() if self.page is not None else None,
        }


def needles_for(secret: str) -> tuple[Needle, ...]:
    """The secret as is, percent-encoded (when that differs) and base64 at the three byte alignments.

    Raises:
        UsageError: the secret is too short to search for without false alarms.
    """
    if len(secret) < MIN_SECRET_CHARS:
        raise UsageError(f"the canary secret must have at least {MIN_SECRET_CHARS} characters")
    found: dict[str, str] = {secret: "plain"}
    found.setdefault(quote(secret, safe=""), "percent")
    raw = secret.encode("utf-8")
    for offset in range(3):
        bits = 8 * (offset + len(raw))
        for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            encoded = encode(b"\0" * offset + raw).decode("ascii")
            # keep only the characters made of the secret's bits alone: not the prefix's, not the padding's
            core = encoded[(8 * offset + 5) // 6 : bits // 6]
            found.setdefault(core, name)
    return tuple(Needle(text, encoding) for text, encoding in found.items())


def requirement_for(place: Place, resource_type: str | None = None) -> str:
    """SEC-003 for what the server put on the wire, SEC-005 for what the page holds or runs."""
    if place in WIRE_PLACES:
        return "SEC-003"
    if place == "response_body" and resource_type not in PAGE_RESOURCE_TYPES:
        return "SEC-003"
    return "SEC-005"


def search(
    text: str, needles: Iterable[Needle], *, place: Place, where: str, resource_type: str | None = None
) -> list[Finding]:
    """One finding per form of the secret present in `text`, with masked context around the first hit."""
    needles = tuple(needles)
    findings = []
    for needle in needles:
        count = text.count(needle.text)
        if not count:
            continue
        start = text.index(needle.text)
        findings.append(
            Finding(
                place=place,
                where=where,
                encoding=needle.encoding,
                evidence=_context(text, start, start + len(needle.text), needles),
                requirement=requirement_for(place, resource_type),
                count=count,
            )
        )
    return findings


def _context(text: str, start: int, end: int, needles: tuple[Needle, ...]) -> str:
    before = text[max(0, start - CONTEXT_CHARS) : start]
    after = text[end : end + CONTEXT_CHARS]
    snippet = before + "\0" + after
    for needle in needles:  # mask other copies inside the context too
        snippet = snippet.replace(needle.text, _mask(needle))
    for needle in needles:  # a copy cut by the context's edge still leaks its visible part
        for cut in range(len(needle.text) - 1, MIN_SECRET_CHARS // 2, -1):
            snippet = snippet.replace(needle.text[:cut], "[SECRET…]").replace(needle.text[-cut:], "[…SECRET]")
    matched = next(n for n in needles if text[start:end] == n.text)
    snippet = snippet.replace("\0", _mask(matched))
    return re.sub(r"\s+", " ", snippet).strip()


def _mask(needle: Needle) -> str:
    return "[SECRET]" if needle.encoding == "plain" else f"[SECRET:{needle.encoding}]"
