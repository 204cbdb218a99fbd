"""The proof matrix: for every requirement a black box can judge, the bundled broken targets that fail it.

A check that cannot fail is not a check (STYLE.md). Each variant of `roomwire.targets.broken` names the
requirements it must fail, and tests/conformance/test_broken_variants.py holds it to exactly those; so does each
`seed-fixed:DEFECT` (roomwire.targets.seed_fixed.DEFECTS) under `--profile seed`, the proof of the seed-form
checks (tests/conformance/test_seed_profile.py; its page defect: tests/browser/test_seed_page.py); this module
turns that into one row per requirement, from the registry, so that `roomwire check --proofs` prints it, the
docs' table is generated from it, and tests/conformance/test_proofs.py fails when a checkable requirement has no
proof. "Checkable" means: the registry has a check for it that the bundled target can run (the page requirements,
whose checks need `--browser`, are proven by the broken pages of tests/browser instead; `UNPROVABLE` lists the
rest with the reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from roomwire.conformance.profiles import SEED_ONLY
from roomwire.conformance.registry import NOT_COVERED, REGISTRY, Need, Registry

#: Checkable requirements no bundled target can fail, and why.
UNPROVABLE: Mapping[str, str] = {
    "CONN-005": "judged only against a wss:// URL; the bundled targets are served over ws://",
}
#: Where the page requirements (their checks need --browser) are proven.
PAGE_PROOF = "the broken pages of tests/browser/broken_page.py (tests/browser/test_check_browser.py)"
#: What a bundled target gives a check (roomwire.conformance.bundled): the double, its canary, restarts, its log.
BUNDLED_NEEDS = frozenset({Need.DOUBLE, Need.CANARY, Need.RESTART, Need.CANARY_KEY, Need.TARGET_LOG})


@dataclass(frozen=True)
class Proof:
    """One requirement's row: the variants that fail it (`seed_variants`: under `--profile seed`), or why none can."""

    requirement_id: str
    level: str
    variants: tuple[str, ...]
    note: str = ""
    seed_variants: tuple[str, ...] = ()

    @property
    def proven(self) -> bool:
        return bool(self.variants) or bool(self.note)

    def names(self, quote: str = "") -> str:
        """The proofs, one phrase: the variants, the note when there is no roomwire/1 variant, the seed ones."""
        said = [f"{quote}{v}{quote}" for v in self.variants] or ([self.note] if self.note else [])
        said += [f"{quote}{v}{quote} (--profile seed)" for v in self.seed_variants]
        return ", ".join(said)


def _bundled_checkable(registry: Registry, requirement_id: str) -> bool:
    return any(c.needs <= BUNDLED_NEEDS for c in registry.for_requirement(requirement_id))


def proof_matrix(registry: Registry = REGISTRY) -> list[Proof]:
    """Every requirement of SPEC.md, in its order, with its proofs (see the module docstring)."""
    import roomwire.conformance.checks  # noqa: F401 - registers the checks
    from roomwire.targets.broken import VARIANTS

    seed_fails = seed_variant_fails()
    rows = []
    for rid, req in registry.known.items():
        variants = tuple(sorted(v.name for v in VARIANTS.values() if rid in v.fails))
        seed = tuple(sorted(name for name, fails in seed_fails.items() if rid in fails))
        if rid in NOT_COVERED:
            note = f"not checked: {NOT_COVERED[rid].split(':', 1)[0]}"
        elif not registry.for_requirement(rid):
            note = "no check"
        elif not _bundled_checkable(registry, rid):
            note = PAGE_PROOF
        else:
            note = UNPROVABLE.get(rid, "")
        rows.append(Proof(rid, req.level.value, variants, "" if variants else note, seed))
    return rows


def seed_variant_fails() -> dict[str, frozenset[str]]:
    """`seed-fixed:DEFECT` -> the requirements it fails under `--profile seed`."""
    from roomwire.targets.seed_fixed import BUNDLED_NAME, DEFECTS

    return {f"{BUNDLED_NAME}:{name}": frozenset(fails.split()) for name, (_, fails) in DEFECTS.items()}


def unproven(registry: Registry = REGISTRY) -> list[str]:
    """Checkable requirements without a bundled target that fails them, and requirements with a seed-form check
    (one that runs under `--profile seed` only) without a `seed-fixed:DEFECT` that fails it (a test keeps this
    empty)."""
    seed_forms = {c.requirement_id for c in registry.checks.values() if c.profiles == frozenset(SEED_ONLY)}
    return [
        p.requirement_id
        for p in proof_matrix(registry)
        if not p.proven or (p.requirement_id in seed_forms and not p.seed_variants)
    ]


def proofs_text(registry: Registry = REGISTRY) -> str:
    """`roomwire check --proofs`: one line per requirement."""
    lines = []
    for proof in proof_matrix(registry):
        said = proof.names() or "NO PROOF"
        lines.append(f"{proof.requirement_id:10} {proof.level:6} {said}")
    return "\n".join(lines) + "\n"
