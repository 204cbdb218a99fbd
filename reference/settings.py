"""The reference server's settings: one frozen object, read once from the environment, passed to `create_app`.

`Settings.from_env()` is the only code of the server that reads the environment (and the git-ignored `.env`
file of the working directory, as the seed's `backend/.env`). Everything else receives a `Settings`. Tests build
`Settings(...)` directly. Invalid values fail at start-up with a `ConfigError` that names the setting and never
shows a secret (SEC-001).

Names: every field `x` is read from `ROOMWIRE_X`; the seed's `AI_CHAT_MODEL`, `AI_CHAT_MAX_TOKENS` and
`AI_CHAT_SYSTEM_PROMPT` are accepted as fallbacks, and the key is `GEMINI_API_KEY` (SEC-001).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal, NoReturn

from roomwire.reference.peers import parse_networks
from roomwire.spec.errors import ConfigError
from roomwire.spec.limits import BOUNDS, DEFAULT_LIMITS, MAX_PENDING_PER_ADDRESS, MAX_REQUEST_TIMEOUT_S, Limits

DEFAULT_MODEL = "gemini-2.5-flash"
DEFAULT_MAX_TOKENS = 300
DEFAULT_SYSTEM_PROMPT = "너는 핀볼 게임 채팅창의 AI 친구야. 짧고 유쾌하게 대화해줘."
KEY_ENV = "GEMINI_API_KEY"

#: Upstream free-tier requests per minute by model (the seed's table); the default AI budget (LIMIT-005).
FREE_TIER_RPM = {"gemini-2.5-flash": 10, "gemini-2.5-flash-lite": 15}
#: What `--no-limits` advertises and enforces instead of the frame-size and rate limits (CONN-006).
UNLIMITED_FRAME_BYTES = BOUNDS["max_frame_bytes"][1] or 1048576
UNLIMITED_RATE = 1_000_000
#: The schemas cap `content` at 2000 code points; a larger advertised limit would be a lie (CONN-006).
SCHEMA_MAX_CONTENT_CHARS = 2000

GeminiMode = Literal["fake", "real"]
#: Where google-genai runs (`ai_worker.py`): inline on the event loop that serves the sockets (the default: on the
#: benchmark's one core neither worker lowered the time to first chunk, docs/benchmarks.md), a thread with its own
#: loop, or a worker process (for a server with a core to spare).
AiWorkerHost = Literal["process", "thread", "inline"]
AI_WORKER_HOSTS: tuple[AiWorkerHost, ...] = ("process", "thread", "inline")
#: An origin allowed to frame the page (SEC-009): scheme, host (a leading `*.` allowed), optional port.
_FRAME_ANCESTOR = re.compile(
    r"^https?://(\*\.)?([A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(:\d{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?$"
)
_SEED_FALLBACKS = {
    "ai_model": "AI_CHAT_MODEL",
    "ai_max_tokens": "AI_CHAT_MAX_TOKENS",
    "ai_system_prompt": "AI_CHAT_SYSTEM_PROMPT",
}


class Secret:
    """A string that never shows itself in `repr`, `str`, f-strings or pickles (SEC-003)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret is never pickled")


