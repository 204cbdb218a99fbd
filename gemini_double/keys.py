"""API keys as the Gemini front end sees them: where a key came from, its shape, and a fingerprint.

The double must never store, log or return a key (DESIGN: no key in any frame, log line or error text), yet the
conformance suite must be able to tell *which* key a backend used and *where* it put it. So everything past
`locate_key` carries only a `KeyInfo`: the location, whether the shape is plausible, and the first 8 hex digits of
its SHA-256. The raw key stays inside `KeyInfo` with `repr=False`, for the one fault that must echo it
(`key_echo`, modelled on Google's real CONSUMER_SUSPENDED body).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

#: Google API keys: "AIza" and 35 characters of the URL-safe alphabet (39 in all).
KEY_SHAPE = re.compile(r"AIza[0-9A-Za-z_-]{35}")

#: A key of the right shape that no real project has; every test and example uses this one.
FAKE_API_KEY = "AIzaFAKE-roomwire-gemini-double-test-00"  # FAKE test key, never a real one

KeyLocation = Literal["header", "query", "none"]


def fingerprint(key: str) -> str:
    """First 8 hex digits of the key's SHA-256: enough to tell keys apart, useless to call Google with."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]


def is_plausible(key: str) -> bool:
    """Whether `key` has the shape of a Google API key."""
    return KEY_SHAPE.fullmatch(key) is not None


@dataclass(frozen=True)
class KeyInfo:
    """What the double knows about the key of one request."""

    location: KeyLocation
    fingerprint: str | None
    plausible: bool
    secret: str | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, object]:
        """The journal's view: never the key itself."""
        return {
            "sent": self.location != "none",
            "location": self.location,
            "fingerprint": self.fingerprint,
            "plausible": self.plausible,
        }


def locate_key(headers: Mapping[str, str], query: Mapping[str, str]) -> KeyInfo:
    """Find the key the way Google's front end does: the `x-goog-api-key` header, else `?key=`.

    Args:
        headers: request headers, names lower-cased.
        query: query parameters (first value of each).
    """
    for location, raw in (("header", headers.get("x-goog-api-key")), ("query", query.get("key"))):
        if raw is not None and raw.strip():
            key = raw.strip()
            loc: KeyLocation = "header" if location == "header" else "query"
            return KeyInfo(location=loc, fingerprint=fingerprint(key), plausible=is_plausible(key), secret=key)
    return KeyInfo(location="none", fingerprint=None, plausible=False)


def key_accepted(info: KeyInfo, valid_keys: Iterable[str] | None) -> bool:
    """Whether the double serves this key: any plausible key, or only those configured."""
    if info.secret is None:
        return False
    if valid_keys is None:
        return info.plausible
    return info.secret in set(valid_keys)
