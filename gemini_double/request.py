"""Reading a GenerateContentRequest the way Google's front end does: strict where Google is, lenient elsewhere.

Pure: bytes in, a `GenerateRequest` (or a `RequestError` carrying Google's real 400 body) out. Google's JSON
mapping accepts both camelCase and snake_case field names. A field the request's messages do not have is refused
with Google's "Invalid JSON payload received. Unknown name ..." body, one line per unknown name, wherever it is:
the top level, `generationConfig` (and its `thinkingConfig`), a content or a part (`strict`, the default). The
known names are every field google-genai 3.6.1 can send to the Gemini API (its `_to_mldev` converters), so a
request the SDK builds is never refused; `strict=False` checks the top level only (the double before issue 12).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from roomwire.spec.errors import RoomwireError

from . import error_bodies
from .error_bodies import ErrorReply

#: Top-level fields of GenerateContentRequest (camelCase; snake_case spellings are mapped onto these).
GENERATE_FIELDS = frozenset(
    {
        "model",
        "contents",
        "systemInstruction",
        "generationConfig",
        "safetySettings",
        "tools",
        "toolConfig",
        "cachedContent",
        "labels",
        "serviceTier",
        "store",
        "continuationToken",
    }
)
COUNT_FIELDS = frozenset({"contents", "generateContentRequest"})
GENERATION_CONFIG_FIELDS = frozenset(
    {
        "stopSequences",
        "responseMimeType",
        "responseSchema",
        "responseJsonSchema",
        "responseModalities",
        "candidateCount",
        "maxOutputTokens",
        "temperature",
        "topP",
        "topK",
        "seed",
        "presencePenalty",
        "frequencyPenalty",
        "responseLogprobs",
        "logprobs",
        "enableEnhancedCivicAnswers",
        "speechConfig",
        "thinkingConfig",
        "imageConfig",
        "mediaResolution",
        "audioTranscriptionConfig",
    }
)
THINKING_CONFIG_FIELDS = frozenset({"includeThoughts", "thinkingBudget", "thinkingLevel"})
CONTENT_FIELDS = frozenset({"role", "parts"})
PART_FIELDS = frozenset(
    {
        "text",
        "thought",
        "thoughtSignature",
        "inlineData",
        "fileData",
        "functionCall",
        "functionResponse",
        "executableCode",
        "codeExecutionResult",
        "videoMetadata",
        "mediaResolution",
        "partMetadata",
        "toolCall",
        "toolResponse",
        "audioTranscription",
        "mediaProcessing",
        "speechMetadata",
        "documentMetadata",
    }
)
VALID_ROLES = ("user", "model")


class RequestError(RoomwireError):
    """The request is invalid; `reply` is the body Google would send."""

    def __init__(self, reply: ErrorReply) -> None:
        super().__init__(reply.body)
        self.reply = reply


@dataclass(frozen=True)
class Turn:
    """One item of `contents`: its role and the text of its text parts (thoughts excluded)."""

    role: str
    text: str


@dataclass(frozen=True)
class GenerateRequest:
    """What the double needs from a request; the raw JSON is kept for the journal."""

    turns: tuple[Turn, ...]
    contents: list[object]
    system_instruction: dict[str, object] | None
    generation_config: dict[str, object] = field(default_factory=dict)

    @property
    def system_text(self) -> str:
        return _parts_text(self.system_instruction) if self.system_instruction else ""

    @property
    def last_user_text(self) -> str:
        """The text of the last `user` turn: what directives and fault `match`es look at."""
        for turn in reversed(self.turns):
            if turn.role == "user":
                return turn.text
        return ""

    @property
    def max_output_tokens(self) -> int | None:
        value = self.generation_config.get("maxOutputTokens")
        return value if isinstance(value, int) else None


def camel(name: str) -> str:
    """`max_output_tokens` -> `maxOutputTokens` (Google's JSON mapping accepts both)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def load_json(body: bytes) -> dict[str, object]:
    """The body as a JSON object; an empty body is `{}`, as for Google.

    Raises:
        RequestError: not UTF-8 JSON, or not an object.
    """
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        raise RequestError(error_bodies.bad_json(*_snippet(body.decode("latin-1"), exc.start))) from None
    except json.JSONDecodeError as exc:
        raise RequestError(error_bodies.bad_json(*_snippet(exc.doc, exc.pos))) from None
    if not isinstance(data, dict):
        raise RequestError(error_bodies.bad_json(*_snippet(text, 0)))
    return cast(dict[str, object], data)


def parse_generate(
    body: bytes | Mapping[str, object], api_version: str = "v1beta", *, strict: bool = True
) -> GenerateRequest:
    """Parse a generateContent / streamGenerateContent body.

    Raises:
        RequestError: bad JSON, an unknown field, missing or empty contents, a bad role or value.
    """
    data = load_json(body) if isinstance(body, bytes) else dict(body)
    unknown = unknown_names(data) if strict else _unknown_in(data, GENERATE_FIELDS, None)
    if unknown:
        raise RequestError(error_bodies.unknown_fields(unknown))
    data = _normalised(data, GENERATE_FIELDS)
    contents = data.get("contents")
    turns = _turns(contents, "GenerateContentRequest", api_version)
    system = data.get("systemInstruction")
    if system is not None and not (isinstance(system, dict) and isinstance(system.get("parts", []), list)):
        raise RequestError(error_bodies.invalid_argument(_invalid_value("system_instruction", api_version, system)))
    config = data.get("generationConfig") or {}
    if not isinstance(config, dict):
        raise RequestError(error_bodies.invalid_argument(_invalid_value("generation_config", api_version, config)))
    config = {camel(k): v for k, v in config.items()}
    max_tokens = config.get("maxOutputTokens")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)):
        raise RequestError(
            error_bodies.invalid_argument(_invalid_value("generation_config.max_output_tokens", None, max_tokens))
        )
    return GenerateRequest(
        turns=turns,
        contents=cast(list[object], contents),
        system_instruction=cast(dict[str, object] | None, system),
        generation_config=cast(dict[str, object], config),
    )