def env_name(field_name: str) -> str:
    """`max_frame_bytes` -> `ROOMWIRE_MAX_FRAME_BYTES`; the key keeps its standard name."""
    return KEY_ENV if field_name == "gemini_api_key" else f"ROOMWIRE_{field_name.upper()}"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the server can be told; defaults are SPEC.md §10's and the seed's."""

    host: str = "127.0.0.1"
    port: int = 8000
    gemini: GeminiMode = "fake"
    gemini_base_url: str | None = None  # an external Gemini (double); None: Google, or the in-process double
    gemini_api_key: Secret | None = field(default=None, repr=False)
    ai_model: str = DEFAULT_MODEL
    ai_max_tokens: int = DEFAULT_MAX_TOKENS
    ai_system_prompt: str = DEFAULT_SYSTEM_PROMPT
    ai_temperature: float = 0.8
    ai_worker: AiWorkerHost = "inline"
    # SPEC.md §10, advertised in welcome.limits (CONN-006)
    max_frame_bytes: int = DEFAULT_LIMITS.max_frame_bytes
    max_content_chars: int = DEFAULT_LIMITS.max_content_chars
    max_history_items: int = DEFAULT_LIMITS.max_history_items
    rate_per_s: int = DEFAULT_LIMITS.rate_per_s
    burst: int = DEFAULT_LIMITS.burst
    ai_budget_rpm: int | None = None  # None: the model's free tier (FREE_TIER_RPM)
    ping_interval_s: int = DEFAULT_LIMITS.ping_interval_s
    ping_timeout_s: int = DEFAULT_LIMITS.ping_timeout_s
    ai_timeout_s: int = DEFAULT_LIMITS.ai_timeout_s
    send_queue_bytes: int = DEFAULT_LIMITS.send_queue_bytes
    room_capacity: int = DEFAULT_LIMITS.room_capacity
    control_per_s: int = DEFAULT_LIMITS.control_per_s
    control_burst: int = DEFAULT_LIMITS.control_burst
    join_burst: int = DEFAULT_LIMITS.join_burst
    join_rate_per_min: int = DEFAULT_LIMITS.join_rate_per_min
    no_limits: bool = False  # lifts max_frame_bytes, the rate limit and the per-address limits, for benchmarks
    # not advertised
    allowed_origins: tuple[str, ...] = ()  # empty: the own host, and loopback on a loopback host; "*": any (SEC-004)
    allowed_hosts: tuple[str, ...] = ()  # empty: IP literals and localhost; names to serve; "*": any (SEC-006)
    trusted_proxies: tuple[str, ...] = ()  # addresses/networks whose X-Forwarded-For is believed (SEC-007)
    max_connections_per_address: int = 256  # 0: no limit (LIMIT-006)
    max_pending_per_address: int = 64  # TCP connections of one address not (yet) a WebSocket; 0: none (LIMIT-009)
    request_timeout_s: float = 5.0  # time to send a complete request (LIMIT-009)
    address_limit_exempt: tuple[str, ...] = ()  # addresses no per-address limit counts (a load generator)
    resume_history: int = 100  # room events kept per room for `since` (RECON-004); 0 turns resume off
    resume_history_bytes: int = 64 * 1024 * 1024  # every room's kept events together, in bytes (RECON-005)
    empty_room_ttl_s: float = 300.0  # an empty room's seq and history are forgotten this long after it emptied
    empty_rooms_kept: int = 1000  # at most this many empty rooms remembered; the oldest go first (RECON-005)
    shutdown_grace_s: float = 10.0  # how long in-flight AI answers may run on after SIGTERM (RECON-002)
    close_timeout_s: float = 5.0  # how long a server-initiated close may wait for the client before aborting
    page_frame_ancestors: tuple[str, ...] = ()  # origins that may embed the page besides its own; "'none'": none
    broker_url: str = "memory://"
    certfile: str | None = None
    keyfile: str | None = None
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        _check(self)

    @cached_property
    def budget_rpm(self) -> int:
        """The server-wide AI budget: configured, or the default model's free tier (10 when unknown)."""
        if self.ai_budget_rpm is not None:
            return self.ai_budget_rpm
        return FREE_TIER_RPM.get(self.ai_model.removeprefix("models/"), FREE_TIER_RPM[DEFAULT_MODEL])

    @cached_property
    def limits(self) -> Limits:
        """The limits enforced, hence advertised in every welcome (CONN-006)."""
        return Limits(
            max_frame_bytes=UNLIMITED_FRAME_BYTES if self.no_limits else self.max_frame_bytes,
            max_content_chars=self.max_content_chars,
            max_history_items=self.max_history_items,
            rate_per_s=UNLIMITED_RATE if self.no_limits else self.rate_per_s,
            burst=UNLIMITED_RATE if self.no_limits else self.burst,
            ai_budget_rpm=self.budget_rpm,
            ping_interval_s=self.ping_interval_s,
            ping_timeout_s=self.ping_timeout_s,
            ai_timeout_s=self.ai_timeout_s,
            send_queue_bytes=self.send_queue_bytes,
            room_capacity=self.room_capacity,
            control_per_s=self.control_per_s,
            control_burst=self.control_burst,
            join_burst=UNLIMITED_RATE if self.no_limits else self.join_burst,
            join_rate_per_min=UNLIMITED_RATE if self.no_limits else self.join_rate_per_min,
        )

    @property
    def tls(self) -> bool:
        return self.certfile is not None

    def replace(self, **changes: object) -> Settings:
        """A copy with `changes` applied and checked again (how the CLI applies its flags)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")) -> Settings:
        """Settings from `environ` (default `os.environ`), falling back to the `dotenv` file for absent names.

        Raises:
            ConfigError: a value does not parse or is out of bounds; the message names the variable.
        """
        source = dict(read_dotenv(dotenv)) if dotenv is not None else {}
        source.update(os.environ if environ is None else environ)
        values: dict[str, object] = {}
        for item in dataclasses.fields(cls):
            raw = _lookup(source, item.name)
            if raw is not None:
                values[item.name] = _parse(item.name, str(item.type), raw)
        return cls(**values)  # type: ignore[arg-type]


def _lookup(source: Mapping[str, str], name: str) -> str | None:
    value = source.get(env_name(name))
    if value is None and name in _SEED_FALLBACKS:
        value = source.get(_SEED_FALLBACKS[name])
    if value is None or (value.strip() == "" and name != "allowed_origins"):
        return None
    return value


def _parse(name: str, kind: str, raw: str) -> object:
    """Turn the text of one variable into the field's type; `kind` is the annotation as written above."""
    text = raw.strip()
    try:
        if name == "gemini_api_key":
            return Secret(text)
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in text.split(",") if part.strip())
        if kind == "bool":
            return _parse_bool(text)
        if kind.startswith("int"):
            return int(text)
        if kind.startswith("float"):
            return float(text)
    except ValueError:
        _fail(name, f"cannot parse {raw!r} as {kind.split(' ')[0]}")
    return raw if name == "ai_system_prompt" else text


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(text)


