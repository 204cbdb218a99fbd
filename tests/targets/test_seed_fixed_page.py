"""The fixed seed serves the seed's page at `/` with the ids the browser checks read; `page_inserts_html` changes
exactly the one line that makes CLIENT-004 fail (tests/browser/test_seed_page.py judges both in chromium)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from roomwire.conformance.page_behaviour import PAGE_IDS
from roomwire.targets.seed_fastapi import Settings
from roomwire.targets.seed_fixed import PAGE_DEFECT_EDIT, PAGE_HEADERS, create_app, page_html


def test_the_page_is_served_at_the_root_with_the_ids_and_headers() -> None:
    response = TestClient(create_app(Settings())).get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert all(response.headers[name] == value for name, value in PAGE_HEADERS.items())
    assert all(f'id="{name}"' in response.text for name in PAGE_IDS)
    assert response.text == page_html()
    assert Settings().GEMINI_API_KEY not in response.text


def test_the_page_speaks_the_seed_protocol_and_inserts_text_as_text() -> None:
    html = page_html()
    assert "type: 'user_msg', nickname: nickname, content: content" in html  # the nickname in the frame
    assert "history: aiHistory.slice(-10)" in html and "msg.event" not in html  # no welcome, no event
    assert "innerHTML" not in html and "insertAdjacentHTML" not in html


def test_the_page_defect_changes_only_its_line() -> None:
    fixed, broken = page_html().splitlines(), page_html("page_inserts_html").splitlines()
    changed = [(a.strip(), b.strip()) for a, b in zip(fixed, broken, strict=True) if a != b]
    assert changed == [PAGE_DEFECT_EDIT]
