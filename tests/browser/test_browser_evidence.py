"""`roomwire.conformance.browser_evidence`: the search and the report of the key-leak scan, without a browser."""

from __future__ import annotations

import base64
import json
import secrets
from urllib.parse import quote

import pytest

from roomwire.conformance.browser_evidence import (
    MIN_SECRET_CHARS,
    BrowserScanResult,
    Finding,
    needles_for,
    requirement_for,
    search,
)
from roomwire.spec.errors import SpecViolation, UsageError

from .conftest import canary_key


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(UsageError):
        needles_for("x" * (MIN_SECRET_CHARS - 1))


@pytest.mark.parametrize("prefix", ["", "a", "ab", "abc", '{"key": "', "Consumer 'api_key:"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_base64_is_found_at_every_alignment(prefix: str, encode: object) -> None:
    secret = canary_key()
    assert callable(encode)
    blob = encode((prefix + secret + '"}').encode()).decode()
    findings = search(f"data={blob};", needles_for(secret), place="cookie", where="test")
    assert [f.encoding for f in findings] in (["base64"], ["base64url"])
    assert secret not in findings[0].evidence


def test_percent_encoding_is_found_when_it_differs() -> None:
    secret = "canary test secret/with spaces"
    findings = search("GET /?k=" + quote(secret, safe=""), needles_for(secret), place="request", where="GET /")
    assert [f.encoding for f in findings] == ["percent"]


def test_absent_secret_finds_nothing_even_in_look_alikes() -> None:
    secret = canary_key()
    near = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert search(near + " " + secret[::-1], needles_for(secret), place="dom", where="x") == []


def test_evidence_masks_every_copy_and_cut_edges() -> None:
    secret = canary_key()
    text = "a" * 50 + secret + " and again " + secret + "b" * 50 + secret[:30]
    [finding] = search(text, needles_for(secret), place="ws_frame_received", where="socket #1")
    assert finding.count == 2
    assert secret not in finding.evidence and secret[:20] not in finding.evidence
    assert finding.evidence == "a" * 40 + "[SECRET] and again [SECRET…]"  # the second copy, cut by the context
    cut = search(secret[5:] + " tail", needles_for(secret[5:]), place="dom", where="x")[0]
    assert cut.evidence == "[SECRET] tail"


@pytest.mark.parametrize(
    ("place", "resource_type", "requirement"),
    [
        ("ws_frame_received", None, "SEC-003"),
        ("response_header", None, "SEC-003"),
        ("ws_url", None, "SEC-003"),
        ("response_body", "fetch", "SEC-003"),
        ("response_body", "xhr", "SEC-003"),
        ("response_body", "document", "SEC-005"),
        ("script", "script", "SEC-005"),
        ("local_storage", None, "SEC-005"),
        ("cookie", None, "SEC-005"),
        ("ws_frame_sent", None, "SEC-005"),
    ],
)
def test_each_place_maps_to_its_requirement(place: str, resource_type: str | None, requirement: str) -> None:
    assert requirement_for(place, resource_type) == requirement  # type: ignore[arg-type]


def finding(place: str, requirement: str) -> Finding:
    return Finding(place=place, where="w", encoding="plain", evidence="[SECRET]", requirement=requirement)  # type: ignore[arg-type]


def test_result_reports_and_raises_the_first_requirement() -> None:
    result = BrowserScanResult(
        page_url="http://127.0.0.1:1/",
        findings=(finding("dom", "SEC-005"), finding("ws_frame_received", "SEC-003")),
        steps=("loaded",),
        notes=("no double",),
        searched={"dom": 1},
    )
    assert result.leaked and result.places == {"dom", "ws_frame_received"}
    with pytest.raises(SpecViolation) as raised:
        result.raise_for_findings()
    assert raised.value.requirement_id == "SEC-003"
    assert "SEC-005 dom" in raised.value.actual
    text = result.describe()
    assert "2 finding(s)" in text and "note: no double" in text and "searched: dom=1" in text
    data = json.loads(json.dumps(result.to_json()))
    assert data["leaked"] is True and len(data["findings"]) == 2


def test_clean_result() -> None:
    result = BrowserScanResult(page_url="http://127.0.0.1:1/", findings=())
    result.raise_for_findings()
    assert not result.leaked and "no leak" in result.describe()
    assert secrets.compare_digest(json.dumps(result.to_json()["findings"]), "[]")
