"""Errors of the VLM layer: one root, :class:`VLMError`, under :class:`rekep.errors.RekepError`."""

from __future__ import annotations

from pathlib import Path

from rekep.errors import ConfigurationError, RekepError


class VLMError(RekepError):
    """A VLM query failed: the endpoint, the replies, or the replay store.

    Attributes:
        reasons: every reason collected (one per failed attempt for validation failures).
        query_dir: folder where the query and its raw replies were saved, or None.
    """

    def __init__(
        self,
        message: str,
        *,
        reasons: tuple[str, ...] | list[str] = (),
        query_dir: Path | None = None,
    ):
        parts = [message]
        if reasons:
            parts.append("reasons:\n" + "\n".join(f"  - {r}" for r in reasons))
        if query_dir is not None:
            parts.append(f"raw replies saved in: {query_dir}")
        super().__init__("\n".join(parts))
        self.reasons = tuple(reasons)
        self.query_dir = query_dir


class VLMConfigError(VLMError, ConfigurationError, ValueError):
    """The VLM configuration is invalid or incomplete (no endpoint, bad environment value)."""


class VLMTransportError(VLMError):
    """The endpoint could not be reached or kept failing (timeouts, 429, 5xx) after retries.

    ``status_code`` is the last HTTP status received, or None for transport errors.
    """

    def __init__(self, message: str, *, status_code: int | None = None, **kwargs: object):
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.status_code = status_code


class VLMValidationError(VLMError):
    """No reply of the model was a valid constraint program within the allowed attempts."""


class ReplayMissError(VLMError, LookupError):
    """The replay backend found no saved query for this instruction and image."""
