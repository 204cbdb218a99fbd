"""What the double answers: deterministic text, its chunks, its token counts. Pure: no I/O, no clock.

Theory of operation:
- The answer is a function of (seed, systemInstruction text, every turn's role and text). A digest of those picks
  sentences from a canned bank (`fixtures/gemini/canned/sentences.json`), so the same request always gets the same
  answer and a changed history or system instruction gets a different one.
- Language: Korean when the last user turn is mostly Hangul (more than half of its letters), else English. The
  system instruction can force one (`[[lang=ko]]`, or naming exactly one language: "answer in English", "영어로",
  "in Korean", "한국어로"), which is how a test observes that systemInstruction is honoured.
- Directives `[[name=value]]` in the last user turn (or, with lower precedence, in the system instruction) shape
  one answer without global state: `chunks=N`, `sentences=N`, `lang=ko|en`, `echo=prompt|system|history|config`,
  and `interval=MS`, the time between chunks of this answer instead of the latency preset's (at most 2000 ms).
- Tokens are estimated, documented and deterministic: ceil(ASCII characters / 4) + one per non-ASCII character.
  `maxOutputTokens` cuts the answer at the longest prefix within the budget and sets `finishReason: MAX_TOKENS`.
- Thinking models (2.5 and 3) think first, as Google's do by default: 8 to 48 thought tokens drawn from the
  digest (`[[thoughts=N]]` sets them; `thinkingConfig.thinkingBudget` caps them, 0 turns thinking off). The
  thoughts count against `maxOutputTokens` before the answer does, so a small budget can end an answer with
  `MAX_TOKENS` and no text at all (pydantic-ai's cassette `test_google_model_max_tokens_thinking_model_empty_
  response`).
- Chunks: about one per 40 characters (2 to 12; at least 2 for a multi-sentence answer). Most cuts land inside
  words as Google's do (the recorded streams split "...13\\n1" | "4\\n15..."); some, picked by the digest, land
  just before or just after a space or a newline, as Google's also do, so a client that trims chunks loses text
  (SPEC AI-004). With three or more cuts there is at least one of each kind, and one cut before a newline when
  the answer has one. Answers of four or more sentences are two paragraphs ("\\n\\n" between them).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, replace

from .request import GenerateRequest

DIRECTIVE = re.compile(r"\[\[\s*([A-Za-z_]+)\s*(?:=\s*([^\]]*?))?\s*\]\]")
MAX_CHUNKS = 64
MAX_SENTENCES = 200
MAX_THOUGHTS = 65536
MAX_INTERVAL_MS = 2000
#: Default thought tokens: THOUGHTS_MIN plus up to THOUGHTS_SPREAD - 1 more, drawn from the request's digest
#: (real short answers show 16 and 35: the recorded gemini-2.5-flash streams).
THOUGHTS_MIN = 8
THOUGHTS_SPREAD = 41
ECHO_MODES = ("prompt", "system", "history", "config")
CHARS_PER_CHUNK = 40
DEFAULT_MAX_CHUNKS = 12

_HANGUL_RANGES = (("\uac00", "\ud7a3"), ("\u1100", "\u11ff"), ("\u3130", "\u318f"))
_FORCE_EN = re.compile(r"\bin english\b|영어로", re.IGNORECASE)
_FORCE_KO = re.compile(r"\bin korean\b|한국어로", re.IGNORECASE)


@dataclass(frozen=True)
class SentenceBank:
    """Canned sentences per language; answers pick from them by index."""

    en: tuple[str, ...]
    ko: tuple[str, ...]

    def for_language(self, language: str) -> tuple[str, ...]:
        return self.ko if language == "ko" else self.en


@dataclass(frozen=True)
class Directives:
    """Per-request shaping, parsed from `[[name=value]]` markers. None means "not given"."""

    chunks: int | None = None
    sentences: int | None = None
    lang: str | None = None
    echo: str | None = None
    thoughts: int | None = None
    interval_ms: int | None = None

    def over(self, base: Directives) -> Directives:
        """These directives, falling back to `base` for the ones not given."""
        return Directives(
            chunks=self.chunks if self.chunks is not None else base.chunks,
            sentences=self.sentences if self.sentences is not None else base.sentences,
            lang=self.lang or base.lang,
            echo=self.echo or base.echo,
            thoughts=self.thoughts if self.thoughts is not None else base.thoughts,
            interval_ms=self.interval_ms if self.interval_ms is not None else base.interval_ms,
        )


@dataclass(frozen=True)
class Answer:
    """One planned answer: the text the model would give, what is sent after the cut, and how it is chunked."""

    language: str
    full_text: str
    text: str
    chunks: tuple[str, ...]
    finish_reason: str
    prompt_tokens: int
    thoughts_tokens: int = 0
    interval_ms: int | None = None  # between chunks, when the request names it (`[[interval=MS]]`)

    def running_tokens(self) -> tuple[int, ...]:
        """`candidatesTokenCount` after each chunk (the usage Google reports grows chunk by chunk)."""
        counts: list[int] = []
        ascii_chars = other = 0
        for chunk in self.chunks:
            ascii_in_chunk = _ascii_count(chunk)
            ascii_chars, other = ascii_chars + ascii_in_chunk, other + len(chunk) - ascii_in_chunk
            counts.append(math.ceil(ascii_chars / 4) + other)
        return tuple(counts)


def parse_directives(text: str) -> tuple[Directives, str]:
    """The directives in `text`, and `text` without them. Unknown names and bad values are ignored."""
    found = Directives()
    for name, value in DIRECTIVE.findall(text):
        found = _with_directive(found, name.lower(), value.strip().lower())
    return found, DIRECTIVE.sub("", text).strip()


def _with_directive(found: Directives, name: str, value: str) -> Directives:
    if name == "chunks" and value.isdigit() and int(value) >= 1:
        return replace(found, chunks=min(int(value), MAX_CHUNKS))
    if name == "sentences" and value.isdigit() and int(value) >= 1:
        return replace(found, sentences=min(int(value), MAX_SENTENCES))
    if name == "lang" and value in ("ko", "en"):
        return replace(found, lang=value)
    if name == "echo":
        return replace(found, echo=value if value in ECHO_MODES else "prompt")
    if name == "thoughts" and value.isdigit():
        return replace(found, thoughts=min(int(value), MAX_THOUGHTS))
    if name == "interval" and value.isdigit():
        return replace(found, interval_ms=min(int(value), MAX_INTERVAL_MS))
    return found


def is_mostly_hangul(text: str) -> bool:
    """More than half of the letters are Hangul (syllables or jamo)."""
    letters = [c for c in text if c.isalpha()]
    hangul = sum(1 for c in letters if any(low <= c <= high for low, high in _HANGUL_RANGES))
    return bool(letters) and hangul * 2 > len(letters)


def forced_language(system_text: str) -> str | None:
    """The language a system instruction demands, when it names exactly one."""
    english, korean = bool(_FORCE_EN.search(system_text)), bool(_FORCE_KO.search(system_text))
    if english != korean:
        return "en" if english else "ko"
    return None


def estimate_tokens(text: str) -> int:
    """ceil(ASCII characters / 4) + 1 per other character: close to Gemini for English, pessimistic for Korean."""
    ascii_chars = _ascii_count(text)
    return math.ceil(ascii_chars / 4) + (len(text) - ascii_chars)


def _ascii_count(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("ascii", "ignore"))


def prompt_tokens(request: GenerateRequest) -> int:
    """The prompt's estimate: the system instruction and every turn, each counted on its own."""
    return estimate_tokens(request.system_text) + sum(estimate_tokens(turn.text) for turn in request.turns)


