"""Google's error bodies, as real clients receive them (sources in gemini-wire-facts.md §4 and the docs).

Every error is `{"error": {"code", "message", "status", "details"?}}`, pretty-printed with a 2-space indent and a
final newline (that is how Google's front end sends them, also on `?alt=sse`). The SDK turns the HTTP status
into the exception class (4xx `ClientError`, 5xx `ServerError`) and copies the whole body into `details`, so the
bodies here are copied from real captures, field order included. Where no capture exists (unknown paths, bodies
too large) the text says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RATE_LIMIT_DOCS = "https://ai.google.dev/gemini-api/docs/rate-limits"
FREE_TIER_METRIC = "generativelanguage.googleapis.com/generate_content_free_tier_requests"
FREE_TIER_QUOTA_ID = "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
FREE_TIER_DAILY_QUOTA_ID = "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
FREE_TIER_INPUT_METRIC = "generativelanguage.googleapis.com/generate_content_free_tier_input_token_count"
FREE_TIER_INPUT_QUOTA_ID = "GenerateContentInputTokensPerModelPerMinute-FreeTier"
#: The free tier's daily requests for gemini-2.5-flash in 2026 ("limit: 20" in the reports python-genai#2044 quotes).
FREE_TIER_DAILY_REQUESTS = 20
RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"
ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"
LOCALIZED_MESSAGE_TYPE = "type.googleapis.com/google.rpc.LocalizedMessage"
DEBUG_INFO_TYPE = "type.googleapis.com/google.rpc.DebugInfo"
SERVICE = "generativelanguage.googleapis.com"
#: The project number in echoed-key bodies: a fixed placeholder, as the recordings' real numbers are not ours.
PROJECT = "projects/000000000000"


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error: status, body, and any extra headers."""

    status: int
    body: dict[str, object]
    headers: tuple[tuple[str, str], ...] = field(default=())

    @property
    def google_status(self) -> str:
        error = self.body["error"]
        assert isinstance(error, dict)
        return str(error["status"])


def _reply(code: int, status: str, message: str, details: list[dict[str, object]] | None = None) -> ErrorReply:
    error: dict[str, object] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return ErrorReply(status=code, body={"error": error})


def format_seconds(seconds: float) -> str:
    """`58.217843437` as Google prints delays in its 429 message (nanosecond precision, no trailing zeros)."""
    text = f"{max(seconds, 0.0):.9f}".rstrip("0").rstrip(".")
    return text or "0"


def _quota_message(lines: list[str], retry_s: float | None) -> str:
    """The 429 message of the current form: the header, one "* Quota exceeded ..." line per violation, the wait."""
    text = (
        "You exceeded your current quota, please check your plan and billing details. For more information on this "
        f"error, head to: {RATE_LIMIT_DOCS}. To monitor your current usage, head to: https://ai.dev/rate-limit. "
    )
    if lines:
        text += "\n" + "".join(f"* {line}\n" for line in lines)
    if retry_s is not None:
        text += f"Please retry in {format_seconds(retry_s)}s."
    return text


def _violation(metric: str, quota_id: str, model: str, value: int | None) -> dict[str, object]:
    violation: dict[str, object] = {
        "quotaMetric": metric,
        "quotaId": quota_id,
        "quotaDimensions": {"location": "global", "model": model},
    }
    if value is not None:
        violation["quotaValue"] = str(value)
    return violation