def _fail(name: str, problem: str) -> NoReturn:
    raise ConfigError(f"{env_name(name)}: {problem}")


def _check(settings: Settings) -> None:
    """Every rule a value must keep; one ConfigError naming the first broken one (never a secret's value)."""
    if settings.gemini not in ("fake", "real"):
        _fail("gemini", f"must be 'fake' or 'real', not {settings.gemini!r}")
    if settings.gemini == "real" and not (settings.gemini_api_key and settings.gemini_api_key.reveal()):
        _fail("gemini_api_key", "is not set; --gemini real needs the Gemini API key (environment or .env)")
    if not 0 <= settings.port <= 65535:
        _fail("port", f"{settings.port} is not a TCP port")
    if settings.max_content_chars > SCHEMA_MAX_CONTENT_CHARS:
        _fail("max_content_chars", f"at most {SCHEMA_MAX_CONTENT_CHARS} (the spec's schemas cap content there)")
    if settings.ai_worker not in AI_WORKER_HOSTS:
        _fail("ai_worker", f"must be one of {', '.join(AI_WORKER_HOSTS)}, not {settings.ai_worker!r}")
    if settings.ai_max_tokens < 1:
        _fail("ai_max_tokens", "must be at least 1")
    if (settings.certfile is None) != (settings.keyfile is None):
        _fail("certfile" if settings.certfile is None else "keyfile", "--certfile and --keyfile go together")
    for name in (
        "max_connections_per_address",
        "max_pending_per_address",
        "resume_history",
        "empty_room_ttl_s",
        "empty_rooms_kept",
    ):
        if getattr(settings, name) < 0:
            _fail(name, "must not be negative")
    if settings.resume_history_bytes < 1:
        _fail("resume_history_bytes", "must be positive (resume_history=0 turns resume off)")
    if settings.max_pending_per_address > MAX_PENDING_PER_ADDRESS:
        _fail("max_pending_per_address", f"at most {MAX_PENDING_PER_ADDRESS} (SPEC.md §10, LIMIT-009)")
    if not 0 < settings.request_timeout_s <= MAX_REQUEST_TIMEOUT_S:
        _fail("request_timeout_s", f"must be more than 0 and at most {MAX_REQUEST_TIMEOUT_S:g} (LIMIT-009)")
    try:
        parse_networks(settings.trusted_proxies)
    except ValueError as exc:
        _fail("trusted_proxies", f"not an address or network: {exc}")
    for name in ("shutdown_grace_s", "close_timeout_s"):
        if getattr(settings, name) <= 0:
            _fail(name, "must be positive")
    ancestors = settings.page_frame_ancestors
    if ancestors != ("'none'",) and not all(_FRAME_ANCESTOR.match(origin) for origin in ancestors):
        _fail("page_frame_ancestors", f"origins such as https://game.example[:port], or 'none' alone: {ancestors!r}")
    for problem in settings.limits.out_of_bounds():
        _fail(problem.split("=", 1)[0], f"out of SPEC.md §10 bounds: {problem}")


def read_dotenv(path: Path) -> dict[str, str]:
    """`KEY=VALUE` lines of a `.env` file (comments, blank lines, `export ` and quotes allowed); {} when absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    values: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        key, _, value = stripped.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values
