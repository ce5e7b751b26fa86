"""VLMConfig validation and environment parsing; backoff schedule; backend registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from rekep.errors import ConfigurationError
from rekep.vlm import VLMConfig, VLMConfigError, available_backends, make_backend
from rekep.vlm.client import backoff_delay


def test_from_env_reads_openai_and_rekep_variables(tmp_path: Path) -> None:
    env = {
        "OPENAI_API_KEY": "sk-secret",
        "OPENAI_BASE_URL": "http://localhost:8000/v1",
        "REKEP_VLM_MODEL": "qwen2.5-vl",
        "REKEP_VLM_TIMEOUT_S": "12.5",
        "REKEP_VLM_MAX_RETRIES": "5",
        "REKEP_VLM_MAX_ATTEMPTS": "4",
        "REKEP_VLM_MAX_TOKENS": "1024",
        "REKEP_VLM_STORE_DIR": str(tmp_path),
        "REKEP_VLM_BACKEND": "replay",
    }
    config = VLMConfig.from_env(env)
    assert config.api_key == "sk-secret" and config.base_url == "http://localhost:8000/v1"
    assert config.model == "qwen2.5-vl" and config.timeout_s == 12.5
    assert (config.max_retries, config.max_attempts, config.max_tokens) == (5, 4, 1024)
    assert config.store_dir == tmp_path and config.backend == "replay"
    assert config.temperature == 0.0
    assert config.is_configured
    assert "sk-secret" not in repr(config)


def test_rekep_variables_win_and_overrides_win_over_env() -> None:
    env = {
        "OPENAI_API_KEY": "a",
        "REKEP_VLM_API_KEY": "b",
        "OPENAI_BASE_URL": "http://x/v1",
        "REKEP_VLM_BASE_URL": "http://y/v1",
    }
    config = VLMConfig.from_env(env, model="m2", max_attempts=1)
    assert (config.api_key, config.base_url) == ("b", "http://y/v1")
    assert (config.model, config.max_attempts) == ("m2", 1)


def test_empty_environment_is_not_configured() -> None:
    config = VLMConfig.from_env({})
    assert not config.is_configured
    assert config.model == "gpt-4o" and config.max_tokens == 2048
    assert config.store_dir is not None
    assert VLMConfig.from_env({"REKEP_VLM_STORE_DIR": ""}).store_dir is None
    assert VLMConfig.from_env({"OPENAI_BASE_URL": "http://localhost:11434/v1"}).is_configured


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("REKEP_VLM_MAX_RETRIES", "three"),
        ("REKEP_VLM_TIMEOUT_S", "-1"),
        ("REKEP_VLM_MAX_ATTEMPTS", "0"),
        ("REKEP_VLM_TEMPERATURE", "5"),
        ("OPENAI_BASE_URL", "localhost:8000"),
    ],
)
def test_bad_environment_values_are_explained(var: str, value: str) -> None:
    with pytest.raises(VLMConfigError) as info:
        VLMConfig.from_env({var: value})
    assert isinstance(info.value, ConfigurationError)
    field = var.removeprefix("REKEP_VLM_").removeprefix("OPENAI_").lower()
    assert var in str(info.value) or field in str(info.value)


def test_config_is_frozen() -> None:
    config = VLMConfig()
    with pytest.raises(AttributeError):
        config.model = "other"  # type: ignore[misc]


def test_backoff_doubles_and_is_capped() -> None:
    config = VLMConfig(backoff_initial_s=0.5, backoff_max_s=3.0)
    delays = [backoff_delay(config, k) for k in range(1, 6)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_delay(config, 1, retry_after_s=2.0) == 2.0
    assert backoff_delay(config, 1, retry_after_s=60.0) == 3.0


def test_backend_registry_names_the_alternatives() -> None:
    assert {"openai", "replay"} <= set(available_backends())
    with pytest.raises(VLMConfigError, match="openai"):
        make_backend("gemini", VLMConfig())
    with pytest.raises(VLMConfigError, match="store_dir"):
        make_backend("replay", VLMConfig(store_dir=None))
