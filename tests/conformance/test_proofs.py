"""Every requirement a black box can judge has a bundled broken target that fails it (`roomwire check --proofs`),
and every proof claimed is a requirement the bundled target's checks can judge."""

from __future__ import annotations

import pytest

import roomwire.conformance.checks  # noqa: F401 - registers the checks
from roomwire.cli import main
from roomwire.conformance.profiles import SEED, profile
from roomwire.conformance.proofs import PAGE_PROOF, UNPROVABLE, proof_matrix, seed_variant_fails, unproven
from roomwire.conformance.registry import REGISTRY, Registry
from roomwire.targets.broken import VARIANTS
from roomwire.targets.seed_fixed import DEFECTS as SEED_DEFECTS
from roomwire.targets.seed_fixed import judged_in_browser
from tests.browser.broken_page import DEFECTS


def test_every_checkable_requirement_has_a_proof() -> None:
    assert unproven() == [], "add a variant to roomwire.targets.broken that fails exactly it"


def test_a_checkable_requirement_without_a_variant_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import roomwire.targets.broken as broken

    fewer = {name: v for name, v in VARIANTS.items() if name != "refuses_long_room_ids"}
    monkeypatch.setattr(broken, "VARIANTS", fewer)
    assert unproven() == ["CONN-001"]
    registry = Registry(known=REGISTRY.known)
    assert "CONN-001" not in unproven(registry)  # without a check there is nothing to prove


def test_every_variant_fails_only_requirements_the_bundled_checks_judge() -> None:
    rows = {p.requirement_id: p for p in proof_matrix()}
    for variant in VARIANTS.values():
        for rid in variant.fails:
            assert rid in REGISTRY.known, (variant.name, rid)
            assert not rows[rid].note, f"{variant.name} claims {rid}, which is {rows[rid].note}"


def test_every_seed_variant_fails_only_requirements_the_seed_profile_judges() -> None:
    rows, seed = {p.requirement_id: p for p in proof_matrix()}, profile(SEED)
    for name, fails in seed_variant_fails().items():
        in_browser = judged_in_browser(name.partition(":")[2])
        for rid in fails:
            assert seed.applies(rid), f"{name} claims {rid}, which is {seed.outside(rid)}"
            assert name in rows[rid].seed_variants
            # a page defect is judged only with --browser; any other, by the bundled target's own checks
            assert rows[rid].note == (PAGE_PROOF if in_browser else ""), (name, rid, rows[rid].note)


def test_a_seed_form_check_without_a_seed_variant_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import roomwire.targets.seed_fixed as seed_fixed

    monkeypatch.setattr(seed_fixed, "DEFECTS", {k: v for k, v in SEED_DEFECTS.items() if k != "extra_frame_type"})
    assert unproven() == ["FRAME-001"]  # roomwire/1's variants fail its roomwire/1 check, not its seed form


def test_unprovable_and_page_requirements_are_current() -> None:
    rows = {p.requirement_id: p for p in proof_matrix()}
    assert all(rows[rid].note == reason for rid, reason in UNPROVABLE.items())
    pages = {rid for rid, p in rows.items() if p.note == PAGE_PROOF}
    assert pages == {rid for rid, _ in DEFECTS.values()}  # each page requirement has a broken page


def test_the_cli_lists_the_proofs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--proofs"]) == 0
    out = capsys.readouterr().out
    assert "CONN-001   MUST   refuses_long_room_ids" in out and "NO PROOF" not in out
    assert (
        "FRAME-001  MUST   pong_with_numeric_id, sends_deep_frames, seed-fixed:extra_frame_type (--profile seed)" in out
    )
    assert main(["check", "--list-targets"]) == 0
    assert "strips_chunk_whitespace" in capsys.readouterr().out