def cut_to_tokens(text: str, budget: int) -> str:
    """The longest prefix of `text` whose estimate fits `budget`."""
    ascii_chars = other = 0
    best = 0
    for index, char in enumerate(text, start=1):
        if ord(char) < 128:
            ascii_chars += 1
        else:
            other += 1
        if math.ceil(ascii_chars / 4) + other > budget:
            break
        best = index
    return text[:best]


#: Where a cut lands: inside a word, just after whitespace (the next chunk starts a word), just before whitespace
#: (the next chunk starts with a space or a newline).
INSIDE, AFTER_SPACE, BEFORE_SPACE = "inside", "after", "before"


def cut_styles(count: int, key: bytes = b"", newline_cut: int | None = None) -> list[str]:
    """The style of each of `count - 1` cuts. With a key: a third of them (at least two, one of each style, when
    there are three or more; else none or one) next to whitespace, at positions the key picks, the rest inside
    words; cut number `newline_cut` (1-based), if given, goes right before a newline on top of those. An empty key
    cuts inside words only."""
    cuts = max(0, count - 1)
    styles = [INSIDE] * cuts
    if not key or not cuts:
        return styles
    free = [i for i in range(cuts) if newline_cut is None or i != newline_cut - 1]
    if newline_cut is not None and 1 <= newline_cut <= cuts:
        styles[newline_cut - 1] = BEFORE_SPACE
    wanted = max(2, cuts // 3) if cuts >= 3 else key[0] % 2
    order = sorted(free, key=lambda i: (key[i % len(key)] ^ (i * 73)) & 0xFF)
    for n, index in enumerate(order[:wanted]):
        styles[index] = (AFTER_SPACE, BEFORE_SPACE)[(n + key[-1]) % 2]
    return styles


def split_chunks(text: str, count: int, key: bytes = b"") -> tuple[str, ...]:
    """Split `text` into `count` non-empty pieces of similar length, each cut where `cut_styles` says (inside a
    word, or next to whitespace) if it can. With a key and three or more cuts, the cut nearest the first newline
    lands right before it."""
    count = max(1, min(count, len(text)))
    if count == 1:
        return (text,)
    newline = text.find("\n")
    at_newline = (
        min(range(1, count), key=lambda i: abs(i * len(text) / count - newline))
        if key and newline > 0 and count >= 4
        else None
    )
    styles = cut_styles(count, key, at_newline)
    cuts: list[int] = []
    previous = 0
    for i, style in enumerate(styles, start=1):
        ideal = round(i * len(text) / count)
        low, high = previous + 1, len(text) - (count - i)  # leave room for the remaining pieces
        cut = newline if i == at_newline and low <= newline <= high else None
        if cut is None and style != INSIDE:
            cut = _next_to_space(text, max(ideal, low), low, high, before=style == BEFORE_SPACE)
        cut = cut if cut is not None else _inside_word(text, max(ideal, low), low, high)
        cuts.append(cut)
        previous = cut
    bounds = [0, *cuts, len(text)]
    return tuple(text[a:b] for a, b in zip(bounds, bounds[1:], strict=False))


def _next_to_space(text: str, ideal: int, low: int, high: int, *, before: bool) -> int | None:
    """The cut nearest `ideal` that ends a chunk right before whitespace (`before`) or right after it."""
    for offset in range(0, 2 * CHARS_PER_CHUNK):
        for pos in (ideal + offset, ideal - offset):
            if not low <= pos <= high:
                continue
            if (before and text[pos].isspace() and not text[pos - 1].isspace()) or (
                not before and text[pos - 1].isspace() and not text[pos].isspace()
            ):
                return pos
    return None


def _inside_word(text: str, ideal: int, low: int, high: int) -> int:
    ideal = min(max(ideal, low), high)
    for offset in (0, 1, -1, 2, -2, 3, -3):
        pos = ideal + offset
        if low <= pos <= high and not text[pos - 1].isspace() and not text[pos].isspace():
            return pos
    return ideal


def digest(request: GenerateRequest, seed: int) -> bytes:
    """What the answer depends on: seed, system instruction, and every turn's role and text."""
    material = json.dumps(
        [seed, request.system_text, [[turn.role, turn.text] for turn in request.turns]],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode("utf-8")).digest()


def thinking_budget(request: GenerateRequest) -> int | None:
    """`generationConfig.thinkingConfig.thinkingBudget` (either spelling, as the SDK sends it as given), if set."""
    config = request.generation_config.get("thinkingConfig")
    if isinstance(config, dict):
        for name in ("thinkingBudget", "thinking_budget"):
            value = config.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def planned_thoughts(request: GenerateRequest, directives: Directives, key: bytes, *, thinking: bool) -> int:
    """Thought tokens before the answer: none for models that do not think, or when the budget is 0."""
    budget = thinking_budget(request)
    if not thinking or budget == 0:
        return 0
    wanted = directives.thoughts if directives.thoughts is not None else THOUGHTS_MIN + key[2] % THOUGHTS_SPREAD
    return min(wanted, budget) if budget is not None and budget > 0 else wanted


def plan_answer(
    request: GenerateRequest, *, seed: int, bank: SentenceBank, min_chunks: int = 1, thinking: bool = False
) -> Answer:
    """Plan the answer to `request`.

    Args:
        request: the parsed request.
        seed: the double's seed.
        bank: canned sentences.
        min_chunks: at least this many chunks (faults that act after chunk N need N + 1).
        thinking: the model thinks first (2.5 and 3 models); its thoughts count against `maxOutputTokens`.
    """
    system_directives, system_clean = parse_directives(request.system_text)
    user_directives, user_clean = parse_directives(request.last_user_text)
    directives = user_directives.over(system_directives)
    language = directives.lang or forced_language(system_clean) or ("ko" if is_mostly_hangul(user_clean) else "en")
    key = digest(request, seed)
    full_text = _answer_text(request, directives, language, key, bank, user_clean, system_clean)
    text, finish = full_text, "STOP"
    thoughts = planned_thoughts(request, directives, key, thinking=thinking)
    budget = request.max_output_tokens
    if budget is not None and budget > 0:
        thoughts = min(thoughts, budget)  # thinking stops at the limit too
        if estimate_tokens(full_text) > budget - thoughts:
            text, finish = cut_to_tokens(full_text, budget - thoughts), "MAX_TOKENS"
    count = directives.chunks or _default_chunks(text)
    chunks = split_chunks(text, max(count, min_chunks), key if directives.echo is None else b"") if text else ("",)
    return Answer(
        language=language,
        full_text=full_text,
        text=text,
        chunks=chunks,
        finish_reason=finish,
        prompt_tokens=prompt_tokens(request),
        thoughts_tokens=thoughts,
        interval_ms=directives.interval_ms,
    )


def _default_chunks(text: str) -> int:
    count = min(DEFAULT_MAX_CHUNKS, max(1, math.ceil(len(text) / CHARS_PER_CHUNK)))
    multi_sentence = len(re.findall(r"[.!?。](\s|$)", text)) >= 2
    return max(count, 2) if multi_sentence else count


def _answer_text(
    request: GenerateRequest,
    directives: Directives,
    language: str,
    key: bytes,
    bank: SentenceBank,
    user_clean: str,
    system_clean: str,
) -> str:
    if directives.echo == "prompt":
        return user_clean
    if directives.echo == "system":
        return system_clean
    if directives.echo == "history":
        return f"turns={len(request.turns)} roles={','.join(turn.role for turn in request.turns)}"
    if directives.echo == "config":
        return json.dumps(request.generation_config, sort_keys=True, separators=(",", ":"))
    sentences = bank.for_language(language)
    count = directives.sentences or 2 + key[0] % 3
    picked: list[str] = []
    used: set[int] = set()
    for i in range(count):
        index = int.from_bytes(hashlib.sha256(key + i.to_bytes(4, "big")).digest()[:4], "big") % len(sentences)
        while index in used and len(used) < len(sentences):  # no repeats until the bank runs out
            index = (index + 1) % len(sentences)
        if len(used) == len(sentences):
            used.clear()
        used.add(index)
        picked.append(sentences[index])
    if len(picked) >= 4:  # two paragraphs, as a longer answer of Gemini's has
        half = len(picked) // 2
        return " ".join(picked[:half]) + "\n\n" + " ".join(picked[half:])
    return " ".join(picked)
