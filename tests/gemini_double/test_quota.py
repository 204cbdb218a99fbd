from __future__ import annotations

import pytest

from roomwire.gemini_double.quota import QuotaTracker


def test_sliding_window_per_model_and_key() -> None:
    quota = QuotaTracker()
    assert [quota.admit("m", "k", 2, now) for now in (0.0, 10.0)] == [None, None]
    assert quota.admit("m", "k", 2, 20.0) == pytest.approx(40.0)  # the first leaves the window at 60
    assert quota.admit("m", "other-key", 2, 20.0) is None and quota.admit("other", "k", 2, 20.0) is None
    assert quota.admit("m", "k", 2, 60.0) is None  # rejected requests did not count
    assert quota.admit("m", "k", 2, 61.0) == pytest.approx(9.0)


def test_no_limit_and_clear() -> None:
    quota = QuotaTracker()
    assert all(quota.admit("m", "k", None, float(n)) is None for n in range(100))
    quota.admit("m", "k", 1, 0.0)
    quota.clear()
    assert quota.admit("m", "k", 1, 1.0) is None


def test_lowered_limit_waits_for_enough_requests_to_leave() -> None:
    quota = QuotaTracker()
    for now in (0.0, 1.0, 2.0):
        quota.admit("m", "k", 5, now)
    assert quota.admit("m", "k", 1, 3.0, window=10.0) == pytest.approx(9.0)
