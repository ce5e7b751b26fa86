"""Ask a VLM for a constraint program, validate it, and ask again with the reason if it fails."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from rekep.errors import ProgramError
from rekep.keypoint_set import Keypoints
from rekep.vlm.backend import Message, QueryContext, VLMBackend, make_backend
from rekep.vlm.config import VLMConfig
from rekep.vlm.errors import VLMError, VLMTransportError, VLMValidationError
from rekep.vlm.image import encode_png, image_sha256, png_data_url
from rekep.vlm.prompt import (
    Prompt,
    build_prompt,
    feedback_message,
    initial_messages,
    normalize_instruction,
)
from rekep.vlm.reply import NoCodeError, extract_code
from rekep.vlm.store import QueryRecord, QueryStore

if TYPE_CHECKING:
    from rekep.program import ConstraintProgram

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationResult:
    """A validated program and how it was obtained.

    Attributes:
        program: the compiled, validated program.
        text: the program text extracted from the accepted reply.
        attempts: replies requested (1 = the first reply was valid).
        query_dir: folder where the query was saved, or None (replay, or storing disabled).
        model: model that answered.
        backend: backend name (``openai``, ``replay``, ...).
        reasons: why each earlier reply was rejected, in order.
        elapsed_s: wall time of the whole generation, seconds.
    """

    program: ConstraintProgram
    text: str
    attempts: int
    query_dir: Path | None
    model: str
    backend: str
    reasons: tuple[str, ...] = field(default=())
    elapsed_s: float = 0.0


def _validate(
    reply_text: str, finish_reason: str | None, num_keypoints: int, bimanual: bool, max_tokens: int
) -> tuple[str, ConstraintProgram]:
    """Extract and load the program of one reply; raise NoCodeError or ProgramError."""
    from rekep.program import load_program

    try:
        code = extract_code(reply_text)
    except NoCodeError:
        if finish_reason == "length":
            raise NoCodeError(
                f"the reply was cut off at max_tokens={max_tokens} before any code; write a "
                "shorter explanation and put the whole program in one ```python block"
            ) from None
        raise
    try:
        try:
            program = load_program(code, num_keypoints=num_keypoints, bimanual=bimanual)
        except ProgramError:
            raise
        except Exception as exc:  # a loader bug must not crash the query: report and retry
            logger.exception("the program loader failed unexpectedly")
            raise ProgramError(
                f"the program could not be loaded ({type(exc).__name__}: {exc})"
            ) from exc
    except ProgramError as exc:
        if finish_reason == "length":
            raise ProgramError(
                f"{exc} (the reply was cut off at max_tokens={max_tokens}; keep it shorter)"
            ) from exc
        raise
    return code, program


def generate_program(
    instruction: str,
    keypoints: Keypoints,
    *,
    config: VLMConfig | None = None,
    backend: str | VLMBackend | None = None,
    bimanual: bool = False,
    image: NDArray[np.uint8] | None = None,
) -> GenerationResult:
    """Write the constraint program for ``instruction`` with a VLM.

    The prompt (template ``constraint_generation``) and the annotated image go to the
    backend; the reply's ```python block is validated by
    ``rekep.program.load_program(text, num_keypoints=len(keypoints), bimanual=bimanual)``.
    A reply that fails (no code, syntax, rules, sandbox) is answered with the reason and the
    model is asked again, up to ``config.max_attempts`` replies in all. Each query is saved
    under ``config.store_dir`` (unless the backend is ``replay`` or the dir is None).

    Args:
        instruction: the task, e.g. "put the red block into the bowl".
        keypoints: K keypoints; ``keypoints.annotated_image`` (H, W, 3) uint8 is sent.
        config: endpoint and policy; None = :meth:`VLMConfig.from_env`.
        backend: ``"openai"``, ``"replay"``, a registered name or a :class:`VLMBackend`;
            None = ``config.backend``.
        bimanual: ask for (and validate) a two-arm program.
        image: (H, W, 3) uint8 image to send instead of ``keypoints.annotated_image``.

    Raises:
        VLMValidationError: no valid program within ``max_attempts``; ``reasons`` lists each
            failure and ``query_dir`` the folder of the raw replies.
        VLMTransportError: the endpoint failed after retries.
        VLMConfigError: no endpoint configured, unknown backend.
        ReplayMissError: the replay backend has no saved query for this input.
    """
    start = time.perf_counter()
    config = config if config is not None else VLMConfig.from_env()
    chosen = make_backend(backend if backend is not None else config.backend, config)
    picture = image if image is not None else keypoints.annotated_image
    if picture is None:
        raise VLMError(
            "the keypoints carry no annotated image for the VLM; propose keypoints with "
            "annotation enabled or pass image=<(H, W, 3) uint8 array>"
        )
    prompt = build_prompt(
        instruction, keypoints, bimanual=bimanual, version=config.template_version
    )
    png = encode_png(picture)
    digest = image_sha256(picture)
    instruction = normalize_instruction(instruction)
    record = _open_record(chosen, config, instruction, digest, png, prompt, keypoints, bimanual)
    query_dir = record.path if record is not None else None
    messages: list[Message] = initial_messages(prompt, png_data_url(png))
    reasons: list[str] = []
    model = chosen.model
    for attempt in range(1, config.max_attempts + 1):
        context = QueryContext(instruction=instruction, image_sha256=digest, attempt=attempt)
        try:
            reply = chosen.complete(messages, context)
        except VLMError as exc:
            if record is None:
                raise
            record.finish("error", total_s=time.perf_counter() - start, error=str(exc))
            raise _with_query_dir(exc, attempt, reasons, record.path) from exc
        model = reply.model or model
        if record is not None:
            record.add_reply(attempt, reply)
        try:
            code, program = _validate(
                reply.text, reply.finish_reason, len(keypoints), bimanual, config.max_tokens
            )
        except (NoCodeError, ProgramError) as exc:
            reason = str(exc)
            reasons.append(f"attempt {attempt}: {reason}")
            logger.warning("VLM reply %d rejected: %s", attempt, reason)
            feedback = feedback_message(reason)
            if record is not None:
                record.mark_invalid(attempt, reason, str(feedback["content"]))
            messages = [*messages, {"role": "assistant", "content": reply.text}, feedback]
            continue
        elapsed = time.perf_counter() - start
        if record is not None:
            record.finish("ok", total_s=elapsed, program_text=program.to_text())
        logger.info("VLM program accepted after %d attempt(s) in %.2f s", attempt, elapsed)
        return GenerationResult(
            program=program,
            text=code,
            attempts=attempt,
            query_dir=query_dir,
            model=model,
            backend=chosen.name,
            reasons=tuple(reasons),
            elapsed_s=elapsed,
        )
    if record is not None:
        record.finish("invalid", total_s=time.perf_counter() - start, error="no valid reply")
    raise VLMValidationError(
        f"the VLM gave no valid constraint program in {config.max_attempts} attempts",
        reasons=reasons,
        query_dir=query_dir,
    )


def _with_query_dir(exc: VLMError, attempt: int, reasons: list[str], path: Path) -> VLMError:
    """The backend error ``exc`` again, naming the attempt and the saved query folder."""
    message = f"VLM query failed on attempt {attempt}: {exc.args[0].splitlines()[0]}"
    all_reasons = [*reasons, *exc.reasons]
    if isinstance(exc, VLMTransportError):
        return VLMTransportError(
            message, status_code=exc.status_code, reasons=all_reasons, query_dir=path
        )
    return VLMError(message, reasons=all_reasons, query_dir=path)


def _open_record(
    backend: VLMBackend,
    config: VLMConfig,
    instruction: str,
    digest: str,
    png: bytes,
    prompt: Prompt,
    keypoints: Keypoints,
    bimanual: bool,
) -> QueryRecord | None:
    """Start the store record of this query, or None when nothing is to be saved."""
    if not backend.records or config.store_dir is None:
        return None
    return QueryStore(config.store_dir).create(
        instruction=instruction,
        image_sha256=digest,
        image_png=png,
        prompt_text=prompt.text,
        keypoints=keypoints,
        info={
            "model": config.model,
            "backend": backend.name,
            "base_url": getattr(backend, "base_url", None),
            "template": prompt.template,
            "template_version": prompt.version,
            "temperature": config.temperature,
            "max_tokens": config.max_tokens,
            "bimanual": bimanual,
            "image_png_bytes": len(png),
        },
    )
