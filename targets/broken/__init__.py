"""Deliberately broken variants of the reference server, one defect each: the conformance suite's proof that
its checks can fail (a check that cannot fail is a defect; STYLE.md "Conformance checks").

Each `Variant` is the reference with one seam replaced (a `Connection` method, the AI client, one setting or
one Hypercorn option) and names the requirement IDs the suite must report as FAIL against it; every other
requirement must not fail. `python -m roomwire.targets.broken NAME` serves one (see `__main__`), and
`roomwire check --bundled NAME` checks one (both through `launch`). tests/conformance/test_broken_variants.py holds
them to it.
"""

from __future__ import annotations

from collections.abc import Mapping
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
                patches=("key_in_answer",),  # as the seed would: no masking of what it sends on as answer text
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
            _v(
                "replays_ai_answer_at_the_end",
                "keeps the answer's chunks until upstream has ended, then sends them one frame each",
                "AI-003",
                connection="ReplaysAiAnswerAtTheEnd",
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
                "binds_nickname_of_invalid_frames",
                "an invalid frame binds the nickname it carries",
                "IDENT-001",
                connection="BindsNicknameOfInvalidFrames",
            ),
            _v(
                "origin_by_prefix",
                "allows an Origin that starts like an allowed one",
                "SEC-004",
                patches=("origin_by_prefix",),
            ),
            _v(
                "refuses_every_origin",
                "refuses every Origin, its own host's too",
                "SEC-004",
                patches=("refuses_every_origin",),
            ),
            _v(
                "burst_minus_one",
                "advertises burst, holds one frame less",
                "CONN-006",
                connection="BurstMinusOne",
                settings={"rate_per_s": 1},  # a token refills in a second: the burst probe sees the missing one
            ),
            _v(
                "content_limit_one_below",
                "advertises max_content_chars, refuses a content of exactly that many",
                "CONN-006",
                connection="ContentLimitOneBelow",
            ),
            _v(
                "strips_chunk_whitespace",
                "strips whitespace from each ai_chunk",
                "AI-004",
                connection="StripsChunkWhitespace",
            ),
            *(
                _v(name, defect, fails, **options)
                for name, defect, fails, options in (
                    (
                        "refuses_long_room_ids",
                        "refuses room_ids over 32 characters",
                        "CONN-001",
                        {"patches": ("refuses_long_room_ids",)},
                    ),
                    ("accepts_any_room", "accepts any room_id", "CONN-002", {"patches": ("accepts_any_room",)}),
                    (
                        "stale_welcome_seq",
                        "states the room's seq one too low in the welcome",
                        "CONN-004 CHAT-005",
                        {"connection": "StaleWelcomeSeq"},
                    ),
                    (
                        "pong_with_numeric_id",
                        "sends pong ids as numbers",
                        "FRAME-001",
                        {"connection": "PongWithNumericId"},
                    ),
                    (
                        "rejects_unknown_fields",
                        "refuses chat frames with unknown fields",
                        "FRAME-002",
                        {"connection": "RejectsUnknownFields"},
                    ),
                    (
                        "leave_without_event",
                        "sends leave notices without event",
                        "FRAME-004",
                        {"connection": "LeaveWithoutEvent"},
                    ),
                    (
                        "missing_type_is_unknown",
                        "answers a missing type with unknown_type",
                        "INPUT-002",
                        {"connection": "MissingTypeIsUnknown"},
                    ),
                    (
                        "pong_for_any_ping",
                        "answers a ping with a bad id with a pong",
                        "INPUT-003",
                        {"connection": "PongForAnyPing"},
                    ),
                    (
                        "invalid_utf8_closes_with_1011",
                        "closes invalid UTF-8 with 1011",
                        "INPUT-005",
                        {"patches": ("invalid_utf8_closes_with_1011",)},
                    ),
                    (
                        "errors_without_id",
                        "never echoes the id on error notices",
                        "INPUT-006",
                        {"connection": "ErrorsWithoutId"},
                    ),
                    (
                        "stalls_room_after_bad_json",
                        "holds the room's chat for 4 s after garbage",
                        "INPUT-007",
                        {"connection": "StallsRoomAfterBadJson"},
                    ),
                    (
                        "no_ai_done_for_bad_ai_msg",
                        "no ai_done for an invalid ai_msg",
                        "INPUT-008",
                        {"connection": "NoAiDoneForBadAiMsg"},
                    ),
                    (
                        "unnamed_speaks_as_anonymous",
                        "an unnamed connection speaks as 'anonymous'",
                        "IDENT-003",
                        {"connection": "UnnamedSpeaksAsAnonymous"},
                    ),
                    (
                        "accepts_padded_nickname",
                        "accepts nicknames with leading or trailing spaces",
                        "IDENT-004",
                        {"connection": "AcceptsPaddedNickname"},
                    ),
                    (
                        "no_echo_to_sender",
                        "never sends a member its own messages",
                        "CHAT-001 CHAT-005",
                        {"connection": "NoEchoToSender"},
                    ),
                    (
                        "reorders_a_senders_messages",
                        "lets a sender's later message overtake",
                        "CHAT-004",
                        {"connection": "ReordersASendersMessages"},
                    ),
                    ("seq_gaps", "numbers room events 2, 4, 6, ...", "CHAT-005", {"patches": ("seq_gaps",)}),
                    (
                        "slow_broadcast",
                        "broadcasts every message 1.3 s late",
                        "CHAT-006",
                        {"connection": "SlowBroadcast"},
                    ),
                    (
                        "joins_name_nobody",
                        "names the neutral name in every join",
                        "PRES-001",
                        {"connection": "JoinsNameNobody"},
                    ),
                    (
                        "duplicate_leave_on_close",
                        "announces a clean close twice",
                        "PRES-005",
                        {"connection": "DuplicateLeaveOnClose"},
                    ),
                    (
                        "leave_without_reason",
                        "sends leave notices without reason",
                        "PRES-007",
                        {"connection": "LeaveWithoutReason"},
                    ),
                    (
                        "question_in_system_instruction",
                        "appends the question to the system instruction",
                        "AI-008",
                        {"ai_client": "question_in_system_instruction"},
                    ),
                    ("never_truncated", "reports a truncated answer as ok", "AI-010", {"connection": "NeverTruncated"}),
                    (
                        "ai_frames_without_id",
                        "never echoes the id on AI frames",
                        "AI-012",
                        {"connection": "AiFramesWithoutId"},
                    ),
                    (
                        "busy_after_upstream_failure",
                        "refuses every question after an upstream failure",
                        "UP-007",
                        {"connection": "BusyAfterUpstreamFailure"},
                    ),
                    (
                        "error_texts_in_english",
                        "error notices always in English",
                        "ERR-002",
                        {"connection": "ErrorTextsInEnglish"},
                    ),
                    (
                        "close_reason_varies",
                        "numbers its close reasons",
                        "ERR-003",
                        {"connection": "CloseReasonVaries"},
                    ),
                    (
                        "history_item_length_unchecked",
                        "accepts history items over max_content_chars",
                        "LIMIT-002",
                        {"connection": "HistoryItemLengthUnchecked"},
                    ),
                    (
                        "flood_closed_with_1011",
                        "closes a persistent flood with 1011",
                        "LIMIT-004",
                        {"connection": "FloodClosedWith1011"},
                    ),
                    (
                        "full_room_without_notice",
                        "closes a member over capacity without room_full",
                        "LIMIT-006",
                        {"connection": "FullRoomWithoutNotice"},
                    ),
                    (
                        "refuses_a_quick_reconnect",
                        "refuses a nickname that dropped under 5 s ago",
                        "RECON-001",
                        {"connection": "RefusesAQuickReconnect"},
                    ),
                    (
                        "reannounces_a_reconnected_name",
                        "announces a reconnected name's old leave again",
                        "RECON-003",
                        {"connection": "ReannouncesAReconnectedName"},
                    ),
                    (
                        "replays_in_reverse",
                        "replays missed events newest first",
                        "RECON-004",
                        {"patches": ("replays_in_reverse",)},
                    ),
                    (
                        "uses_a_built_in_key",
                        "sends upstream a key of its own, not the configured one",
                        "SEC-001",
                        {"ai_client": "uses_a_built_in_key"},
                    ),
                    ("key_in_page", "puts the key in the chat page", "SEC-003 SEC-005", {"ai_client": "key_in_page"}),
                    (
                        "slow_after_welcome",
                        "none: correct, but what follows the welcome comes 20 ms later",
                        "",
                        {"connection": "SlowAfterWelcome"},
                    ),
                )
            ),
            _v("key_in_answer", "forwards a key upstream wrote into an answer", "SEC-003", patches=("key_in_answer",)),
            _v(
                "page_policy_only_in_meta",
                "serves the page with its policy in a <meta> only, no security headers",
                "SEC-009",
                patches=("page_policy_only_in_meta",),
            ),
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
            *(
                _v(name, defect, fails, **options)
                for name, defect, fails, options in (  # issue 12: what Google sends today, mishandled
                    (
                        "error_details_in_notice",
                        "puts upstream's error details (not its message) in the asker's notice",
                        "UP-008 SEC-003",
                        {"connection": "ErrorDetailsInNotice", "ai_client": "keeps_error_details"},
                    ),
                    (
                        "logs_error_details",
                        "logs upstream's errors with the key masked in the message only, not in the details",
                        "SEC-003 UP-008",
                        {"ai_client": "logs_error_details", "patches": ("no_log_redaction",)},
                    ),
                    (
                        "reads_only_finish_reason",
                        "reads only finishReason: a blocked prompt ends as ai_incomplete",
                        "UP-005",
                        {"ai_client": "reads_only_finish_reason"},
                    ),
                    (
                        "retry_soon_without_retry_info",
                        "gives retry_after 1 for a 429 without RetryInfo",
                        "UP-001",
                        {"patches": ("retry_soon_without_retry_info",)},
                    ),
                    (
                        "retry_after_until_the_quota_day_ends",
                        "gives retry_after until midnight Pacific for a per-day 429",
                        "UP-001",
                        {"patches": ("retry_after_until_the_quota_day_ends",)},
                    ),
                    (
                        "no_notice_for_an_empty_answer",
                        "ends an answer cut before any text with a bare ai_done 'truncated'",
                        "AI-010",
                        {"connection": "NoNoticeForAnEmptyAnswer"},
                    ),
                    (
                        "empty_chunk_for_an_empty_answer",
                        "sends an empty ai_chunk for an answer cut before any text",
                        "AI-010",
                        {"connection": "EmptyChunkForAnEmptyAnswer"},
                    ),
                    (
                        "reads_only_data_lines",
                        "its SSE parser skips a raw JSON error tail (ai_incomplete, not upstream_error)",
                        "UP-003",
                        {"ai_client": "reads_only_data_lines"},
                    ),
                )
            ),
        )
    }
)
