"""Configuration of the VLM client: endpoint, model, timeouts, retries and the query store."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rekep.vlm.errors import VLMConfigError

DEFAULT_MODEL = "gpt-4o"


def default_store_dir() -> Path:
    """``$XDG_CACHE_HOME/rekep/vlm_queries`` (``~/.cache/rekep/vlm_queries`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rekep" / "vlm_queries"


@dataclass(frozen=True)
class VLMConfig:
    """How to reach an OpenAI-compatible chat endpoint and how hard to try.

    Attributes:
        model: model name sent to the endpoint (e.g. ``gpt-4o``, or a local vLLM/Ollama model).
        base_url: endpoint root such as ``http://localhost:8000/v1``; None = OpenAI's default.
        api_key: secret key; local servers usually accept any string. Never shown in ``repr``.
        timeout_s: per-request timeout in seconds.
        max_retries: retries of one request on transport errors, timeouts, 429 and 5xx.
        backoff_initial_s: wait before the first retry, seconds; doubles on each retry.
        backoff_max_s: upper bound of one wait, seconds.
        max_attempts: replies requested in total when replies fail validation (>= 1).
        temperature: sampling temperature (0 = as deterministic as the server allows).
        max_tokens: upper bound of reply tokens.
        store_dir: folder where every query is saved; None saves nothing.
        backend: default backend name (``openai`` or ``replay``).
        template_version: version of the ``constraint_generation`` prompt; None = newest.
    """

    model: str = DEFAULT_MODEL
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    max_attempts: int = 3
    temperature: float = 0.0
    max_tokens: int = 2048
    store_dir: Path | None = field(default_factory=default_store_dir)
    backend: str = "openai"
    template_version: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise VLMConfigError("VLMConfig.model must be a non-empty model name")
        if self.base_url is not None and not str(self.base_url).startswith(("http://", "https://")):
            raise VLMConfigError(
                f"VLMConfig.base_url must start with http:// or https://, got {self.base_url!r}"
            )
        for name in ("timeout_s", "backoff_max_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise VLMConfigError(f"VLMConfig.{name} must be a finite number > 0, got {value!r}")
        if not (math.isfinite(self.backoff_initial_s) and self.backoff_initial_s >= 0):
            raise VLMConfigError(
                f"VLMConfig.backoff_initial_s must be >= 0, got {self.backoff_initial_s!r}"
            )
        for name, low in (("max_retries", 0), ("max_attempts", 1), ("max_tokens", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise VLMConfigError(f"VLMConfig.{name} must be an integer >= {low}, got {value!r}")
        if not (math.isfinite(self.temperature) and 0.0 <= self.temperature <= 2.0):
            raise VLMConfigError(f"VLMConfig.temperature must be in [0, 2], got {self.temperature}")
        if self.template_version is not None and self.template_version < 1:
            raise VLMConfigError("VLMConfig.template_version must be >= 1 or None")
        if self.store_dir is not None:
            object.__setattr__(self, "store_dir", Path(self.store_dir).expanduser())

    @property
    def is_configured(self) -> bool:
        """True when programs can be generated: the backend is not ``openai`` (e.g. ``replay``),
        or an API key or an explicit ``base_url`` is set for it."""
        return self.backend != "openai" or bool(self.api_key) or bool(self.base_url)

    def with_overrides(self, **changes: Any) -> VLMConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> VLMConfig:
        """Build a config from environment variables, then apply ``overrides``.

        Reads ``OPENAI_API_KEY``, ``OPENAI_BASE_URL`` and ``REKEP_VLM_<FIELD>`` for every field
        (``REKEP_VLM_MODEL``, ``REKEP_VLM_TIMEOUT_S``, ``REKEP_VLM_MAX_RETRIES``,
        ``REKEP_VLM_MAX_ATTEMPTS``, ``REKEP_VLM_STORE_DIR`` (empty = do not store), ...);
        ``REKEP_VLM_API_KEY``/``REKEP_VLM_BASE_URL`` win over the ``OPENAI_`` ones. Empty
        values count as unset, except for the store dir.

        Raises:
            VLMConfigError: a variable holds a value of the wrong type (the message names it).
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, openai_var in (("api_key", "OPENAI_API_KEY"), ("base_url", "OPENAI_BASE_URL")):
            value = env.get(f"REKEP_VLM_{name.upper()}") or env.get(openai_var)
            if value:
                values[name] = value
        for f in fields(cls):
            var = f"REKEP_VLM_{f.name.upper()}"
            if f.name in ("api_key", "base_url") or var not in env:
                continue
            raw = env[var].strip()
            if f.name == "store_dir":
                values["store_dir"] = Path(raw) if raw else None
                continue
            if not raw:
                continue
            values[f.name] = _parse(var, raw, _PARSERS.get(f.name, str))
        values.update(overrides)
        return cls(**values)


def _parse(var: str, raw: str, parser: Callable[[str], Any]) -> Any:
    try:
        return parser(raw)
    except ValueError as exc:
        raise VLMConfigError(
            f"environment variable {var}={raw!r} is not a valid {parser.__name__}; fix or unset it"
        ) from exc


_PARSERS: dict[str, Callable[[str], Any]] = {
    "timeout_s": float,
    "max_retries": int,
    "backoff_initial_s": float,
    "backoff_max_s": float,
    "max_attempts": int,
    "temperature": float,
    "max_tokens": int,
    "template_version": int,
}
