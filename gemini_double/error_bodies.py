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


def rate_limited(model: str, limit: int, retry_s: float, *, retry_after_header: bool = False) -> ErrorReply:
    """429 RESOURCE_EXHAUSTED, current (2025-2026) form: Help, QuotaFailure, RetryInfo, in that order.

    `retryDelay` is whole seconds (real bodies show "58s" for "Please retry in 58.217843437s."), so clients that
    round it up, as SPEC UP-001 asks, wait at least as long as the message says.
    """
    message = (
        "You exceeded your current quota, please check your plan and billing details. For more information on this "
        f"error, head to: {RATE_LIMIT_DOCS}. To monitor your current usage, head to: https://ai.dev/rate-limit. \n"
        f"* Quota exceeded for metric: {FREE_TIER_METRIC}, limit: {limit}, model: {model}\n"
        f"Please retry in {format_seconds(retry_s)}s."
    )
    details: list[dict[str, object]] = [
        {
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [{"description": "Learn more about Gemini API quotas", "url": RATE_LIMIT_DOCS}],
        },
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [
                {
                    "quotaMetric": FREE_TIER_METRIC,
                    "quotaId": FREE_TIER_QUOTA_ID,
                    "quotaDimensions": {"model": model, "location": "global"},
                    "quotaValue": str(limit),
                }
            ],
        },
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{int(max(retry_s, 0.0))}s"},
    ]
    reply = _reply(429, "RESOURCE_EXHAUSTED", message, details)
    if retry_after_header:
        return ErrorReply(reply.status, reply.body, (("retry-after", str(max(1, int(-(-retry_s // 1))))),))
    return reply


def invalid_key() -> ErrorReply:
    """400 API_KEY_INVALID: a key was sent, but it is not one Google knows."""
    message = "API key not valid. Please pass a valid API key."
    return _reply(
        400,
        "INVALID_ARGUMENT",
        message,
        [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": message},
        ],
    )


def missing_key() -> ErrorReply:
    """403 PERMISSION_DENIED: no key at all (PublicAffairs/openai-gemini#92, js-genai#898)."""
    return _reply(
        403,
        "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or "
        "other form of API consumer identity to call this API.",
    )


def key_echo(key: str) -> ErrorReply:
    """403 CONSUMER_SUSPENDED, whose message contains the caller's key (google/generative-ai-docs#356).

    The conformance suite queues this to prove that a backend never forwards upstream error text.
    """
    return _reply(
        403,
        "PERMISSION_DENIED",
        f"Permission denied: Consumer 'api_key:{key}' has been suspended.",
        [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "CONSUMER_SUSPENDED",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com", "consumer": "projects/000000000000"},
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


def unavailable() -> ErrorReply:
    """503 UNAVAILABLE (gemini-cli#5191)."""
    return _reply(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")


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


def unknown_field(name: str, at: str | None = None) -> ErrorReply:
    """400 for a field the request message does not have (decolua/9router#1876, mnfst/llm-gateway#1858)."""
    where = f" at '{at}'" if at else ""
    message = f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'
    violation: dict[str, object] = {"description": message}
    if at:
        violation = {"field": at, "description": message}
    return _reply(
        400,
        "INVALID_ARGUMENT",
        message,
        [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]}],
    )


def invalid_argument(message: str) -> ErrorReply:
    """400 INVALID_ARGUMENT with a validation message, e.g. "* GenerateContentRequest.contents: contents is not
    specified\\n" (vercel/ai#3775) or "Please use a valid role: user, model."."""
    return _reply(400, "INVALID_ARGUMENT", message)


def body_too_large(limit: int) -> ErrorReply:
    """400 for an oversized body (no capture; Google documents a 20 MB request limit)."""
    return _reply(400, "INVALID_ARGUMENT", f"Request payload size exceeds the limit: {limit} bytes.")
