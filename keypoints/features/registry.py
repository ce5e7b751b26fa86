"""The feature-extractor registry and the automatic choice (DINOv2 if on disk, else geometric)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from keypoints.features.base import FeatureExtractor
from keypoints.features.dinov2 import ENV_VAR, Dinov2Extractor, dinov2_weights_available
from keypoints.features.geometric import GeometricExtractor
from rekep.errors import ConfigurationError

logger = logging.getLogger(__name__)

_notice_given = False


def auto_feature_extractor(model: str = "vits14", **options: Any) -> FeatureExtractor:
    """DINOv2 ``model`` when its weights are on disk, otherwise the geometric extractor.

    The fallback is announced once per process with one log line (WARNING) that names
    how to enable DINOv2. ``options`` go to the DINOv2 extractor (e.g. ``short_side``).
    """
    global _notice_given
    if dinov2_weights_available(model):
        return Dinov2Extractor.from_pretrained(model, **options)
    if not _notice_given:
        logger.warning(
            "DINOv2 weights not found on disk; using the weight-free 'geometric' features. "
            "To enable DINOv2: pip install 'rekep[dinov2]' and set %s to a local copy of "
            "facebook/dinov2-small (or put it in the Hugging Face cache)",
            ENV_VAR,
        )
        _notice_given = True
    return GeometricExtractor()


#: name -> factory; keyword options are forwarded.
FEATURE_EXTRACTORS: dict[str, Callable[..., FeatureExtractor]] = {
    "auto": auto_feature_extractor,
    "geometric": GeometricExtractor,
    "dinov2": Dinov2Extractor.from_pretrained,
    "dinov2-random": Dinov2Extractor.random_init,
}


def get_feature_extractor(name: str = "auto", **options: Any) -> FeatureExtractor:
    """Build the extractor registered as ``name`` (see :data:`FEATURE_EXTRACTORS`).

    Raises:
        ConfigurationError: unknown name (the message lists the valid ones), options the
            extractor does not accept, or DINOv2 weights missing.
        MissingDependencyError: torch/transformers missing for ``dinov2`` (names the extra).
    """
    try:
        factory = FEATURE_EXTRACTORS[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(FEATURE_EXTRACTORS))
        raise ConfigurationError(
            f"unknown feature extractor {name!r}; valid names: {valid}"
        ) from None
    try:
        return factory(**options)
    except TypeError as exc:
        raise ConfigurationError(
            f"feature extractor {name!r} does not accept options {sorted(options)}: {exc}"
        ) from exc
