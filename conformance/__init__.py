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

from typing import TYPE_CHECKING

from roomwire.spec.exports import lazy_getattr

if TYPE_CHECKING:
    from roomwire.conformance.registry import REGISTRY, Need, requirement
    from roomwire.conformance.runner import RunResult
    from roomwire.conformance.suite import SuiteConfig, run_suite

#: Public name -> module (roomwire.spec.exports), loaded on first use.
_EXPORTS = {
    "REGISTRY": "registry",
    "Need": "registry",
    "requirement": "registry",
    "RunResult": "runner",
    "SuiteConfig": "suite",
    "run_suite": "suite",
}

__all__ = ["REGISTRY", "Need", "RunResult", "SuiteConfig", "requirement", "run_suite"]


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())
