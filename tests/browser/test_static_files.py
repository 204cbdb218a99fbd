"""The page, read as text (no browser): no HTML sinks, only its own pinned code, nothing fetched from elsewhere.

These complement the browser tests: a browser test shows that one attack string is shown as text; these show
that the code has no way to do otherwise (CLIENT-004) and holds nothing secret (SEC-005).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from .csp import expected_policy, inline_blocks, policy
from .scripted_server import STATIC


def page() -> str:
    return (STATIC / "index.html").read_text(encoding="utf-8")


def script() -> str:
    [text] = inline_blocks(page())["script"]
    return text


def style() -> str:
    [text] = inline_blocks(page())["style"]
    return text


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_package_ships_the_page() -> None:
    assert "<main" in page()


def test_policy_pins_the_one_inline_script_and_style() -> None:
    """Out of date after an edit? Run `python -m tests.browser.csp` (it rewrites the policy's hashes)."""
    blocks = inline_blocks(page())
    assert (len(blocks["script"]), len(blocks["style"])) == (1, 1)
    assert policy(page()) == expected_policy(page()), "stale CSP hashes: run `python -m tests.browser.csp`"


def test_page_has_no_handler_attribute_and_loads_nothing() -> None:
    parser = _Tags()
    parser.feed(page())
    for tag, attrs in parser.tags:
        assert not [name for name in attrs if name.startswith("on") or name == "style"], (tag, attrs)
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or value.startswith("data:"), (tag, name, value)


@pytest.mark.parametrize(
    "sink", ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "srcdoc"]
)
def test_script_has_no_html_sink(sink: str) -> None:
    """CLIENT-004: wire text reaches the DOM through textContent and Text nodes only."""
    assert sink not in script()


def test_script_talks_only_to_its_own_socket() -> None:
    code = script()
    assert not re.search(r"\bfetch\(|XMLHttpRequest|sendBeacon|EventSource|importScripts", code)
    assert code.count("new WebSocket(") == 1 and "new WebSocket(socketUrl())" in code
    assert "window.location.host + '/api/v1/ws/chat/'" in code


def test_no_file_holds_anything_like_a_key() -> None:
    """SEC-005: the page never contains a key, not even a fake one."""
    text = page()
    assert not re.search(r"AIza[0-9A-Za-z_-]{10,}", text)
    assert "api_key" not in text.lower() and "apikey" not in text.lower()


def test_stylesheet_loads_nothing() -> None:
    css = style()
    assert "@import" not in css and "url(" not in css
