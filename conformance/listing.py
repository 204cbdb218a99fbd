"""`roomwire check --list` and `--list-targets`: the catalog as text, without running anything."""

from __future__ import annotations

from roomwire.conformance.registry import NOT_COVERED, REGISTRY
from roomwire.spec.errors import UsageError


def catalog_text() -> str:
    """One block per requirement: ID, level, checklist items, text, and its checks or why it has none."""
    import roomwire.conformance.checks  # noqa: F401 - registers the checks

    lines = []
    for req in REGISTRY.known.values():
        lines.append(f"{req.id:10} {req.level.value:6} items {','.join(map(str, req.items)):10} {req.text}")
        checks = REGISTRY.for_requirement(req.id)
        for check in checks:
            extras = [f"needs {', '.join(sorted(n.value for n in check.needs))}"] if check.needs else []
            extras += ["exclusive"] if check.exclusive else []
            extras += [f"{check.ai} AI request(s) of its own"] if check.ai else []
            extras += [f"reads shared {', '.join(ex.name for ex in check.shares)}"] if check.shares else []
            lines.append(f"    check {check.name}{' (' + '; '.join(extras) + ')' if extras else ''}")
        if not checks:
            lines.append(f"    not covered: {NOT_COVERED.get(req.id, 'no check')}")
    return "\n".join(lines) + "\n"


def targets_text() -> str:
    from roomwire.targets.broken import VARIANTS
    from roomwire.targets.seed_fixed import BUNDLED_NAME, DEFECTS

    lines = [
        "reference      the reference server (the default)",
        "seed           the seed's FastAPI copy (targets/seed_fastapi.py)",
        "seed-fixed     the seed's design, its defects fixed, its protocol unchanged (targets/seed_fixed.py; "
        "--profile seed)",
    ]
    lines += [
        f"{BUNDLED_NAME}:{name:11} {defect}; under --profile seed must fail {fails}"
        for name, (defect, fails) in DEFECTS.items()
    ]
    lines += [
        f"{v.name:22} {v.defect}; " + (f"must fail {' '.join(sorted(v.fails))}" if v.fails else "must fail nothing")
        for v in VARIANTS.values()
    ]
    return "\n".join(lines) + "\n"


def require_bundled_target(name: str) -> None:
    """Refuse a `--bundled` name that is not a bundled target (a usage error, exit 2) before anything starts."""
    from roomwire.targets.broken import VARIANTS
    from roomwire.targets.seed_fixed import bundled_names

    if name not in ("reference", "seed", *bundled_names(), *VARIANTS):
        raise UsageError(f"--bundled {name!r} is not a bundled target; see roomwire check --list-targets")
