"""Constraint programs written by a vision-language model (VLM).

Entry point: :func:`generate_program`. Configuration: :class:`VLMConfig` (``from_env``).
Backends: ``openai`` (any OpenAI-compatible endpoint) and ``replay`` (saved queries, offline),
behind :func:`make_backend`/:func:`register_backend`. Every query is saved by the
:class:`QueryStore`. Importing this package is cheap: ``openai`` loads on first request.
"""

from __future__ import annotations

from rekep.vlm.backend import (
    ChatReply,
    QueryContext,
    VLMBackend,
    available_backends,
    make_backend,
    register_backend,
)
from rekep.vlm.config import VLMConfig
from rekep.vlm.errors import (
    ReplayMissError,
    VLMConfigError,
    VLMError,
    VLMTransportError,
    VLMValidationError,
)
from rekep.vlm.generate import GenerationResult, generate_program
from rekep.vlm.image import encode_png, image_sha256
from rekep.vlm.prompt import Prompt, build_prompt
from rekep.vlm.replay import ReplayBackend
from rekep.vlm.reply import NoCodeError, extract_code
from rekep.vlm.store import QueryStore, StoredQuery, load_query

__all__ = [
    "ChatReply",
    "GenerationResult",
    "NoCodeError",
    "Prompt",
    "QueryContext",
    "QueryStore",
    "ReplayBackend",
    "ReplayMissError",
    "StoredQuery",
    "VLMBackend",
    "VLMConfig",
    "VLMConfigError",
    "VLMError",
    "VLMTransportError",
    "VLMValidationError",
    "available_backends",
    "build_prompt",
    "encode_png",
    "extract_code",
    "generate_program",
    "image_sha256",
    "load_query",
    "make_backend",
    "register_backend",
]
