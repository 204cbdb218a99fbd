"""Every schema pattern means the same in ECMA-262 (JSON Schema's regex dialect: ajv, every browser) and in the
Python the suite and the reference validate with, proven with an ECMA-262 engine (`regress`, Rust's regress).

A team validating frames with ajv must get the same verdict as the conformance suite: a pattern that relied on
`\\s` (whose code points differ between the engines: U+FEFF is ECMA-262 whitespace, not Python's) labelled
`"nickname": "\\ufeff"` too_long-or-valid on one side and bad_frame on the other. So: every pattern compiles as an
ECMA-262 `u`-mode regex, agrees with Python's on every probe string, and every labelled fixture gets the same
verdict from a validator whose `pattern` is ECMA-262's.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
import regress
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.protocols import Validator

from roomwire.fixtures import invalid_frames, seed_frames, valid_frames
from roomwire.spec.limits import ROOM_ID_PATTERN
from roomwire.spec.schemas import CLIENT_FRAME, SERVER_FRAME, _compiled, load_schemas, registry, validator

#: SPEC.md §4's whitespace code points (the nickname may neither start nor end with one).
SPEC_WHITESPACE = (
    [chr(c) for c in range(0x09, 0x0E)]
    + [" ", "\u0085", "\u00a0", "\u1680"]
    + [chr(c) for c in range(0x2000, 0x200B)]
    + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff"]
)


def _patterns(node: object, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield where, value
            else:
                yield from _patterns(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _patterns(value, f"{where}/{index}")


PATTERNS = sorted({(w, p) for name, schema in load_schemas().items() for w, p in _patterns(schema, name)}) + [
    ("roomwire.spec.limits.ROOM_ID_PATTERN", ROOM_ID_PATTERN)
]


def _probe_characters() -> list[str]:
    """Every code point where the engines could disagree: ASCII and Latin-1, every whitespace, control, format
    and separator character of the BMP, and a few letters and symbols from elsewhere (no lone surrogates: they
    are not text, and INPUT-003 refuses them before any pattern)."""
    chars = {chr(c) for c in range(0x100)}
    for code in range(0x100, 0x10000):
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF:
            continue
        if unicodedata.category(char) in ("Zs", "Zl", "Zp", "Cc", "Cf") or char.isspace():
            chars.add(char)
    return sorted(chars | {"가", "철", "😀", "é", "\u0301", "Ω", "\U0010fffd"})


PROBES = _probe_characters()


def _probe_strings(char: str) -> list[str]:
    return [char, f"{char}a", f"a{char}", f"a{char}b", f"ab{char}", f"{char}{char}", "a" * 64 + char, "x-1" + char]


@pytest.mark.parametrize(("where", "pattern"), PATTERNS, ids=[w for w, _ in PATTERNS])
def test_every_pattern_means_the_same_in_ecma_262_and_python(where: str, pattern: str) -> None:
    ecma = regress.Regex(pattern, "u")  # also proves it is a valid ECMA-262 `u`-mode pattern
    python = _compiled(pattern)  # what roomwire.spec.schemas validates with (ECMA-262's `$`)
    disagree = [
        text
        for char in PROBES
        for text in _probe_strings(char)
        if (ecma.find(text) is not None) != (python.search(text) is not None)
    ]
    assert not disagree, f"{where}: {pattern!r} disagrees on {[ascii(t) for t in disagree[:10]]}"


def test_no_pattern_uses_a_class_escape_whose_code_points_differ() -> None:
    """`\\s`, `\\w`, `\\d`, `\\b` and `.` mean different code points in the two engines: patterns name them."""
    for where, pattern in PATTERNS:
        for escape in ("\\s", "\\S", "\\w", "\\W", "\\d", "\\D", "\\b"):
            assert escape not in pattern, f"{where} uses {escape}"
        unescaped = pattern.replace("\\.", "")
        assert "." not in unescaped.replace("[A-Za-z0-9._:-]", ""), f"{where} uses '.'"


def test_the_nickname_edges_are_exactly_spec_whitespace_and_controls() -> None:
    """SPEC.md §4: a nickname may not start or end with a listed whitespace code point (or a control character);
    any other character may (both engines agree, as above)."""
    nickname = load_schemas()["common.schema.json"]["$defs"]["nickname"]["pattern"]
    ecma = regress.Regex(nickname, "u")
    refused_edges = {char for char in PROBES if ecma.find(f"{char}a") is None or ecma.find(f"a{char}") is None}
    controls = {c for c in PROBES if unicodedata.category(c) == "Cc"}
    assert refused_edges == set(SPEC_WHITESPACE) | controls


def _ecma_pattern(validator: Validator, pattern: str, instance: object, schema: dict[str, Any]) -> Iterator[Any]:
    if isinstance(instance, str) and regress.Regex(pattern, "u").find(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


ECMA_VALIDATOR = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})  # type: ignore[no-untyped-call]


def _ecma(name: str) -> Validator:
    schema = {k: v for k, v in load_schemas()[name].items() if k != "$schema"}
    ecma: Validator = ECMA_VALIDATOR(schema, registry=registry())
    return ecma


def _frames() -> Iterator[tuple[str, str, Any]]:
    for fixture in [*seed_frames(), *valid_frames()]:
        name = CLIENT_FRAME if fixture.direction == "client" else SERVER_FRAME
        yield fixture.name, name, json.loads(fixture.payload)
    for case in invalid_frames():
        if case.binary or not isinstance(case.payload, str):
            continue
        try:
            data = json.loads(case.payload)
        except ValueError:
            continue
        yield case.name, CLIENT_FRAME, data


@pytest.mark.skipif(sys.maxunicode < 0x10FFFF, reason="needs a full-Unicode Python build")
def test_every_labelled_fixture_gets_the_same_verdict_from_an_ecma_262_validator() -> None:
    checked, differ = 0, []
    for fixture, schema_name, data in _frames():
        if _has_lone_surrogate(data):
            continue  # not text: refused before any pattern (INPUT-003), and not representable in Rust's strings
        python = validator(schema_name).is_valid(data)
        ecma = _ecma(schema_name).is_valid(data)
        checked += 1
        if python != ecma:
            differ.append(f"{fixture}: python {python}, ECMA-262 {ecma}")
    assert checked >= 80 and not differ, differ


def _has_lone_surrogate(value: object) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False
