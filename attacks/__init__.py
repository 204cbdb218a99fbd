"""Attack scripts for issue 13's classes: run them against your own server to see whether it holds.

    roomwire attack nesting ws://127.0.0.1:8000            # one class
    roomwire attack all ws://127.0.0.1:8000 --report-json attacks.json

Each attack is bounded in count and time, goes to loopback only unless given `--allow-remote`, prints what it
did and saw, and ends with a verdict (held, hurt or inconclusive) and its figures. docs/attacks.md has the
figures measured against the reference. Modules, one job each:

    report           AttackReport, Verdict: what an attack did, saw and concluded; text and JSON
    target           the URL, the loopback guard, the bounds every attack keeps
    probes           clients from chosen source addresses, bystanders who time their chat during an attack
    runner           runs attacks in turn; one that cannot finish is reported inconclusive, not a traceback
    cli              `roomwire attack CLASS URL`
    nesting          class 1: frames nested ~1,000 levels deep
    control_flood    class 2: pings, pongs and empty fragments past the message rate limit
    descriptors      class 3: half-sent requests from one address against /healthz from another
    history          class 4: rooms filled with long messages and left empty (resume history)
    logs             class 5: forged log lines, provoked tracebacks, repeated errors, a key in answers
    presence         class 6: join/leave cycles into a crowded room
    admission        class 7: %61 rooms, Host rebinding, loopback origins, X-Forwarded-For, per-address limits
    page             class 8: framing by a foreign site, another member's message shown as the victim's own
"""

from __future__ import annotations

#: Attack name -> module, in issue 13's order (`roomwire attack all` runs them so).
ATTACKS = {
    "nesting": "roomwire.attacks.nesting",
    "control-flood": "roomwire.attacks.control_flood",
    "fd-exhaustion": "roomwire.attacks.descriptors",
    "history-sink": "roomwire.attacks.history",
    "log-forgery": "roomwire.attacks.logs",
    "presence-churn": "roomwire.attacks.presence",
    "admission": "roomwire.attacks.admission",
    "page": "roomwire.attacks.page",
}
