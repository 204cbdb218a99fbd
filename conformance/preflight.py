"""Before any check: is the target there, what does it advertise, and is the double ready?

One connection per endpoint. An endpoint that cannot be reached (refused, DNS, TLS, timeout) stops the run
with TargetUnreachable (exit 3): every verdict would be meaningless. A refused upgrade does not stop it:
that is CONN-001's failure to report. The first welcome's `limits` become the run's limits (CONN-006); a
target without a welcome is run against SPEC.md §10's defaults and bounds.
"""

from __future__ import annotations

from roomwire.conformance import frames
from roomwire.conformance.driver import Driver
from roomwire.conformance.session import Session
from roomwire.spec.errors import HarnessError, TargetUnreachable
from roomwire.spec.limits import Limits

#: The double's chunk interval the suite needs so that an answer of N chunks lasts N x this (AI-003, AI-005).
MIN_CHUNK_INTERVAL_MS = 25.0
#: The double's latency presets' chunk intervals (roomwire.gemini_double.config.LATENCY_PRESETS).
PRESET_INTERVALS_MS = {"seed": 60.0, "fast": 3.0, "zero": 0.0}


async def preflight(session: Session) -> dict[str, object]:
    """Probe every endpoint and the double; returns the facts the report prints."""
    facts: dict[str, object] = {"endpoints": [e.template for e in session.target.endpoints]}
    for index, _ in enumerate(session.target.endpoints):
        driver = Driver(session, "preflight", "preflight")
        try:
            outcome = await driver.attempt(driver.room(index + 1), endpoint_index=index)
            if outcome.client is None:
                facts[f"endpoint_{index}_upgrade"] = f"refused with HTTP {outcome.status}"
                continue
            welcome = await outcome.client.wait_for(frames.system("welcome"), session.timeouts.welcome)
            if welcome is None:
                session.welcome_seen = False
                continue
            session.welcome_seen = True
            limits = frames.data(welcome).get("limits")
            if isinstance(limits, dict) and not session.limits_advertised:
                session.limits = Limits.from_json(limits)
                session.limits_advertised = True
        finally:
            await driver.aclose()
    facts["welcome"] = session.welcome_seen
    facts["limits"] = session.limits.to_json() if session.limits_advertised else "not advertised: SPEC.md defaults"
    if session.upstream is not None:
        facts["double"] = await _prepare_double(session)
    facts["canary"] = "configured" if session.canary else "none"
    if session.browser is not None:
        facts["browser"] = _browser_fact(session.browser.page_url)
    elif session.browser_absent:
        facts["browser"] = f"not used; to use the page in chromium: {session.browser_absent}"
    return facts


def _browser_fact(page_url: str) -> str:
    """The page `--browser` loads and the chromium it uses, or why there is none (the browser checks then error)."""
    from roomwire.conformance.chromium import resolve_chromium, unavailable

    absent = unavailable()
    return f"{page_url} ({absent})" if absent else f"{page_url} in {resolve_chromium()}"


async def _prepare_double(session: Session) -> str:
    upstream = session.upstream
    assert upstream is not None
    try:
        config = await upstream.config()
    except HarnessError as exc:
        raise TargetUnreachable(str(exc)) from exc
    changes: dict[str, object] = {}
    interval = config.get("chunk_interval_ms")
    if interval is None:
        interval = PRESET_INTERVALS_MS.get(str(config.get("latency")), 0.0)
    if not isinstance(interval, int | float) or interval < MIN_CHUNK_INTERVAL_MS:
        changes["chunk_interval_ms"] = MIN_CHUNK_INTERVAL_MS  # so that streaming is observable (AI-003, AI-005)
    if config.get("quota_rpm") is not None:
        changes["quota_rpm"] = None  # the target's own AI budget is under test (LIMIT-005), not the double's
    if changes:
        await upstream.configure(**changes)
        said = ", ".join(f"{k} set to {v}" for k, v in changes.items())
        return f"{upstream.base_url} ({said})"
    return upstream.base_url
