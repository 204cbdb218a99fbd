"""Proof that the checks can fail: every deliberately broken variant of the reference makes exactly its own
requirements FAIL, and the neighbouring requirements (those a sloppy check would drag along) still do not.

Each variant runs on a subset (its failures plus its neighbours) to keep the time sane; `test_full_runs`
runs the whole suite against two variants whose defect is most likely to spread (no welcome, no leave).
The FLOW variants run as subprocesses: their pushes need the target on its own core.
"""

from __future__ import annotations

import pytest

from roomwire.conformance.bundled import TEST_AI_BUDGET
from roomwire.conformance.outcomes import Status
from roomwire.conformance.runner import RunResult
from roomwire.conformance.suite import SuiteConfig, run_suite
from roomwire.targets.broken import VARIANTS

#: Requirements that must NOT fail against a variant, next to those that must.
NEIGHBOURS: dict[str, str] = {
    "drops_leave_notice": "PRES-001 PRES-005 RECON-001 CHAT-001",
    "forwards_upstream_text": "UP-002 UP-001 SEC-002",
    "echoes_to_other_rooms": "CHAT-001 CHAT-004",
    "no_ai_done_on_error": "AI-001 INPUT-008 UP-007",
    "crashes_on_bad_json": "INPUT-002 INPUT-003 INPUT-007",
    "no_welcome": "CONN-001 CONN-004 CONN-006 CHAT-001 PRES-001 PRES-005 IDENT-001 IDENT-003 RECON-001 RECON-003",
    "nickname_not_bound": "IDENT-001 IDENT-003 IDENT-004 CHAT-002",
    "ai_chunks_to_room": "AI-002 AI-004 UP-002",
    "no_keepalive": "PRES-003 PRES-002",
    "buffers_ai_answer": "AI-004 AI-001 AI-002 UP-003",
    "replays_ai_answer_at_the_end": "AI-004 AI-001 AI-002 AI-012 UP-003",
    "any_origin": "CONN-001 CONN-002",
    "keeps_slow_consumers": "FLOW-001",
    "awaits_slow_member": "CHAT-001",
    "key_in_url": "SEC-001 SEC-003 UP-001 UP-002 AI-004",
    "escapes_html": "CHAT-001 CHAT-004",
    "history_uncapped": "AI-008 AI-004",
    "answers_in_read_loop": "AI-001 AI-002 CHAT-001",
    "no_rate_limit": "LIMIT-004 CONN-006",
    "binary_closes_normally": "INPUT-005 ERR-003",
    "english_only": "AI-008 AI-004",
    "no_frame_limit": "INPUT-007 CONN-006",
    "no_ai_budget": "AI-001",
    "binds_nickname_of_invalid_frames": "IDENT-002 IDENT-003 IDENT-004 INPUT-003",
    "origin_by_prefix": "CONN-001 CONN-002",
    "refuses_every_origin": "CONN-001 CONN-002",
    "burst_minus_one": "LIMIT-003 LIMIT-004 ERR-001 CHAT-004",
    "content_limit_one_below": "FLOW-001 LIMIT-002 ERR-001 CHAT-002",
    "strips_chunk_whitespace": "AI-001 AI-002 AI-003 AI-007 AI-012",
    "refuses_long_room_ids": "CONN-002 CHAT-003",
    "accepts_any_room": "CONN-001 CHAT-003",
    "stale_welcome_seq": "CONN-003 CHAT-004 PRES-001 RECON-004",
    "pong_with_numeric_id": "FRAME-004 IDENT-001 INPUT-003",
    "rejects_unknown_fields": "CHAT-001 INPUT-003 IDENT-001 AI-001",
    "leave_without_event": "PRES-002 PRES-003 PRES-005 PRES-006 PRES-007",
    "missing_type_is_unknown": "INPUT-001 INPUT-003 ERR-001",
    "pong_for_any_ping": "INPUT-002 FRAME-001 IDENT-001",
    "invalid_utf8_closes_with_1011": "INPUT-004 ERR-003 LIMIT-001",
    "errors_without_id": "INPUT-001 INPUT-002 INPUT-003 INPUT-008 ERR-001",
    "stalls_room_after_bad_json": "INPUT-001 ERR-001 CHAT-001",
    "no_ai_done_for_bad_ai_msg": "INPUT-003 LIMIT-002 AI-002",
    "unnamed_speaks_as_anonymous": "IDENT-001 IDENT-004 PRES-006",
    "accepts_padded_nickname": "IDENT-001 IDENT-002 CONN-002",
    "no_echo_to_sender": "CONN-006 IDENT-003 AI-005 UP-007 RECON-001 RECON-003 CHAT-002 CHAT-004 INPUT-003",
    "reorders_a_senders_messages": "CHAT-001 CHAT-005 CHAT-006 IDENT-001",
    "seq_gaps": "CHAT-004 CONN-004 RECON-004",
    "slow_broadcast": "INPUT-007 CHAT-001 CHAT-004 IDENT-001",
    "joins_name_nobody": "PRES-005 PRES-007 IDENT-003 CONN-003 CHAT-005",
    "duplicate_leave_on_close": "PRES-002 PRES-007 IDENT-002 RECON-003",
    "leave_without_reason": "PRES-002 PRES-003 PRES-005",
    "question_in_system_instruction": "AI-007 AI-009 AI-004",
    "never_truncated": "AI-006 AI-002 AI-003",
    "ai_frames_without_id": "AI-001 AI-002 AI-006 INPUT-008",
    "busy_after_upstream_failure": "UP-001 UP-002 UP-008 AI-002",
    "error_texts_in_english": "ERR-001 INPUT-002 IDENT-003",
    "close_reason_varies": "INPUT-004 ERR-001",
    "history_item_length_unchecked": "INPUT-008 ERR-001 AI-009",
    "flood_closed_with_1011": "LIMIT-003 INPUT-007",
    "full_room_without_notice": "PRES-001 ERR-001",
    "refuses_a_quick_reconnect": "RECON-003 PRES-003 PRES-005",
    "reannounces_a_reconnected_name": "RECON-001 PRES-003 PRES-005",
    "replays_in_reverse": "CHAT-004 CONN-004",
    "uses_a_built_in_key": "SEC-002 SEC-003 SEC-005",
    "key_in_page": "SEC-001 SEC-002",
    "slow_after_welcome": "RECON-004 PRES-007 PRES-001 CONN-003 CONN-004 IDENT-003",
    "key_in_answer": "SEC-001 SEC-005 UP-008 AI-003",
    "page_policy_only_in_meta": "SEC-004 SEC-005 SEC-003",
    "parses_deep_frames": "INPUT-001 INPUT-007 FRAME-002",
    "sends_deep_frames": "INPUT-009 INPUT-003 CONN-003",
    "no_control_budget": "LIMIT-003 LIMIT-004 INPUT-007",
    "decodes_room_id": "CONN-001 SEC-006",
    "any_host": "SEC-004 SEC-010 CONN-002",
    "trusts_any_forwarded_for": "LIMIT-008 LIMIT-006",
    "loopback_origin_anywhere": "SEC-004 SEC-006",
    "no_join_limit": "SEC-007 LIMIT-006 PRES-001",
    "no_pending_limit": "INPUT-007 CONN-001",
    "error_details_in_notice": "UP-002 ERR-001 SEC-001 AI-002 UP-007",
    "logs_error_details": "UP-002 SEC-001 SEC-002 AI-002 UP-007",
    "reads_only_finish_reason": "UP-006 AI-002 UP-008 AI-010",
    "retry_soon_without_retry_info": "UP-007 AI-002 ERR-001 UP-002",
    "retry_after_until_the_quota_day_ends": "UP-007 AI-002 UP-002",
    "no_notice_for_an_empty_answer": "AI-002 AI-012 UP-006 UP-008",
    "empty_chunk_for_an_empty_answer": "AI-002 AI-003 FRAME-001 UP-008",
    "reads_only_data_lines": "UP-002 UP-006 AI-002 UP-008 AI-010 UP-005",
}
SUBPROCESS = {"keeps_slow_consumers", "awaits_slow_member", "no_keepalive"}


