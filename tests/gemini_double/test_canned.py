from __future__ import annotations

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
        assert str(entry["source"]).startswith("tests/models/cassettes/test_google/")
        assert len(str(entry["commit"])) == 40
        assert canned.recorded_body(name)


def test_unknown_recorded_fixture() -> None:
    with pytest.raises(FileNotFoundError, match="known: "):
        canned.recorded_body("no-such-recording")
