"""Machine-readable reports: JSON (per requirement: id, level, checklist, status, detail, checks with evidence),
JUnit XML (one testcase per requirement, for CI dashboards) and one self-contained HTML page.

Every text here went through the run's LeakWatch mask when it was recorded, so a report never carries the
canary key even when the target leaked it: the report says where, with `«canary key»` in its place.
"""

from __future__ import annotations

import html
import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

from roomwire import __version__
from roomwire.conformance.checklist import ItemStatus, ItemVerdict, checklist, label, run_facts
from roomwire.conformance.outcomes import Status
from roomwire.conformance.report import answer_first
from roomwire.conformance.runner import RequirementResult, RunResult
from roomwire.spec.requirements import CHECKLIST, Level


def requirement_json(result: RequirementResult) -> dict[str, object]:
    req = result.requirement
    return {
        "id": req.id,
        "level": req.level.value,
        "checklist": list(req.items),
        "status": result.status.value,
        "detail": result.detail,
        "section": req.section,
        "text": req.text,
        "checks": [check.to_json() for check in result.checks],
    }


def to_json(run: RunResult, *, strict: bool = False) -> dict[str, object]:
    """The report; `checklist_summary` and `checklist` come first (the answer), every older field is kept."""
    items = checklist(run, strict=strict)
    return {
        "tool": "roomwire check",
        "version": __version__,
        "profile": items.profile,
        "checklist_summary": items.summary_json(),
        "checklist": [item.to_json(run) for item in items.items],
        "facts": run.facts,
        "strict": strict,
        "duration_s": round(run.duration, 3),
        "summary": run.counts(),
        "exit_code": run.exit_code(strict=strict),
        "requirements": [requirement_json(r) for r in run.results.values()],
    }


def write_json(run: RunResult, path: Path, *, strict: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(run, strict=strict), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _evidence_text(result: RequirementResult) -> str:
    parts = []
    for check in result.checks:
        if check.evidence is None:
            continue
        parts.append(f"{check.check}: expected {check.evidence.expected}\nactual {check.evidence.actual}")
        if check.evidence.traceback:
            parts.append(check.evidence.traceback)
        for transcript in check.evidence.transcripts:
            events = transcript.get("events")
            parts.append(f"connection {transcript.get('connection')} ({transcript.get('url')})")
            for event in events if isinstance(events, list) else []:
                if isinstance(event, dict):
                    parts.append(f"  {event.get('t')}s {event.get('dir')} {event.get('text')}")
    return "\n".join(parts)


def write_junit(run: RunResult, path: Path, *, strict: bool = False) -> None:
    """JUnit XML: a testsuite per checklist item's first ID area would scatter; one suite, classname = section."""
    counts = run.counts()
    suite = ET.Element(
        "testsuite",
        name="roomwire-conformance",
        tests=str(len(run.results)),
        failures=str(counts["fail"]),
        errors=str(counts["error"]),
        skipped=str(counts["skip"]),
        time=f"{run.duration:.3f}",
    )
    properties = ET.SubElement(suite, "properties")  # the answer first: the facts, then the nine items
    for name, value in run_facts(run):
        ET.SubElement(properties, "property", name=name, value=value)
    items = checklist(run, strict=strict)
    ET.SubElement(properties, "property", name="checklist", value=items.headline())
    for item in items.items:
        value = f"{item.status.shown}: {item.title} ({item.counts_text()}); {item.reason}"
        ET.SubElement(properties, "property", name=f"checklist item {item.item}", value=value)
    for result in run.results.values():
        req = result.requirement
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"roomwire.{req.area}",
            name=f"{req.id} {req.level.value}",
            time=f"{sum(c.duration for c in result.checks):.3f}",
        )
        if result.status is Status.FAIL:
            kind = "failure" if req.level is Level.MUST or strict else "skipped"
            element = ET.SubElement(case, kind, message=f"{label(result, strict)}: {result.detail}"[:1000])
            element.text = _evidence_text(result)
        elif result.status is Status.ERROR:
            element = ET.SubElement(case, "error", message=result.detail[:1000])
            element.text = _evidence_text(result)
        elif result.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=result.detail[:1000])
        ET.SubElement(case, "system-out").text = f"{req.text}\n{result.detail}"
    ET.SubElement(suite, "system-out").text = "\n".join(answer_first(run, strict=strict))
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


