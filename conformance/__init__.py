"""The conformance suite: `roomwire check URL` tells any team, with evidence, which requirements of SPEC.md
its chat backend meets (docs/conformance.md).

    from roomwire.conformance import SuiteConfig, run_suite
    result = asyncio.run(run_suite(SuiteConfig(urls=("ws://127.0.0.1:8000/api/v1/ws/chat/{room_id}",))))
    result.exit_code(), result.results["CHAT-001"].status

Modules, one job each: `registry` (checks bound to requirement IDs), `checks/` (one module per SPEC.md section),
`driver` and `client` (asyncio connections over `roomwire.spec.protocol.ClientProtocol`), `proxy` (the TCP
fault proxy), `session` and `preflight` (what a run knows), `upstream` (the Gemini double's control API),
`runner` (verdicts), `report`/`report_files` (console, JSON, JUnit, HTML), `bundled` (the reference and the
double started for a run without URL), `suite` (one call), `cli` (`roomwire check`), `plugin` (pytest),
`browser`/`browser_evidence` (the key-leak scan of a chat page in chromium), `page_drivers` (how the scan uses
the page), `page_behaviour` (what the page was seen to do) and `page_verdicts` (CLIENT-* judged from it), used by
`--browser`.
The package imports nothing heavy itself, so `roomwire --help` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roomwire.conformance.registry import REGISTRY, Need, requirement
    from roomwire.conformance.runner import RunResult
    from roomwire.conformance.suite import SuiteConfig, run_suite

_EXPORTS = {
    "REGISTRY": ("registry", "REGISTRY"),
    "Need": ("registry", "Need"),
    "requirement": ("registry", "requirement"),
    "RunResult": ("runner", "RunResult"),
    "SuiteConfig": ("suite", "SuiteConfig"),
    "run_suite": ("suite", "run_suite"),
}

__all__ = ["REGISTRY", "Need", "RunResult", "SuiteConfig", "requirement", "run_suite"]


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value
    return value
