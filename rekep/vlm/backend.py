"""The small interface every VLM backend implements, and the registry that names them.

Built-in backends: ``openai`` (any OpenAI-compatible endpoint, :mod:`rekep.vlm.client`) and
``replay`` (saved queries, offline, :mod:`rekep.vlm.replay`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from rekep.vlm.errors import VLMConfigError

if TYPE_CHECKING:
    from rekep.vlm.config import VLMConfig

Message = dict[str, Any]


@dataclass(frozen=True)
class ChatReply:
    """One reply of the model.

    Attributes:
        text: the reply text ("" when the server sent no content).
        model: the model that answered, as reported by the server (or the configured one).
        finish_reason: why generation stopped (``stop``, ``length``, ...), None if unknown.
        latency_s: wall time of the request including retries, seconds.
        retries: transport retries spent on this reply.
    """

    text: str
    model: str
    finish_reason: str | None = None
    latency_s: float = 0.0
    retries: int = 0


@dataclass(frozen=True)
class QueryContext:
    """What a backend may need besides the messages (the replay backend looks queries up).

    Attributes:
        instruction: the normalized instruction.
        image_sha256: hash of the annotated image (see :func:`rekep.vlm.image.image_sha256`).
        attempt: 1-based index of this reply within the query.
    """

    instruction: str
    image_sha256: str
    attempt: int


@runtime_checkable
class VLMBackend(Protocol):
    """Answers chat requests. ``records`` says whether its queries go to the query store."""

    name: str
    model: str
    records: bool

    def complete(self, messages: list[Message], context: QueryContext) -> ChatReply:
        """Return the model's reply to ``messages`` (raises a :class:`VLMError` on failure)."""
        ...


BackendFactory = Callable[["VLMConfig"], VLMBackend]


def _openai_factory(config: VLMConfig) -> VLMBackend:
    from rekep.vlm.client import OpenAIBackend

    return OpenAIBackend(config)


def _replay_factory(config: VLMConfig) -> VLMBackend:
    from rekep.vlm.replay import ReplayBackend

    if config.store_dir is None:
        raise VLMConfigError(
            "the replay backend needs a query store: set VLMConfig.store_dir "
            "(or REKEP_VLM_STORE_DIR), or pass ReplayBackend(query_dir=...) as the backend"
        )
    return ReplayBackend(store_dir=config.store_dir)


_REGISTRY: dict[str, BackendFactory] = {"openai": _openai_factory, "replay": _replay_factory}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make ``factory(config)`` available as backend ``name`` (replaces an existing one)."""
    if not name or not name.replace("_", "").isalnum():
        raise VLMConfigError(f"backend names are short identifiers, got {name!r}")
    _REGISTRY[name] = factory


def available_backends() -> list[str]:
    """Names accepted by :func:`make_backend`."""
    return sorted(_REGISTRY)


def make_backend(backend: str | VLMBackend, config: VLMConfig) -> VLMBackend:
    """Return ``backend`` itself, or build the registered backend of that name."""
    if not isinstance(backend, str):
        if not isinstance(backend, VLMBackend):
            raise VLMConfigError(
                f"backend must be a name {available_backends()} or a VLMBackend, "
                f"got {type(backend).__name__}"
            )
        return backend
    factory = _REGISTRY.get(backend)
    if factory is None:
        raise VLMConfigError(
            f"unknown VLM backend {backend!r}; available backends: {available_backends()}"
        )
    return factory(config)
