from __future__ import annotations

from roomwire.gemini_double.journal import Journal


def _open(journal: Journal, text: str | None) -> None:
    entry = journal.open(
        time="t", received_ms=1.0, http_method="POST", path="/v1/x", query={}, key={"sent": False}, headers={}
    )
    entry.last_user_text = text


def test_entries_in_order_filtered_by_match() -> None:
    journal = Journal()
    for text in ("alpha tok-1", "beta", None, "gamma tok-1"):
        _open(journal, text)
    assert [e["seq"] for e in journal.entries()] == [1, 2, 3, 4]
    assert [e["last_user_text"] for e in journal.entries("tok-1")] == ["alpha tok-1", "gamma tok-1"]
    journal.clear()
    assert journal.entries() == []


def test_bounded_oldest_first_out_and_resize() -> None:
    journal = Journal(limit=3)
    for n in range(5):
        _open(journal, str(n))
    assert [e["last_user_text"] for e in journal.entries()] == ["2", "3", "4"]
    journal.resize(2)
    assert [e["last_user_text"] for e in journal.entries()] == ["3", "4"]
    journal.resize(2)
    _open(journal, "5")
    assert [e["seq"] for e in journal.entries()] == [5, 6]