def _quota_reply(
    message: str, violations: list[dict[str, object]], retry_s: float | None, retry_after_header: bool
) -> ErrorReply:
    details: list[dict[str, object]] = [
        {
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [{"description": "Learn more about Gemini API quotas", "url": RATE_LIMIT_DOCS}],
        }
    ]
    if violations:
        details.append({"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": violations})
    if retry_s is not None:
        details.append({"@type": RETRY_INFO_TYPE, "retryDelay": f"{int(max(retry_s, 0.0))}s"})
    reply = _reply(429, "RESOURCE_EXHAUSTED", message, details)
    if retry_after_header and retry_s is not None:
        return ErrorReply(reply.status, reply.body, (("retry-after", str(max(1, int(-(-retry_s // 1))))),))
    return reply


def rate_limited(model: str, limit: int, retry_s: float, *, retry_after_header: bool = False) -> ErrorReply:
    """429 RESOURCE_EXHAUSTED, current (2025-2026) form: Help, QuotaFailure, RetryInfo, in that order.

    `retryDelay` is whole seconds (real bodies show "58s" for "Please retry in 58.217843437s."), so clients that
    round it up, as SPEC UP-001 asks, wait at least as long as the message says.
    """
    line = f"Quota exceeded for metric: {FREE_TIER_METRIC}, limit: {limit}, model: {model}"
    violation = _violation(FREE_TIER_METRIC, FREE_TIER_QUOTA_ID, model, limit)
    return _quota_reply(_quota_message([line], retry_s), [violation], retry_s, retry_after_header)


def rate_limited_per_day(model: str, retry_s: float, limit: int = FREE_TIER_DAILY_REQUESTS) -> ErrorReply:
    """429 for the free tier's daily request cap: the same form, quotaId `...PerDay...` (python-genai#2044).

    Google still sends a RetryInfo with it (seconds, as for the per-minute cap) although the cap lasts until the
    quota day ends: a backend reports the delay it was given (UP-001) and gets refused again, never banned.
    """
    line = f"Quota exceeded for metric: {FREE_TIER_METRIC}, limit: {limit}, model: {model}"
    violation = _violation(FREE_TIER_METRIC, FREE_TIER_DAILY_QUOTA_ID, model, limit)
    return _quota_reply(_quota_message([line], retry_s), [violation], retry_s, False)


def rate_limited_several(model: str, retry_s: float) -> ErrorReply:
    """429 with three violations at once (requests per day, per minute, input tokens per minute), limit 0.

    The shape of continuedev/continue#10066 (message) and python-genai#2044 (violations): a model whose free tier
    is 0. No `quotaValue` in the violations, one "* Quota exceeded" line per violation in the message.
    """
    quotas = (
        (FREE_TIER_METRIC, FREE_TIER_DAILY_QUOTA_ID),
        (FREE_TIER_METRIC, FREE_TIER_QUOTA_ID),
        (FREE_TIER_INPUT_METRIC, FREE_TIER_INPUT_QUOTA_ID),
    )
    lines = [f"Quota exceeded for metric: {metric}, limit: 0, model: {model}" for metric, _ in quotas]
    violations = [_violation(metric, quota_id, model, None) for metric, quota_id in quotas]
    return _quota_reply(_quota_message(lines, retry_s), violations, retry_s, False)


def rate_limited_help_only() -> ErrorReply:
    """429 with only a Help detail: no QuotaFailure, no RetryInfo (gke-labs/gemini-for-kubernetes-development#1215,
    a daily cap; python-genai#1427 has the 2025 wording). UP-001's "60 when RetryInfo is absent" is for this one."""
    return _quota_reply(_quota_message([], None), [], None, False)


def invalid_key(debug_key: str | None = None) -> ErrorReply:
    """400 API_KEY_INVALID: a key was sent, but it is not one Google knows (continuedev/continue#8516).

    With `debug_key`, a third detail `google.rpc.DebugInfo` says `Invalid API key: <the key>`, as in the body
    google/timesketch#3703 quotes: the key is then in `details[]` only, never in `message`.
    """
    message = "API key not valid. Please pass a valid API key."
    details: list[dict[str, object]] = [
        {
            "@type": ERROR_INFO_TYPE,
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": SERVICE},
        },
        {"@type": LOCALIZED_MESSAGE_TYPE, "locale": "en-US", "message": message},
    ]
    if debug_key is not None:
        details.append({"@type": DEBUG_INFO_TYPE, "detail": f"Invalid API key: {debug_key}"})
    return _reply(400, "INVALID_ARGUMENT", message, details)


def missing_key() -> ErrorReply:
    """403 PERMISSION_DENIED: no key at all (PublicAffairs/openai-gemini#92, js-genai#898)."""
    return _reply(
        403,
        "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or "
        "other form of API consumer identity to call this API.",
    )


def key_echo(key: str) -> ErrorReply:
    """403 CONSUMER_SUSPENDED in its current form (continuedev/continue#10902, 2026): the caller's key is in
    `message`, in the ErrorInfo's `metadata.containerInfo` and in a `LocalizedMessage` detail.

    The conformance suite queues this to prove that a backend forwards and logs neither upstream error text nor
    the `details` of an upstream error.
    """
    message = f"Permission denied: Consumer 'api_key:{key}' has been suspended."
    metadata = {"consumer": PROJECT, "service": SERVICE, "containerInfo": f"api_key:{key}"}
    return _reply(
        403,
        "PERMISSION_DENIED",
        message,
        [
            {
                "@type": ERROR_INFO_TYPE,
                "reason": "CONSUMER_SUSPENDED",
                "domain": "googleapis.com",
                "metadata": metadata,
            },
            {"@type": LOCALIZED_MESSAGE_TYPE, "locale": "en-US", "message": message},
        ],
    )


def key_echo_2024(key: str) -> ErrorReply:
    """The 2024 form of the same 403 (google/generative-ai-docs#356): the key only in `message`."""
    return _reply(
        403,
        "PERMISSION_DENIED",
        f"Permission denied: Consumer 'api_key:{key}' has been suspended.",
        [
            {
                "@type": ERROR_INFO_TYPE,
                "reason": "CONSUMER_SUSPENDED",
                "domain": "googleapis.com",
                "metadata": {"service": SERVICE, "consumer": PROJECT},
            }
        ],
    )


def internal() -> ErrorReply:
    """500 INTERNAL (PublicAffairs/openai-gemini#15)."""
    return _reply(
        500,
        "INTERNAL",
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting",
    )


def internal_encountered() -> ErrorReply:
    """500 INTERNAL with Google's generic wording, seen from Gemini in 2026 (justlovemaki/AIClient2API#392)."""
    return _reply(500, "INTERNAL", "Internal error encountered.")


def unavailable() -> ErrorReply:
    """503 UNAVAILABLE (gemini-cli#5191)."""
    return _reply(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")


def unavailable_high_demand() -> ErrorReply:
    """503 UNAVAILABLE, the 2026 wording (continuedev/continue#10639, #11489, #12662)."""
    return _reply(
        503,
        "UNAVAILABLE",
        "This model is currently experiencing high demand. Spikes in demand are usually temporary. "
        "Please try again later.",
    )


def by_code(code: int, model: str = "gemini-2.5-flash") -> ErrorReply:
    """The canned body for an HTTP code (used by in-stream errors, where only the code is chosen)."""
    if code == 429:
        return rate_limited(model, 10, 30.0)
    if code == 500:
        return internal()
    if code == 503:
        return unavailable()
    return _reply(code, _STATUS_NAMES.get(code, "UNKNOWN"), "The request failed.")


_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    499: "CANCELLED",
    504: "DEADLINE_EXCEEDED",
}


def model_not_found(model: str, api_version: str, method: str) -> ErrorReply:
    """404 for a model the double does not serve (the text Google has sent since 2024, e.g. google/adk-python#200)."""
    return _reply(
        404,
        "NOT_FOUND",
        f"models/{model} is not found for API version {api_version}, or is not supported for {method}. "
        "Call ListModels to see the list of available models and their supported methods.",
    )


def method_not_found() -> ErrorReply:
    """404 for a path or RPC the double does not know (Google answers unknown RPCs "Method not found.")."""
    return _reply(404, "NOT_FOUND", "Method not found.")


def bad_json(snippet: str, column: int = 0) -> ErrorReply:
    """400 for a body that is not JSON: the parser's complaint, the offending line and a caret under the spot."""
    message = f"Invalid JSON payload received. Unexpected token.\n{snippet}\n{' ' * column}^"
    return _reply(
        400,
        "INVALID_ARGUMENT",
        message,
        [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"description": message}]}],
    )


def unknown_fields(names: list[tuple[str, str | None]]) -> ErrorReply:
    """400 for fields the request message does not have: one line and one violation per unknown name.

    `(name, at)` pairs; `at` is the proto path of the message that lacks the field (`generation_config`,
    `contents[0].parts[0]`), None at the top level. Shapes: python-genai#425 (top level, no `field`),
    mnfst/llm-gateway#1858 (nested, one `field` per violation, the lines joined by "\\n"), go-genai#83
    (`at 'generation_config'`).
    """
    lines: list[str] = []
    violations: list[dict[str, object]] = []
    for name, at in names:
        where = f" at '{at}'" if at else ""
        line = f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'
        lines.append(line)
        violations.append({"field": at, "description": line} if at else {"description": line})
    return _reply(
        400,
        "INVALID_ARGUMENT",
        "\n".join(lines),
        [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations}],
    )


def unknown_field(name: str, at: str | None = None) -> ErrorReply:
    """400 for one unknown field (see `unknown_fields`)."""
    return unknown_fields([(name, at)])


def invalid_argument(message: str) -> ErrorReply:
    """400 INVALID_ARGUMENT with a validation message, e.g. "* GenerateContentRequest.contents: contents is not
    specified\\n" (vercel/ai#3775) or "Please use a valid role: user, model."."""
    return _reply(400, "INVALID_ARGUMENT", message)


def body_too_large(limit: int) -> ErrorReply:
    """400 for an oversized body (no capture; Google documents a 20 MB request limit)."""
    return _reply(400, "INVALID_ARGUMENT", f"Request payload size exceeds the limit: {limit} bytes.")
