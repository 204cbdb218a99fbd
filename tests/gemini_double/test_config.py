from __future__ import annotations

import pytest

from roomwire.gemini_double.config import DEFAULT_QUOTA_RPM, ConfigError, DoubleConfig
from roomwire.gemini_double.keys import FAKE_API_KEY, fingerprint
from roomwire.spec import errors


def test_defaults_are_the_free_tier_and_fast() -> None:
    config = DoubleConfig()
    assert config.latency == "fast" and config.quota_for("gemini-2.5-flash") == 10
    assert config.quota_for("gemini-2.5-flash-lite") == 15 and config.quota_for("gemini-2.5-pro") is None
    assert config.timing.first_chunk_ms == (2.0, 5.0)
    assert dict(config.quota_rpm or {}) == dict(DEFAULT_QUOTA_RPM)


def test_chunk_interval_overrides_the_preset() -> None:
    assert DoubleConfig(latency="seed", chunk_interval_ms=5).timing.chunk_interval_ms == 5.0
    assert DoubleConfig(latency="seed").timing.first_chunk_ms == (210.0, 370.0)
    assert DoubleConfig(quota_rpm=None).quota_for("gemini-2.5-flash") is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"latency": "slow"},
        {"chunk_interval_ms": -1},
        {"chunk_interval_ms": True},
        {"quota_rpm": {"gemini-2.5-flash": 0}},
        {"quota_rpm": {"gemini-2.5-flash": True}},
        {"valid_keys": "one-key"},
        {"valid_keys": [1, 2]},
        {"quota_window_s": 0},
        {"models": "gemini-2.5-flash"},
        {"models": ("",)},
        {"journal_limit": 0},
        {"max_body_bytes": True},
        {"seed": "7"},
        {"retry_after_header": "yes"},
        {"strict_fields": 1},
    ],
)
def test_bad_settings_fail_loudly(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        DoubleConfig(**kwargs)  # type: ignore[arg-type]


def test_config_error_is_a_roomwire_usage_error() -> None:
    assert issubclass(ConfigError, errors.ConfigError) and issubclass(ConfigError, ValueError)


def test_updated_from_control_api_json() -> None:
    config = DoubleConfig().updated({"latency": "zero", "valid_keys": [FAKE_API_KEY], "models": ["m-1", "m-2"]})
    assert (
        config.latency == "zero" and config.valid_keys == frozenset({FAKE_API_KEY}) and config.models == ("m-1", "m-2")
    )
    assert config.updated({"quota_rpm": 3}).quota_rpm == {"m-1": 3, "m-2": 3}
    assert config.updated({"quota_rpm": None}).quota_rpm is None
    assert config.updated({"quota_rpm": {"m-1": 4}}).quota_for("m-2") is None


@pytest.mark.parametrize("changes", [{"nope": 1}, {"quota_rpm": "lots"}, {"latency": 3}])
def test_updated_rejects_unknown_or_bad_settings(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        DoubleConfig().updated(changes)


def test_to_json_shows_key_fingerprints_only() -> None:
    data = DoubleConfig(valid_keys=frozenset({FAKE_API_KEY})).to_json()
    assert FAKE_API_KEY not in str(data) and FAKE_API_KEY not in repr(
        DoubleConfig(valid_keys=frozenset({FAKE_API_KEY}))
    )
    assert data["valid_key_fingerprints"] == [fingerprint(FAKE_API_KEY)]
    assert DoubleConfig().to_json()["valid_key_fingerprints"] is None
    assert DoubleConfig(quota_rpm=None).to_json()["quota_rpm"] is None