#: A variant whose defect needs more time to show than the bundled keepalive (8 + 8 s) leaves it: on a loaded
#: machine the push past a silent member's queue can outlast it, and the keepalive's drop makes FLOW-002 a SKIP.
SLOW_KEEPALIVE = {"keeps_slow_consumers": {"ROOMWIRE_PING_INTERVAL_S": "30", "ROOMWIRE_PING_TIMEOUT_S": "30"}}


async def run(variant: str, only: tuple[str, ...] = ()) -> RunResult:
    config = SuiteConfig(
        variant=variant,
        only=only,
        in_process=variant not in SUBPROCESS,
        bundled_options={**TEST_AI_BUDGET, **SLOW_KEEPALIVE.get(variant, {})},
        ai_budget_rpm=int(TEST_AI_BUDGET["ROOMWIRE_AI_BUDGET_RPM"]),  # for no_welcome, which advertises nothing
    )
    return await run_suite(config)


def verdicts(result: RunResult, status: Status) -> set[str]:
    return {rid for rid, r in result.results.items() if r.status is status}


def explain(result: RunResult, ids: set[str]) -> str:
    return "; ".join(f"{rid}: {result.results[rid].detail[:300]}" for rid in sorted(ids))


def test_every_variant_has_neighbours() -> None:
    assert set(NEIGHBOURS) == set(VARIANTS)
    for name, variant in VARIANTS.items():
        assert not set(NEIGHBOURS[name].split()) & variant.fails, name


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(VARIANTS))
async def test_a_variant_fails_exactly_its_requirements(name: str) -> None:
    variant = VARIANTS[name]
    result = await run(name, tuple(sorted(variant.fails | set(NEIGHBOURS[name].split()))))
    failed, errors = verdicts(result, Status.FAIL), verdicts(result, Status.ERROR)
    assert not errors, explain(result, errors)
    assert failed == set(variant.fails), (
        f"unexpected: {explain(result, failed - variant.fails)}; missing: {sorted(variant.fails - failed)}"
    )


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("name", ["no_welcome", "drops_leave_notice"])
async def test_full_runs(name: str) -> None:
    result = await run(name)
    failed, errors = verdicts(result, Status.FAIL), verdicts(result, Status.ERROR)
    assert not errors, explain(result, errors)
    assert failed == set(VARIANTS[name].fails), explain(result, failed ^ set(VARIANTS[name].fails))
