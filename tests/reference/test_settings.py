"""Settings: the environment (and .env) read once, checked at once, the key never shown (SEC-001, SEC-003)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from roomwire.reference.settings import Secret, Settings, env_name, read_dotenv
from roomwire.spec.errors import ConfigError
from roomwire.spec.limits import DEFAULT_LIMITS

FAKE_KEY = "AIzaFAKE-settings-test-key-0000000000000"  # FAKE test key


def test_defaults_are_the_specs_and_the_seeds() -> None:
    settings = Settings()
    assert settings.limits == DEFAULT_LIMITS
    assert settings.ai_model == "gemini-2.5-flash" and settings.ai_max_tokens == 300
    assert settings.ai_system_prompt == "너는 핀볼 게임 채팅창의 AI 친구야. 짧고 유쾌하게 대화해줘."
    assert settings.budget_rpm == 10 and Settings(ai_model="gemini-2.5-flash-lite").budget_rpm == 15
    assert Settings(ai_model="gemini-2.5-pro").budget_rpm == 10 and Settings(ai_budget_rpm=3).budget_rpm == 3


def test_from_env_reads_roomwire_names_seed_names_and_the_key(tmp_path: Path) -> None:
    environ = {
        "ROOMWIRE_PORT": "9001",
        "ROOMWIRE_NO_LIMITS": "yes",
        "ROOMWIRE_ALLOWED_ORIGINS": "https://a.example, https://b.example",
        "ROOMWIRE_SHUTDOWN_GRACE_S": "2.5",
        "AI_CHAT_MODEL": "gemini-2.5-flash-lite",
        "AI_CHAT_MAX_TOKENS": "100",
        "AI_CHAT_SYSTEM_PROMPT": "  keep my spaces ",
        "GEMINI_API_KEY": FAKE_KEY,
        "ROOMWIRE_BURST": "",  # empty counts as absent
    }
    settings = Settings.from_env(environ, dotenv=None)
    assert settings.port == 9001 and settings.no_limits and settings.shutdown_grace_s == 2.5
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.ai_model == "gemini-2.5-flash-lite" and settings.ai_max_tokens == 100
    assert settings.ai_system_prompt == "  keep my spaces " and settings.burst == 20
    assert settings.gemini_api_key == Secret(FAKE_KEY)
    assert Settings.from_env({"ROOMWIRE_AI_MODEL": "x", "AI_CHAT_MODEL": "y"}, dotenv=None).ai_model == "x"


def test_no_limits_lifts_frame_size_and_rate_only() -> None:
    limits = Settings(no_limits=True).limits
    assert limits.max_frame_bytes == 1048576 and limits.rate_per_s == limits.burst == 1_000_000
    assert limits.send_queue_bytes == DEFAULT_LIMITS.send_queue_bytes and limits.room_capacity == 500


def test_dotenv_fills_what_the_environment_lacks(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        f"# the seed's backend/.env\nGEMINI_API_KEY={FAKE_KEY}\nexport AI_CHAT_MODEL='gemini-2.5-flash-lite'\n"
        'ROOMWIRE_PORT="7000"\nnot a line\n\n'
    )
    settings = Settings.from_env({"ROOMWIRE_PORT": "7001"}, dotenv=dotenv)
    assert settings.gemini_api_key == Secret(FAKE_KEY) and settings.ai_model == "gemini-2.5-flash-lite"
    assert settings.port == 7001  # the environment wins
    assert read_dotenv(tmp_path / "missing") == {} and read_dotenv(tmp_path) == {}


def test_an_unreadable_dotenv_is_a_config_error(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_bytes(b"")
    dotenv.chmod(0)
    try:
        if dotenv.read_bytes() == b"":  # root reads anything: nothing to prove here
            return
    except PermissionError:
        with pytest.raises(ConfigError):
            read_dotenv(dotenv)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"ROOMWIRE_PORT": "eighty"}, "ROOMWIRE_PORT"),
        ({"ROOMWIRE_PORT": "70000"}, "ROOMWIRE_PORT"),
        ({"ROOMWIRE_NO_LIMITS": "maybe"}, "ROOMWIRE_NO_LIMITS"),
        ({"ROOMWIRE_SHUTDOWN_GRACE_S": "soon"}, "ROOMWIRE_SHUTDOWN_GRACE_S"),
        ({"ROOMWIRE_SHUTDOWN_GRACE_S": "0"}, "ROOMWIRE_SHUTDOWN_GRACE_S"),
        ({"ROOMWIRE_GEMINI": "both"}, "ROOMWIRE_GEMINI"),
        ({"ROOMWIRE_GEMINI": "real"}, "GEMINI_API_KEY"),
        ({"ROOMWIRE_MAX_FRAME_BYTES": "100"}, "ROOMWIRE_MAX_FRAME_BYTES"),
        ({"ROOMWIRE_MAX_CONTENT_CHARS": "5000"}, "ROOMWIRE_MAX_CONTENT_CHARS"),
        ({"ROOMWIRE_PING_TIMEOUT_S": "31"}, "ROOMWIRE_PING_TIMEOUT_S"),
        ({"ROOMWIRE_BURST": "5"}, "ROOMWIRE_BURST"),
        ({"ROOMWIRE_CERTFILE": "c.pem"}, "ROOMWIRE_KEYFILE"),
        ({"ROOMWIRE_KEYFILE": "k.pem"}, "ROOMWIRE_CERTFILE"),
        ({"ROOMWIRE_MAX_CONNECTIONS_PER_ADDRESS": "-1"}, "ROOMWIRE_MAX_CONNECTIONS_PER_ADDRESS"),
        ({"AI_CHAT_MAX_TOKENS": "0"}, "ROOMWIRE_AI_MAX_TOKENS"),
        ({"ROOMWIRE_RESUME_HISTORY_BYTES": "0"}, "ROOMWIRE_RESUME_HISTORY_BYTES"),
        ({"ROOMWIRE_EMPTY_ROOM_TTL_S": "-1"}, "ROOMWIRE_EMPTY_ROOM_TTL_S"),
        ({"ROOMWIRE_EMPTY_ROOMS_KEPT": "-5"}, "ROOMWIRE_EMPTY_ROOMS_KEPT"),
        ({"ROOMWIRE_PAGE_FRAME_ANCESTORS": "*"}, "ROOMWIRE_PAGE_FRAME_ANCESTORS"),
        ({"ROOMWIRE_PAGE_FRAME_ANCESTORS": "https:"}, "ROOMWIRE_PAGE_FRAME_ANCESTORS"),
        ({"ROOMWIRE_PAGE_FRAME_ANCESTORS": "https://a.example; script-src *"}, "ROOMWIRE_PAGE_FRAME_ANCESTORS"),
        ({"ROOMWIRE_PAGE_FRAME_ANCESTORS": "'none',https://a.example"}, "ROOMWIRE_PAGE_FRAME_ANCESTORS"),
    ],
)
def test_a_bad_value_fails_naming_its_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(environ, dotenv=None)


def test_the_resume_bounds_reach_the_memory_broker() -> None:
    """RECON-005: the three bounds are settings, and the broker `memory://` builds enforces them."""
    from roomwire.reference.rooms.factory import create_broker
    from roomwire.reference.rooms.memory import MemoryBroker

    environ = {"ROOMWIRE_RESUME_HISTORY_BYTES": "1048576", "ROOMWIRE_EMPTY_ROOM_TTL_S": "30",
               "ROOMWIRE_EMPTY_ROOMS_KEPT": "7"}  # fmt: skip
    settings = Settings.from_env(environ, dotenv=None)
    broker = create_broker(settings)
    assert isinstance(broker, MemoryBroker)
    assert (broker.ledger.max_bytes, broker._empty_ttl, broker._empty_kept) == (1048576, 30.0, 7)
    assert (Settings().resume_history_bytes, Settings().empty_room_ttl_s, Settings().empty_rooms_kept) == (
        64 * 1024 * 1024, 300.0, 1000)  # fmt: skip


def test_the_key_never_shows() -> None:
    settings = Settings(gemini="real", gemini_api_key=Secret(FAKE_KEY))
    for text in (repr(settings), str(settings), f"{settings.gemini_api_key}", repr(settings.gemini_api_key)):
        assert FAKE_KEY not in text
    assert settings.gemini_api_key is not None and settings.gemini_api_key.reveal() == FAKE_KEY
    with pytest.raises(TypeError):
        pickle.dumps(settings.gemini_api_key)
    assert hash(Secret("a")) == hash(Secret("a")) and Secret("a") != "a"
    with pytest.raises(ConfigError) as caught:
        Settings(gemini="real", gemini_api_key=Secret(""))
    assert "GEMINI_API_KEY" in str(caught.value)


def test_replace_checks_again_and_env_names() -> None:
    assert Settings().replace(port=0).port == 0
    with pytest.raises(ConfigError):
        Settings().replace(room_capacity=1)
    assert env_name("gemini_api_key") == "GEMINI_API_KEY" and env_name("port") == "ROOMWIRE_PORT"
    assert Settings(certfile="c", keyfile="k").tls and not Settings().tls
