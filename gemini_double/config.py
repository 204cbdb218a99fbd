"""The double's settings: one frozen dataclass, built once, replaced (never mutated) by the control API.

Everything that changes how the double answers lives here, so that a test states its whole setup in one
`DoubleConfig(...)` and the control API's `POST /_double/config` is a `DoubleConfig.updated(json)`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Literal, cast

from roomwire.spec import errors

from .keys import fingerprint

LatencyName = Literal["seed", "fast", "zero"]


class ConfigError(errors.ConfigError, ValueError):
    """A setting has the wrong type or value (the CLI exits 2, the control API answers 400, with this text)."""


@dataclass(frozen=True)
class Latency:
    """When chunks go out: the first after a delay drawn (deterministically) from a range, then one per interval."""

    first_chunk_ms: tuple[float, float]
    chunk_interval_ms: float


#: `seed`: what the seed project measured against the real API (first chunk after ~210-370 ms);
#: `fast`: a few ms, so streaming stays visible but tests stay quick; `zero`: as fast as the loop goes.
LATENCY_PRESETS: Mapping[str, Latency] = MappingProxyType(
    {
        "seed": Latency(first_chunk_ms=(210.0, 370.0), chunk_interval_ms=60.0),
        "fast": Latency(first_chunk_ms=(2.0, 5.0), chunk_interval_ms=3.0),
        "zero": Latency(first_chunk_ms=(0.0, 0.0), chunk_interval_ms=0.0),
    }
)

#: The free tier's requests per minute (checklist: 10 RPM for gemini-2.5-flash, 15 for flash-lite).
DEFAULT_QUOTA_RPM: Mapping[str, int] = MappingProxyType({"gemini-2.5-flash": 10, "gemini-2.5-flash-lite": 15})

#: Models the double serves; any other name gets Google's 404 NOT_FOUND body.
DEFAULT_MODELS: tuple[str, ...] = (
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.5-pro",
    "gemini-2.0-flash",
    "gemini-2.0-flash-lite",
    "gemini-3-flash-preview",
    "gemini-3-pro-preview",
)


@dataclass(frozen=True, kw_only=True)
class DoubleConfig:
    """How the double behaves. Tests build it directly; the CLI and the control API build it from text/JSON.

    Attributes:
        latency: timing preset, `seed` | `fast` | `zero`.
        chunk_interval_ms: time between chunks; None takes the preset's.
        seed: mixed into every answer, so two doubles with different seeds answer differently.
        valid_keys: keys the double accepts; None accepts any key of a plausible shape.
        quota_rpm: requests per minute per (model, key); models absent are unlimited; None disables quotas.
        quota_window_s: the quota's sliding window.
        models: model names served.
        retry_after_header: also send `Retry-After` on quota 429s (no real capture shows Google sending one).
        journal_limit: entries kept; the oldest go first.
        max_body_bytes: larger request bodies get 400 (Google's limit is about 20 MB).
        strict_fields: refuse unknown fields anywhere in a request, as Google does (False: at the top level only).
    """

    latency: LatencyName = "fast"
    chunk_interval_ms: float | None = None
    seed: int = 0
    valid_keys: frozenset[str] | None = field(default=None, repr=False)
    quota_rpm: Mapping[str, int] | None = field(default_factory=lambda: DEFAULT_QUOTA_RPM)
    quota_window_s: float = 60.0
    models: tuple[str, ...] = DEFAULT_MODELS
    retry_after_header: bool = False
    journal_limit: int = 10_000
    max_body_bytes: int = 20 * 1024 * 1024
    strict_fields: bool = True

    def __post_init__(self) -> None:
        if self.latency not in LATENCY_PRESETS:
            raise ConfigError(f"latency must be one of {', '.join(LATENCY_PRESETS)}, not {self.latency!r}")
        if self.chunk_interval_ms is not None and not _non_negative(self.chunk_interval_ms):
            raise ConfigError("chunk_interval_ms must be a number >= 0")
        if self.quota_rpm is not None:
            for model, rpm in self.quota_rpm.items():
                if not isinstance(model, str) or isinstance(rpm, bool) or not isinstance(rpm, int) or rpm < 1:
                    raise ConfigError("quota_rpm maps model names to integers >= 1")
            object.__setattr__(self, "quota_rpm", MappingProxyType(dict(self.quota_rpm)))
        keys: object = self.valid_keys
        if keys is not None:
            if isinstance(keys, str | bytes) or not all(isinstance(k, str) for k in self.valid_keys or ()):
                raise ConfigError("valid_keys must be a list of strings")
            object.__setattr__(self, "valid_keys", frozenset(self.valid_keys or ()))
        if not _positive(self.quota_window_s):
            raise ConfigError("quota_window_s must be a number > 0")
        models: object = self.models
        if isinstance(models, str | bytes) or not all(isinstance(m, str) and m for m in self.models):
            raise ConfigError("models must be a list of model names")
        object.__setattr__(self, "models", tuple(self.models))
        for name in ("journal_limit", "max_body_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError("seed must be an integer")
        for name in ("retry_after_header", "strict_fields"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false")

    @property
    def timing(self) -> Latency:
        """The preset, with `chunk_interval_ms` applied."""
        preset = LATENCY_PRESETS[self.latency]
        if self.chunk_interval_ms is None:
            return preset
        return replace(preset, chunk_interval_ms=float(self.chunk_interval_ms))

    def quota_for(self, model: str) -> int | None:
        """Requests per window allowed for `model`, or None when unlimited."""
        if self.quota_rpm is None:
            return None
        return self.quota_rpm.get(model)

    def updated(self, changes: Mapping[str, object]) -> DoubleConfig:
        """A copy with `changes` (JSON from the control API) applied.

        Raises:
            ConfigError: an unknown setting, or a value of the wrong type.
        """
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values: dict[str, object] = dict(changes)
        if isinstance(values.get("valid_keys"), list):
            values["valid_keys"] = frozenset(cast(list[str], values["valid_keys"]))
        if isinstance(values.get("models"), list):
            values["models"] = tuple(cast(list[str], values["models"]))
        if isinstance(values.get("quota_rpm"), int) and not isinstance(values.get("quota_rpm"), bool):
            rpm = cast(int, values["quota_rpm"])
            values["quota_rpm"] = {model: rpm for model in cast(tuple[str, ...], values.get("models", self.models))}
        if "quota_rpm" in values and values["quota_rpm"] is not None and not isinstance(values["quota_rpm"], Mapping):
            raise ConfigError("quota_rpm must be null, an integer, or an object of model -> integer")
        try:
            return replace(self, **values)  # type: ignore[arg-type]
        except TypeError as exc:  # pragma: no cover - every field has a default, so replace() only fails in checks
            raise ConfigError(str(exc)) from exc

    def to_json(self) -> dict[str, object]:
        """The settings as the control API shows them; valid keys only as fingerprints."""
        data: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "valid_keys"}
        data["quota_rpm"] = None if self.quota_rpm is None else dict(self.quota_rpm)
        data["models"] = list(self.models)
        data["valid_key_fingerprints"] = (
            None if self.valid_keys is None else sorted(fingerprint(k) for k in self.valid_keys)
        )
        return data


def _non_negative(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _positive(value: object) -> bool:
    return _non_negative(value) and cast(float, value) > 0
