from __future__ import annotations

import re

import pytest

from roomwire.gemini_double import canned


def test_sentence_bank_has_both_languages() -> None:
    bank = canned.sentence_bank()
    assert len(bank.en) >= 20 and len(bank.ko) == len(bank.en)
    assert all(s.isascii() for s in bank.en) and not any(s.isascii() for s in bank.ko)


def test_every_recorded_fixture_is_there_and_cited() -> None:
    index = canned.recorded_index()
    assert {"stream_usage_is_live_mid_stream", "model_max_tokens", "model_safety_settings"} <= set(index)
    for name, entry in index.items():
        url, repository = str(entry["url"]), str(entry["repository"])
        assert url.startswith(f"https://github.com/{repository}/"), name
        if "/blob/" in url and "/blob/main/" not in url:  # a file of a repository: pinned to its commit
            assert len(str(entry["commit"])) == 40 and str(entry["commit"]) in url, name
        else:  # an issue or pull request thread, or the SDK's source for a case no capture shows
            assert "/issues/" in url or "/pull/" in url or entry["verbatim"] is False, name
        assert entry["case"] and isinstance(entry["verbatim"], bool), name
        assert canned.recorded_body(name)


def test_recorded_bodies_hold_no_real_key() -> None:
    """Keys leaked in the cited threads were replaced by FAKE_API_KEY (README): no other key shape is here."""
    for name in canned.recorded_index():
        keys = set(re.findall(r"AIza[0-9A-Za-z_-]{35}", canned.recorded_body(name)))
        assert keys <= {"AIzaFAKE-roomwire-gemini-double-test-00"}, name


def test_unknown_recorded_fixture() -> None:
    with pytest.raises(FileNotFoundError, match="known: "):
        canned.recorded_body("no-such-recording")
