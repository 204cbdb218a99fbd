"""The tables of docs/conformance.md and SPEC.md §17's seed profile table, generated from the registry they
describe (Schemathesis' registries): what
is checked, with what each check needs and spends, which broken target proves it can fail, and the broken
targets themselves. `python tools/generate_docs.py` writes them between their markers; a test fails when the
docs and the registry disagree.
"""

from __future__ import annotations

from roomwire.conformance.proofs import proof_matrix
from roomwire.conformance.registry import NOT_COVERED, REGISTRY, Check, Registry

#: Marker pairs in docs/conformance.md around each generated table.
MARKERS = {
    "checks": ("<!-- generated: checks (python tools/generate_docs.py) -->", "<!-- end: checks -->"),
    "variants": ("<!-- generated: variants (python tools/generate_docs.py) -->", "<!-- end: variants -->"),
    "exchanges": ("<!-- generated: exchanges (python tools/generate_docs.py) -->", "<!-- end: exchanges -->"),
}
#: The marker pair in spec/SPEC.md §17 around the seed profile's checklist table.
SPEC_MARKERS = {
    "seed-table": ("<!-- generated: seed-table (python tools/generate_docs.py) -->", "<!-- end: seed-table -->")
}


def _check_cell(check: Check) -> str:
    extras = sorted(n.value for n in check.needs)
    cost = check.ai + sum(ex.ai_requests for ex in check.shares)
    shared = [ex.name for ex in check.shares]
    text = f"`{check.name}`"
    if extras:
        text += f" ({', '.join(extras)})"
    if cost:
        parts = ([f"{check.ai} own"] if check.ai else []) + ([f"shares {', '.join(shared)}"] if shared else [])
        text += f" [AI: {'; '.join(parts)}]"
    return text


def checks_table(registry: Registry = REGISTRY) -> str:
    """One row per requirement: its checks, the scenario checks that also judge it, and its proof."""
    import roomwire.conformance.checks  # noqa: F401 - registers the checks

    proofs = {p.requirement_id: p for p in proof_matrix(registry)}
    rows = ["| requirement | level | checks | proven by |", "|---|---|---|---|"]
    for rid, req in registry.known.items():
        own = [_check_cell(c) for c in registry.for_requirement(rid)]
        also = [f"also `{c.name}`" for c in registry.checks.values() if rid in c.requirement_ids[1:]]
        cells = own + also or [f"not covered: {NOT_COVERED.get(rid, 'no check').split(':', 1)[0]}"]
        proof = proofs[rid]
        proven = proof.names("`") or "none"
        rows.append(f"| {rid} | {req.level.value} | {'; '.join(cells)} | {proven} |")
    return "\n".join(rows)


def variants_table() -> str:
    """One row per broken target: its defect and the requirements it must fail (`seed-fixed:*`: under the seed
    profile)."""
    from roomwire.targets.broken import VARIANTS
    from roomwire.targets.seed_fixed import BUNDLED_NAME, DEFECTS

    rows = ["| variant | defect | must fail |", "|---|---|---|"]
    rows += [f"| `{v.name}` | {v.defect} | {', '.join(sorted(v.fails))} |" for v in VARIANTS.values()]
    rows += [
        f"| `{BUNDLED_NAME}:{name}` | {defect} | {', '.join(sorted(fails.split()))} (--profile seed) |"
        for name, (defect, fails) in DEFECTS.items()
    ]
    return "\n".join(rows)


def exchanges_table(registry: Registry = REGISTRY) -> str:
    """The shared answers and upstream cases (roomwire.conformance.shared): what each costs, who reads it."""
    import roomwire.conformance.checks  # noqa: F401 - registers the checks

    readers: dict[str, list[str]] = {}
    costs: dict[str, tuple[int, str]] = {}
    for check in registry.checks.values():
        for exchange in check.shares:
            readers.setdefault(exchange.name, []).append(check.requirement_id)
            costs[exchange.name] = (exchange.ai_requests, exchange.doc)
    rows = ["| shared | what | AI requests | read by |", "|---|---|---|---|"]
    for name, ids in readers.items():
        cost, doc = costs[name]
        rows.append(f"| `{name}` | {doc} | {cost} | {', '.join(sorted(set(ids)))} |")
    return "\n".join(rows)


def seed_table() -> str:
    """SPEC.md §17's table: per checklist item, the requirements judged under the seed profile, and those of §15's
    row that are not part of the seed protocol."""
    from roomwire.conformance.profiles import SEED, profile
    from roomwire.spec.requirements import CHECKLIST, checklist_table

    judged = profile(SEED).checklist()
    rows = [
        "| # | checklist item | judged under the seed profile | not part of the seed protocol |",
        "|---|---|---|---|",
    ]
    for item, ids in checklist_table().items():
        outside = [rid for rid in ids if rid not in judged[item]]
        rows.append(f"| {item} | {CHECKLIST[item]} | {', '.join(judged[item])} | {', '.join(outside) or '—'} |")
    return "\n".join(rows)


def _replace(markdown: str, markers: tuple[str, str], table: str, where: str) -> str:
    start, end = markers
    head, _, rest = markdown.partition(start)
    _, _, tail = rest.partition(end)
    if not rest:
        raise ValueError(f"{where} has no marker {start!r}")
    return f"{head}{start}\n{table}\n{end}{tail}"


def render(markdown: str) -> str:
    """`markdown` (docs/conformance.md) with every generated table replaced by its current text."""
    tables = (("checks", checks_table()), ("variants", variants_table()), ("exchanges", exchanges_table()))
    for name, table in tables:
        markdown = _replace(markdown, MARKERS[name], table, "docs/conformance.md")
    return markdown


def render_spec(markdown: str) -> str:
    """`markdown` (spec/SPEC.md) with the seed profile's checklist table replaced by its current text."""
    return _replace(markdown, SPEC_MARKERS["seed-table"], seed_table(), "spec/SPEC.md")
