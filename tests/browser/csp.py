"""The chat page's Content-Security-Policy pins its one inline script and one inline style by SHA-256.

The page is a single file (the reference serves exactly `static/index.html` at `/`), so its code is inline, and
the policy allows exactly that code and nothing else: no other inline script, no event-handler attribute, no
script from anywhere. After editing the page's script or style, update the hashes with

    python -m tests.browser.csp          # rewrites reference/static/index.html's policy in place

`test_static_files.py` fails, naming this command, when they are stale.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
from pathlib import Path

from roomwire.reference.page import meta_policy

PAGE = Path(__file__).resolve().parents[2] / "reference" / "static" / "index.html"

_BLOCK = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)
_POLICY = re.compile(r'(<meta http-equiv="Content-Security-Policy"\s+content=")([^"]*)(")')


def inline_blocks(html: str) -> dict[str, list[str]]:
    """The text of every inline `<script>` and `<style>` element, by tag."""
    blocks: dict[str, list[str]] = {"script": [], "style": []}
    for tag, text in _BLOCK.findall(html):
        blocks[tag].append(text)
    return blocks


def digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def policy(html: str) -> str:
    """The page's <meta> policy, read as the reference reads it to send it as a header (SEC-009)."""
    return meta_policy(html)


def expected_policy(html: str) -> str:
    blocks = inline_blocks(html)
    scripts = " ".join(digest(text) for text in blocks["script"])
    styles = " ".join(digest(text) for text in blocks["style"])
    return (
        f"default-src 'none'; script-src {scripts}; style-src {styles}; connect-src 'self'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def rewrite(html: str) -> str:
    return _POLICY.sub(lambda m: m.group(1) + expected_policy(html) + m.group(3), html, count=1)


def main() -> int:
    html = PAGE.read_text(encoding="utf-8")
    updated = rewrite(html)
    if updated != html:
        PAGE.write_text(updated, encoding="utf-8")
    sys.stdout.write(f"{PAGE}: {policy(updated)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