_STYLE = """body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
.pass{color:#167a2c}.fail{color:#b3261e;font-weight:bold}.warn{color:#b26a00}.skip,.not_judged{color:#666}
.error{color:#7b1fa2;font-weight:bold}pre{white-space:pre-wrap;background:#f6f6f6;padding:8px;font-size:12px}
h2{margin-top:1.5em}.items summary{cursor:pointer;padding:6px 0}.items details{border-bottom:1px solid #ddd}
.items table{margin:0 0 8px 2em;width:auto}.ev{display:none}tr:target{background:#fff7d6}tr:target .ev{display:block}
.facts{color:#444}.status{display:inline-block;min-width:7.5em}"""


def _item_html(item: ItemVerdict, run: RunResult, strict: bool) -> str:
    """One item: its status line (click 1 opens it) and its requirements, each a link to its row (click 2 shows
    that row's evidence). Failed items start open."""
    esc = html.escape
    tag = item.status.value
    rows = []
    for rid, row in item.rows:
        result = run.results.get(rid)
        detail = textwrap.shorten(result.detail, 200, placeholder=" …") if result is not None else row
        link = f"<a href='#req-{rid}'>{rid}</a>" if result is not None else rid
        css = row.lower().replace(" ", "_")
        rows.append(f"<tr><td class={css}>{esc(row)}</td><td>{link}</td><td>{esc(detail)}</td></tr>")
    opened = " open" if item.status is ItemStatus.FAIL else ""
    return (
        f"<details id=item-{item.item}{opened}><summary><span class='status {tag}'>{item.status.shown}</span> "
        f"{item.item}. {esc(item.title)} <span class=facts>({esc(item.counts_text())}) {esc(item.reason)}</span>"
        f"</summary><table>{''.join(rows)}</table></details>"
    )


def write_html(run: RunResult, path: Path, *, strict: bool = False) -> None:
    """One self-contained page: the nine items first (item, then requirement, then evidence: two clicks), the
    facts, then every requirement's row under its first item with its evidence."""
    esc = html.escape
    counts = run.counts()
    items = checklist(run, strict=strict)
    out = [f"<!doctype html><meta charset=utf-8><title>roomwire conformance</title><style>{_STYLE}</style>"]
    out.append(f"<h1>roomwire conformance report</h1><h2>{esc(items.headline())}</h2>")
    out.append("<p class=facts>" + " · ".join(f"{esc(k)}: {esc(v)}" for k, v in run_facts(run)) + "</p>")
    out.append("<div class=items>" + "".join(_item_html(item, run, strict) for item in items.items) + "</div>")
    out.append(
        f"<p>requirements: {counts['pass']} pass, {counts['fail']} fail, {counts['skip']} skip, "
        f"{counts['error']} error in {run.duration:.1f} s; exit {run.exit_code(strict=strict)}</p>"
    )
    out.append("<h2>Facts</h2><ul>" + "".join(f"<li>{esc(str(k))}: {esc(str(v))}</li>" for k, v in run.facts.items()))
    out.append("</ul>")
    for item, title in CHECKLIST.items():
        rows = [r for r in run.results.values() if r.requirement.items[0] == item]
        if not rows:
            continue
        out.append(
            f"<h2>{item}. {esc(title)}</h2><table><tr><th>status</th><th>id</th><th>level</th>"
            "<th>requirement</th><th>detail</th></tr>"
        )
        for r in rows:
            tag = label(r, strict).lower()
            evidence = _evidence_text(r)
            rid = r.requirement.id
            detail = esc(r.detail) + (
                f" <a href='#req-{rid}'>evidence</a><div class=ev><pre>{esc(evidence)}</pre></div>" if evidence else ""
            )
            out.append(
                f"<tr id=req-{rid}><td class={tag}>{tag.upper()}</td><td>{rid}</td><td>{r.requirement.level.value}</td>"
                f"<td>{esc(r.requirement.text)}</td><td>{detail}</td></tr>"
            )
        out.append("</table>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
