"""Deliberately broken copies of the chat page, one SPEC.md §14 defect each, for `roomwire check --browser`.

"A check that cannot fail is a defect" (STYLE): each defect is a small edit of the reference page's script that
breaks exactly one CLIENT requirement, and `tests/browser/test_check_browser.py` shows that the browser checks
fail it and pass the others. The page's Content-Security-Policy pins its script by hash, so an edited page also
gets `script-src 'unsafe-inline'` (the policy's other lines stay).
"""

from __future__ import annotations

import re

#: Each defect: the requirement it breaks and the (old, new) edits of the page's script.
DEFECTS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "markup_as_html": (
        "CLIENT-004",
        (
            (
                "item.appendChild(node('div', 'text', text(frame.content)));",
                "var body = node('div', 'text'); body.innerHTML = text(frame.content); item.appendChild(body);",
            ),
        ),
    ),
    "answer_at_once": (
        "CLIENT-001",
        (
            ("request.typed.appendData(content); //", "//"),
            (
                "    finishAi(request, status, emptyTruncated ? T.aiTruncatedEmpty : null);",
                "    request.typed.appendData(request.answer);\n"
                "    finishAi(request, status, emptyTruncated ? T.aiTruncatedEmpty : null);",
            ),
        ),
    ),
    "spinner_never_stops": ("CLIENT-001", (("el.spinner.hidden = !busy;", "el.spinner.hidden = false;"),)),
    "reuses_bubble": (
        "CLIENT-005",
        (
            (
                "var bubble = node('li', 'msg ai streaming');",
                "var reused = el.aiLog.querySelector('li.msg.ai');\n"
                "    var bubble = reused || node('li', 'msg ai streaming');",
            ),
            ("append('ai', bubble);", "if (!reused) append('ai', bubble);"),
        ),
    ),
    "hides_join_notices": (
        "CLIENT-002",
        (
            (
                "function showNotice(logName, content, attrs) {",
                "function showNotice(logName, content, attrs) {\n"
                "    if (attrs.event === 'join') return node('li', 'notice');",
            ),
        ),
    ),
}

_SCRIPT_HASH = re.compile(r"script-src 'sha256-[^']+'")


def apply(html: str, defects: frozenset[str]) -> str:
    """`html` (the reference page) with `defects` edited into its script."""
    for defect in sorted(defects):
        for old, new in DEFECTS[defect][1]:
            if html.count(old) != 1:
                raise ValueError(f"{defect}: the page no longer holds {old!r} exactly once; update this file")
            html = html.replace(old, new)
    if defects:
        html, count = _SCRIPT_HASH.subn("script-src 'unsafe-inline'", html, count=1)
        if count != 1:
            raise ValueError("the page's Content-Security-Policy has no script-src hash to replace")
    return html
