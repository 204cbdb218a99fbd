"""The page's files, read as text (no browser): no HTML sinks, no inline code, nothing fetched from elsewhere.

These complement the browser tests: a browser test shows that one attack string is shown as text; these show
that the code has no way to do otherwise (CLIENT-004) and holds nothing secret (SEC-005).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from .scripted_server import STATIC

FILES = ("index.html", "chat.js", "chat.css")


def read(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_code: list[str] = []
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._tag = tag

    def handle_data(self, data: str) -> None:
        if self._tag in ("script", "style") and data.strip():
            self.inline_code.append(data)


def test_the_package_ships_every_page_file() -> None:
    for name in FILES:
        assert read(name).strip()


def test_page_has_no_inline_code_and_loads_only_its_own_files() -> None:
    parser = _Tags()
    parser.feed(read("index.html"))
    assert parser.inline_code == []
    for tag, attrs in parser.tags:
        assert not [name for name in attrs if name.startswith("on") or name == "style"], (tag, attrs)
        for name in ("src", "href"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith("static/") or value.startswith("data:"), (tag, name, value)
    policies = [attrs["content"] for tag, attrs in parser.tags if attrs.get("http-equiv") == "Content-Security-Policy"]
    assert len(policies) == 1
    assert "default-src 'none'" in str(policies[0]) and "script-src 'self'" in str(policies[0])


@pytest.mark.parametrize(
    "sink", ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "srcdoc"]
)
def test_script_has_no_html_sink(sink: str) -> None:
    """CLIENT-004: wire text reaches the DOM through textContent and Text nodes only."""
    assert sink not in read("chat.js")


def test_script_talks_only_to_its_own_socket() -> None:
    script = read("chat.js")
    assert not re.search(r"\bfetch\(|XMLHttpRequest|sendBeacon|EventSource|importScripts", script)
    assert script.count("new WebSocket(") == 1 and "new WebSocket(socketUrl())" in script
    assert "window.location.host + '/api/v1/ws/chat/'" in script


def test_no_file_holds_anything_like_a_key() -> None:
    """SEC-005: the page never contains a key, not even a fake one."""
    for name in FILES:
        text = read(name)
        assert not re.search(r"AIza[0-9A-Za-z_-]{10,}", text), name
        assert "api_key" not in text.lower() and "apikey" not in text.lower(), name


def test_stylesheet_loads_nothing() -> None:
    css = read("chat.css")
    assert "@import" not in css and "url(" not in css