def parse_count_tokens(body: bytes, api_version: str = "v1beta", *, strict: bool = True) -> GenerateRequest:
    """Parse a countTokens body: `contents`, or a whole `generateContentRequest`."""
    data = _normalised(load_json(body), COUNT_FIELDS)
    inner = data.get("generateContentRequest")
    if isinstance(inner, dict):
        return parse_generate(cast(dict[str, object], inner), api_version, strict=strict)
    _turns(data.get("contents"), "CountTokensRequest", api_version)
    return parse_generate({"contents": data["contents"]}, api_version, strict=strict)


def unknown_names(data: Mapping[str, object]) -> list[tuple[str, str | None]]:
    """Every (name, proto path) of a field no message of GenerateContentRequest has, in document order."""
    found = _unknown_in(data, GENERATE_FIELDS, None)
    for key, value in data.items():
        name = camel(key)
        if name == "generationConfig" and isinstance(value, dict):
            found += _unknown_in(value, GENERATION_CONFIG_FIELDS, "generation_config")
            thinking = next((v for k, v in value.items() if camel(k) == "thinkingConfig"), None)
            if isinstance(thinking, dict):
                found += _unknown_in(thinking, THINKING_CONFIG_FIELDS, "generation_config.thinking_config")
        elif name == "contents" and isinstance(value, list):
            for index, content in enumerate(value):
                found += _unknown_in_content(content, f"contents[{index}]")
        elif name == "systemInstruction":
            found += _unknown_in_content(value, "system_instruction")
    return found


def _unknown_in_content(content: object, at: str) -> list[tuple[str, str | None]]:
    if not isinstance(content, dict):
        return []
    found = _unknown_in(content, CONTENT_FIELDS, at)
    parts = content.get("parts")
    if isinstance(parts, list):
        for index, part in enumerate(parts):
            if isinstance(part, dict):
                found += _unknown_in(part, PART_FIELDS, f"{at}.parts[{index}]")
    return found


def _unknown_in(obj: Mapping[str, object], known: frozenset[str], at: str | None) -> list[tuple[str, str | None]]:
    return [(key, at) for key in obj if camel(key) not in known]


def _normalised(data: dict[str, object], known: frozenset[str]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in data.items():
        name = camel(key)
        if name not in known:
            raise RequestError(error_bodies.unknown_field(key))
        result[name] = value
    return result


def _turns(contents: object, message: str, api_version: str) -> tuple[Turn, ...]:
    if contents is None or contents == []:
        raise RequestError(error_bodies.invalid_argument(f"* {message}.contents: contents is not specified\n"))
    if not isinstance(contents, list):
        raise RequestError(error_bodies.invalid_argument(_invalid_value("contents", api_version, contents)))
    turns: list[Turn] = []
    for index, item in enumerate(contents):
        if not isinstance(item, dict):
            raise RequestError(error_bodies.invalid_argument(_invalid_value(f"contents[{index}]", api_version, item)))
        role = item.get("role") or "user"
        if role not in VALID_ROLES:
            raise RequestError(error_bodies.invalid_argument("Please use a valid role: user, model."))
        parts = item.get("parts")
        if not isinstance(parts, list) or not parts:
            raise RequestError(
                error_bodies.invalid_argument(
                    f"* {message}.contents[{index}].parts: contents.parts must not be empty.\n"
                )
            )
        turns.append(Turn(role=str(role), text=_parts_text(item)))
    return tuple(turns)


def _parts_text(content: Mapping[str, object]) -> str:
    parts = content.get("parts")
    if not isinstance(parts, list):
        return ""
    texts = []
    for part in parts:
        if isinstance(part, dict) and isinstance(part.get("text"), str) and not part.get("thought"):
            texts.append(cast(str, part["text"]))
    return "".join(texts)


def _invalid_value(where: str, api_version: str | None, value: object) -> str:
    shown = json.dumps(value, ensure_ascii=False)[:60]
    if api_version is None:
        return f"Invalid value at '{where}', {shown}"
    kind = "Content" if where != "generation_config" else "GenerationConfig"
    message_type = f"type.googleapis.com/google.ai.generativelanguage.{api_version}.{kind}"
    return f"Invalid value at '{where}' ({message_type}), {shown}"


def _snippet(doc: str, pos: int) -> tuple[str, int]:
    """Up to 40 characters around a JSON error on its line, and the error's column in them (for the caret)."""
    line_start = doc.rfind("\n", 0, pos) + 1
    line_end = doc.find("\n", pos)
    start = max(line_start, pos - 20)
    end = min(line_end if line_end != -1 else len(doc), pos + 20)
    return re.sub(r"\s", " ", doc[start:end]), pos - start
