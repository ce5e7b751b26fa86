"""Chat requests to any OpenAI-compatible endpoint, with retries and wrapped errors.

The ``openai`` package is imported on first use (extra ``rekep[vlm]``). The client's own
retries are switched off; this module retries transport errors, timeouts, 408/409/429 and
5xx itself with exponential backoff, so the waits follow :class:`VLMConfig`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from rekep.availability import require
from rekep.vlm.backend import ChatReply, Message, QueryContext
from rekep.vlm.config import VLMConfig
from rekep.vlm.errors import VLMConfigError, VLMTransportError

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 429})
_STATUS_HINTS = {
    400: "the server rejected the request; check that the model accepts images",
    401: "the API key was refused; check OPENAI_API_KEY / REKEP_VLM_API_KEY",
    403: "access denied; check the API key's permissions for this model",
    404: "not found; check OPENAI_BASE_URL (it usually ends in /v1) and REKEP_VLM_MODEL",
}


def backoff_delay(config: VLMConfig, retry: int, retry_after_s: float | None = None) -> float:
    """Wait in seconds before retry number ``retry`` (1-based): doubling, capped.

    A server's ``Retry-After`` (seconds) is honoured up to ``backoff_max_s``.
    """
    delay = config.backoff_initial_s * (2.0 ** (retry - 1))
    if retry_after_s is not None and retry_after_s > delay:
        delay = retry_after_s
    return min(delay, config.backoff_max_s)


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class OpenAIChatClient:
    """Sends chat requests (text + image messages) and returns :class:`ChatReply` values.

    Args:
        config: endpoint, model, timeouts and retry policy.
        sleep: function used to wait between retries (seconds); replaceable in tests.
    """

    def __init__(self, config: VLMConfig, *, sleep: Callable[[float], None] = time.sleep):
        if not (config.api_key or config.base_url):
            raise VLMConfigError(
                "no VLM endpoint is configured: set OPENAI_API_KEY (for OpenAI) or "
                "OPENAI_BASE_URL (for a local OpenAI-compatible server such as vLLM or Ollama) "
                "and REKEP_VLM_MODEL, pass a VLMConfig, use the 'replay' backend, or give the "
                "constraint program yourself"
            )
        self.config = config
        self._sleep = sleep
        self._openai = require("openai", "VLM queries")
        self._client = self._openai.OpenAI(
            api_key=config.api_key or "not-needed",
            base_url=config.base_url,
            timeout=config.timeout_s,
            max_retries=0,
        )

    def complete(self, messages: list[Message]) -> ChatReply:
        """Send ``messages`` and return the first choice's text.

        Raises:
            VLMTransportError: the endpoint failed with a non-retryable error, or kept failing
                after ``config.max_retries`` retries; ``status_code`` holds the last status.
        """
        openai = self._openai
        start = time.perf_counter()
        failures: list[str] = []
        retry_after: float | None = None
        status: int | None = None
        last_exc: Exception | None = None
        for retry in range(self.config.max_retries + 1):
            if retry:
                self._sleep(backoff_delay(self.config, retry, retry_after))
            retry_after, status = None, None
            try:
                response = self._client.chat.completions.create(
                    model=self.config.model,
                    messages=messages,
                    temperature=self.config.temperature,
                    max_tokens=self.config.max_tokens,
                )
            except openai.APITimeoutError as exc:
                failures.append(f"request timed out after {self.config.timeout_s:g} s")
                last_exc = exc
            except openai.APIConnectionError as exc:
                failures.append(f"could not reach {self._where()}: {exc}")
                last_exc = exc
            except openai.APIStatusError as exc:
                status = exc.status_code
                failures.append(f"HTTP {status}: {_short(exc)}")
                last_exc = exc
                if status not in RETRY_STATUS and status < 500:
                    hint = _STATUS_HINTS.get(status, "see the server's message")
                    raise VLMTransportError(
                        f"the VLM endpoint {self._where()} answered HTTP {status} ({hint})",
                        status_code=status,
                        reasons=failures,
                    ) from exc
                retry_after = _retry_after(exc)
            except openai.OpenAIError as exc:
                raise VLMTransportError(
                    f"the VLM request to {self._where()} failed: {exc}", reasons=failures
                ) from exc
            else:
                return self._reply(response, time.perf_counter() - start, retry)
            logger.warning(
                "VLM request failed (%s), attempt %d of %d",
                failures[-1],
                retry + 1,
                self.config.max_retries + 1,
            )
        raise VLMTransportError(
            f"the VLM endpoint {self._where()} kept failing after "
            f"{self.config.max_retries + 1} requests; check that the server is up, or raise "
            "REKEP_VLM_TIMEOUT_S / REKEP_VLM_MAX_RETRIES",
            status_code=status,
            reasons=failures,
        ) from last_exc

    def _where(self) -> str:
        return self.config.base_url or "api.openai.com"

    def _reply(self, response: Any, latency_s: float, retries: int) -> ChatReply:
        choices = getattr(response, "choices", None) or []
        text, finish = "", None
        if choices:
            text = _text_of(choices[0].message.content)
            finish = choices[0].finish_reason
        return ChatReply(
            text=text,
            model=getattr(response, "model", None) or self.config.model,
            finish_reason=finish,
            latency_s=latency_s,
            retries=retries,
        )


def _text_of(content: Any) -> str:
    """Reply text from a message content: a string, None, or a list of parts (some servers)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            p.get("text", "") if isinstance(p, dict) else getattr(p, "text", "") for p in content
        ]
        return "".join(str(p or "") for p in parts)
    return str(content)


def _short(exc: Any) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return " ".join(str(message).split())[:200]


class OpenAIBackend:
    """The ``openai`` backend: every query goes to the configured endpoint and is recorded."""

    name = "openai"
    records = True

    def __init__(self, config: VLMConfig, *, sleep: Callable[[float], None] = time.sleep):
        self.client = OpenAIChatClient(config, sleep=sleep)
        self.model = config.model
        self.base_url = config.base_url

    def complete(self, messages: list[Message], context: QueryContext) -> ChatReply:
        """Ask the endpoint; ``context`` is not needed here."""
        return self.client.complete(messages)
