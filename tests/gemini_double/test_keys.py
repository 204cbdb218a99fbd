from __future__ import annotations

from roomwire.gemini_double.keys import FAKE_API_KEY, fingerprint, is_plausible, key_accepted, locate_key

OTHER_FAKE_KEY = "AIzaFAKE-other-test-key-000000000000000"  # FAKE test key


def test_fake_keys_have_the_real_shape() -> None:
    assert is_plausible(FAKE_API_KEY) and is_plausible(OTHER_FAKE_KEY)
    assert not is_plausible("AIza-too-short") and not is_plausible("sk-" + "x" * 36)


def test_header_wins_over_query_and_is_stripped() -> None:
    info = locate_key({"x-goog-api-key": f"  {FAKE_API_KEY} "}, {"key": OTHER_FAKE_KEY})
    assert info.location == "header" and info.fingerprint == fingerprint(FAKE_API_KEY) and info.plausible
    assert info.secret == FAKE_API_KEY


def test_query_key_and_no_key() -> None:
    assert locate_key({}, {"key": OTHER_FAKE_KEY}).location == "query"
    assert locate_key({"x-goog-api-key": "   "}, {}).location == "none"
    none = locate_key({}, {})
    assert none.fingerprint is None and not none.plausible and none.secret is None


def test_journal_view_and_repr_never_hold_the_key() -> None:
    info = locate_key({"x-goog-api-key": FAKE_API_KEY}, {})
    assert FAKE_API_KEY not in repr(info) and FAKE_API_KEY not in str(info.to_json())
    assert info.to_json() == {"sent": True, "location": "header", "fingerprint": info.fingerprint, "plausible": True}


def test_key_accepted_by_shape_or_by_list() -> None:
    plausible = locate_key({"x-goog-api-key": FAKE_API_KEY}, {})
    odd = locate_key({"x-goog-api-key": "test-key-of-odd-shape"}, {})
    assert key_accepted(plausible, None) and not key_accepted(odd, None)
    assert key_accepted(odd, ["test-key-of-odd-shape"]) and not key_accepted(plausible, [OTHER_FAKE_KEY])
    assert not key_accepted(locate_key({}, {}), None)
    assert len(fingerprint(FAKE_API_KEY)) == 8
