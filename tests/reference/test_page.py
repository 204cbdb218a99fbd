"""The chat page's HTTP headers come from its own <meta> policy plus frame-ancestors (page.py, SEC-009)."""

from __future__ import annotations

from pathlib import Path

import pytest

from roomwire.reference.page import PAGE, frame_ancestors, load_page, meta_policy, page_headers

HTML = "<meta http-equiv=\"Content-Security-Policy\"\n      content=\"default-src 'none'; script-src 'sha256-x'\">"


def test_the_header_is_the_meta_policy_with_frame_ancestors() -> None:
    headers = page_headers(HTML, ())
    assert headers["Content-Security-Policy"] == "default-src 'none'; script-src 'sha256-x'; frame-ancestors 'self'"
    assert headers["X-Frame-Options"] == "SAMEORIGIN" and headers["Referrer-Policy"] == "no-referrer"
    assert frame_ancestors(("https://game.example",)) == "'self' https://game.example"
    assert frame_ancestors(("'none'",)) == "'none'"


def test_a_page_without_a_meta_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="no Content-Security-Policy"):
        meta_policy("<html></html>")


def test_the_shipped_page_loads_and_a_missing_one_is_none(tmp_path: Path) -> None:
    page = load_page(())
    assert page is not None and page.body == PAGE.read_bytes()
    assert load_page((), tmp_path / "absent.html") is None
