"""The answer alone, for places that show little: `--markdown` (a pull-request comment, a CI step summary) and
`--badge` (an SVG for a README or a dashboard).

Markdown: the headline, the run's facts, the nine items as a table, then, folded, the requirements that decided
a failed or unjudged item. It stays under GitHub's 65,536-character limit for a comment (the folded part is cut
first, and says so). `--markdown "$GITHUB_STEP_SUMMARY"` appends instead of replacing, as GitHub asks of every
writer of that file (several steps and tools share it).

Badge: shields.io's flat style drawn here (no network, no font file): the profile on the left, the items that
hold on the right ("roomwire/1 · 9/9"); green when all nine pass, yellow-green when all hold with a SHOULD
warning, red when an item fails, grey when none fails but some were not judged. Text widths come from a table of
Verdana 11px advances (shields' own font), so the badge fits its text in any viewer.
"""

from __future__ import annotations

import html
from pathlib import Path

from roomwire.conformance.checklist import Checklist, ItemStatus, checklist, label, run_facts
from roomwire.conformance.runner import RunResult

MARKDOWN_LIMIT = 65_000
ICONS = {ItemStatus.PASS: "✅", ItemStatus.FAIL: "❌", ItemStatus.WARN: "⚠️", ItemStatus.NOT_JUDGED: "➖"}


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def markdown(run: RunResult, *, strict: bool = False) -> str:
    """The summary as GitHub-flavoured Markdown (see the module docstring)."""
    items = checklist(run, strict=strict)
    counts = run.counts()
    lines = [
        f"### roomwire check: {items.headline()}",
        "",
        " · ".join(f"**{name}** {_cell(value)}" for name, value in run_facts(run)),
        "",
        "| | checklist item | requirements | why |",
        "|---|---|---|---|",
    ]
    for item in items.items:
        lines.append(
            f"| {ICONS[item.status]} {item.status.shown} | {item.item}. {_cell(item.title)} | "
            f"{item.counts_text()} | {_cell(item.reason)} |"
        )
    lines += [
        "",
        f"Requirements: {counts['pass']} pass, {counts['fail']} fail, {counts['skip']} skip, {counts['error']} "
        f"error; exit {run.exit_code(strict=strict)}.",
    ]
    head = "\n".join(lines) + "\n"
    return head + _deciding(run, items, strict, MARKDOWN_LIMIT - len(head))


def _deciding(run: RunResult, items: Checklist, strict: bool, room: int) -> str:
    """The folded table of the requirements that decided the items that did not pass, cut to `room` characters."""
    wanted = [rid for item in items.items for rid in item.deciding()]
    ids = [rid for rid in dict.fromkeys(wanted) if rid in run.results]
    if not ids:
        return ""
    rows = []
    for rid in ids:
        result = run.results[rid]
        detail = result.detail if len(result.detail) <= 300 else result.detail[:299] + "…"
        rows.append(f"| {label(result, strict)} | {rid} | {result.requirement.level.value} | {_cell(detail)} |")
    opening = f"\n<details><summary>The requirements that decided (FAIL, WARN, not judged): {len(ids)}</summary>\n\n"
    opening += "| status | id | level | detail |\n|---|---|---|---|\n"
    closing = "\n</details>\n"
    body, kept = "", 0
    for row in rows:
        if len(opening) + len(body) + len(row) + len(closing) + 120 > room:
            break
        body, kept = body + row + "\n", kept + 1
    if kept < len(rows):
        body += f"\n{len(rows) - kept} more: see the full report (--html, --report-json).\n"
    return opening + body + closing


def write_markdown(run: RunResult, path: Path, *, strict: bool = False, append: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as out:
        out.write(markdown(run, strict=strict) + "\n")


# Verdana 11px advance widths (shields.io's badge font), in px; anything else counts as a wide letter.
_NARROW = dict.fromkeys("ijlI.,:;'|!·", 3.9)
_WIDTHS = {**dict.fromkeys("0123456789", 7.0), **dict.fromkeys("abcdeghknopqsuvxyz", 6.6), **_NARROW}
_WIDTHS.update({"f": 3.9, "r": 4.7, "t": 4.3, "m": 10.7, "w": 8.9, " ": 3.9, "/": 4.9, "-": 4.6, "_": 7.0})


def text_width(text: str) -> float:
    return sum(_WIDTHS.get(ch, 7.6) for ch in text)


BADGE_COLOURS = {"pass": "#4c1", "warn": "#a4a61d", "fail": "#e05d44", "not_judged": "#9f9f9f"}


def badge_colour(items: Checklist) -> str:
    statuses = {item.status for item in items.items}
    if ItemStatus.FAIL in statuses:
        return BADGE_COLOURS["fail"]
    if ItemStatus.NOT_JUDGED in statuses:
        return BADGE_COLOURS["not_judged"]
    return BADGE_COLOURS["warn" if ItemStatus.WARN in statuses else "pass"]


def badge(run: RunResult, *, strict: bool = False) -> str:
    """The SVG badge (see the module docstring)."""
    items = checklist(run, strict=strict)
    left, right = items.profile, f"{items.held}/{len(items.items)}"
    lw, rw = round(text_width(left)) + 10, round(text_width(right)) + 10
    title = html.escape(f"roomwire check: {items.headline()}")
    left_e, right_e = html.escape(left), html.escape(right)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{lw + rw}" height="20" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{lw + rw}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/>'
        f'<rect x="{lw}" width="{rw}" height="20" fill="{badge_colour(items)}"/>'
        f'<rect width="{lw + rw}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{lw / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{left_e}</text>'
        f'<text x="{lw / 2:.1f}" y="14">{left_e}</text>'
        f'<text x="{lw + rw / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{right_e}</text>'
        f'<text x="{lw + rw / 2:.1f}" y="14">{right_e}</text></g></svg>\n'
    )


def write_badge(run: RunResult, path: Path, *, strict: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(badge(run, strict=strict), encoding="utf-8")
