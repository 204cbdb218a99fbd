"""Deliberately broken variants of the reference server, one defect each: the conformance suite's proof that
its checks can fail (a check that cannot fail is a defect; STYLE.md "Conformance checks").

Each `Variant` is the reference with one seam replaced (a `Connection` method, the AI client, one setting or
one Hypercorn option) and names the requirement IDs the suite must report as FAIL against it; every other
requirement must not fail. `python -m roomwire.targets.broken NAME` serves one (see `__main__`), and
`roomwire check --bundled NAME` checks one. tests/conformance/test_broken_variants.py holds them to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Variant:
    """One broken server: what is wrong with it and which requirements must therefore fail."""

    name: str
    defect: str
    fails: frozenset[str]
    connection: str = ""  # a class name in `connections`
    ai_client: str = ""  # a factory name in `upstream`
    settings: Mapping[str, Any] = field(default_factory=dict)
    patches: tuple[str, ...] = ()  # names in `patches`


def _v(name: str, defect: str, fails: str, **options: Any) -> Variant:
    return Variant(name, defect, frozenset(fails.split()), **options)


VARIANTS: Mapping[str, Variant] = MappingProxyType(
    {
        v.name: v
        for v in (
            _v(
                "drops_leave_notice",
                "never announces a leave",
                "PRES-002 PRES-003 PRES-004 PRES-006 FLOW-002",
                connection="DropsLeaveNotice",
            ),
            _v(
                "forwards_upstream_text",
                "sends upstream error text to the asker",
                "UP-008 SEC-003",
                ai_client="forwards_upstream_text",
            ),
            _v(
                "echoes_to_other_rooms",
                "broadcasts every message to every room",
                "CHAT-003",
                connection="EchoesToOtherRooms",
            ),
            _v(
                "no_ai_done_on_error",
                "no ai_done after an upstream failure",
                "AI-002 UP-001 UP-002 UP-003 UP-004 UP-005 UP-006 RECON-002",
                connection="NoAiDoneOnError",
            ),
            _v(
                "crashes_on_bad_json",
                "the handler dies on a frame that is not JSON",
                "INPUT-001 ERR-001",
                connection="CrashesOnBadJson",
            ),
            _v("no_welcome", "never sends the welcome", "CONN-003", connection="NoWelcome"),
            _v(
                "nickname_not_bound",
                "adopts every frame's nickname (impersonation)",
                "IDENT-002",
                connection="NicknameNotBound",
            ),
            _v(
                "ai_chunks_to_room",
                "sends the asker's ai_chunk frames to the whole room",
                "AI-001",
                connection="AiChunksToRoom",
            ),
            _v("no_keepalive", "sends no WebSocket pings", "PRES-004", patches=("no_keepalive",)),
            _v(
                "buffers_ai_answer",
                "sends the whole answer as one chunk at the end",
                "AI-003",
                connection="BuffersAiAnswer",
            ),
            _v("any_origin", "accepts upgrades from any Origin", "SEC-004", settings={"allowed_origins": ("*",)}),
            _v(
                "keeps_slow_consumers",
                "never drops a member whose queue overflows",
                "FLOW-002",
                connection="KeepsSlowConsumers",
            ),
            _v(
                "awaits_slow_member",
                "writes room events member by member, awaiting each",
                "FLOW-001",
                connection="AwaitsSlowMember",
            ),
            _v("key_in_url", "sends the key upstream as ?key=", "SEC-002", ai_client="key_in_query"),
            _v("escapes_html", "HTML-escapes chat content", "CHAT-002", connection="EscapesHtml"),
            _v("history_uncapped", "sends every history item upstream", "AI-009", connection="HistoryUncapped"),
            _v(
                "answers_in_read_loop",
                "awaits the AI answer in the read loop",
                "AI-005 AI-006 AI-011",
                connection="AnswersInReadLoop",
            ),
            _v(
                "no_rate_limit", "advertises a rate limit, enforces none", "LIMIT-003 ERR-001", connection="NoRateLimit"
            ),
            _v(
                "binary_closes_normally",
                "closes a binary frame with 1000",
                "INPUT-004",
                connection="BinaryClosesNormally",
            ),
            _v(
                "english_only",
                "its system instruction forces English",
                "AI-007",
                settings={"ai_system_prompt": "You are a pinball bot. Always answer in English."},
            ),
            _v("no_frame_limit", "advertises max_frame_bytes, reads 16 MiB", "LIMIT-001", patches=("no_frame_limit",)),
            _v("no_ai_budget", "advertises ai_budget_rpm, never refuses", "LIMIT-005", patches=("no_ai_budget",)),
            _v(
                "parses_deep_frames",
                "parses frames with no depth limit: 1,000 levels close it with 1011",
                "INPUT-009",
                connection="ParsesDeepFrames",
            ),
            _v(
                "sends_deep_frames",
                "sends a frame nested 1,000 levels deep before each pong",
                "FRAME-001",
                connection="SendsDeepFrames",
            ),
            _v(
                "no_control_budget",
                "answers every ping, reads every pong and fragment",
                "LIMIT-007",
                patches=("no_control_budget",),
            ),
            _v(
                "decodes_room_id",
                "percent-decodes the room id before judging it",
                "CONN-002",
                patches=("decodes_room_id",),
            ),
            _v("any_host", "serves any Host (DNS rebinding)", "SEC-006", settings={"allowed_hosts": ("*",)}),
            _v(
                "trusts_any_forwarded_for",
                "believes X-Forwarded-For from anyone",
                "SEC-007",
                settings={"trusted_proxies": ("0.0.0.0/0", "::/0")},
            ),
            _v(
                "loopback_origin_anywhere",
                "allows loopback origins whatever the Host",
                "SEC-010",
                patches=("loopback_origin_anywhere",),
            ),
            _v("no_join_limit", "advertises join_burst, lets any address churn", "LIMIT-008", connection="NoJoinLimit"),
            _v(
                "no_pending_limit",
                "holds any number of half-sent requests, each for an hour",
                "LIMIT-009",
                patches=("no_pending_limit",),
            ),
        )
    }
)


def app_options(variant: Variant) -> dict[str, Any]:
    """`create_app` keyword arguments for `variant` (imports the reference only when called)."""
    from roomwire.targets.broken import connections, hardening, upstream

    options: dict[str, Any] = {}
    if variant.connection:
        module = connections if hasattr(connections, variant.connection) else hardening
        options["connection_class"] = getattr(module, variant.connection)
    if variant.ai_client:
        options["ai_client_factory"] = getattr(upstream, variant.ai_client)
    return options


def apply_patches(variant: Variant) -> Callable[[], None]:
    """Process-wide patches (the launcher runs one variant per process); returns what undoes them."""
    from roomwire.targets.broken import hardening, patches

    undos: list[Callable[[], None]] = [
        getattr(patches if hasattr(patches, name) else hardening, name)() for name in variant.patches
    ]

    def undo() -> None:
        for step in reversed(undos):
            step()

    return undo
